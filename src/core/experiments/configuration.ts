/**
 * Configuration and secrets as Chaos Toolkit loads them (inline, or from the environment, with
 * `--var` overriding configuration), and `${name}` substitution where Chaos Toolkit substitutes:
 * provider strings and payloads, regex patterns and JSON paths. The environment and the values
 * of sealed secrets the file names (`{type: sealed, name}`, opened by the caller) are passed in,
 * never read here. Secrets stay apart from configuration so that journals can redact them.
 */
import { compileJsonPath } from './tolerance-jsonpath.ts';
import { compilePattern } from './tolerance.ts';
import type { Activity, Experiment, JsonValue, Provider, Step, Tolerance } from './types.ts';
import { formatPath } from './issues.ts';
import { providerType } from './providers/index.ts';

export type SecretValues = Record<string, Record<string, JsonValue>>;

export interface ResolvedConfiguration {
  configuration: Record<string, JsonValue>;
  /** Secret values by scope; pass them to redactSecrets before anything is written. */
  secrets: SecretValues;
  /** The experiment with every `${name}` replaced. */
  experiment: Experiment;
}

export type ResolveResult = { ok: true; value: ResolvedConfiguration } | { ok: false; errors: { path: string; message: string }[] };

/** Finds a configuration or secret value by name. */
export type Lookup = (name: string) => { found: true; value: JsonValue } | { found: false };

/**
 * Load configuration (env lookups, defaults, `--var k=v` or `k:int=v` overrides) and secrets,
 * then substitute `${name}` in the experiment; every missing variable is reported with the fix.
 */
export function resolveConfiguration(
  exp: Experiment,
  env: Record<string, string | undefined>,
  vars: Record<string, string>,
  /** The values of the sealed secrets the file names, by name (sealedSecretNames); absent ones are reported. */
  sealed: Readonly<Record<string, string>> = {},
): ResolveResult {
  const errors: { path: string; message: string }[] = [];
  const overrides = new Map<string, JsonValue>();
  for (const [rawKey, text] of Object.entries(vars)) {
    const m = /^(.+?)(?::(str|int|float))?$/.exec(rawKey);
    const key = m?.[1] ?? rawKey;
    const conv = convert(text, m?.[2] ?? 'str');
    if (conv.ok) overrides.set(key, conv.value);
    else errors.push({ path: '', message: `--var ${rawKey}=${text}: ${conv.message}` });
  }
  const readEnv = (k: string) => (Object.hasOwn(env, k) ? env[k] : undefined);

  const configuration: [string, JsonValue][] = [];
  for (const [key, entry] of Object.entries(exp.configuration)) {
    if (overrides.has(key)) {
      configuration.push([key, overrides.get(key)!]);
      continue;
    }
    if (entry.kind === 'inline') {
      configuration.push([key, entry.value]);
      continue;
    }
    const fromEnv = readEnv(entry.key);
    if (fromEnv === undefined) {
      if (entry.default === undefined) {
        errors.push({
          path: formatPath(['configuration', key]),
          message: `configuration ${key} reads environment variable ${entry.key}, which is not set; set it, add a default, or pass --var ${key}=…`,
        });
      } else {
        configuration.push([key, entry.default]);
      }
      continue;
    }
    const conv = convert(fromEnv, entry.envVarType ?? 'str');
    if (conv.ok) configuration.push([key, conv.value]);
    else errors.push({ path: formatPath(['configuration', key]), message: `environment variable ${entry.key}: ${conv.message}` });
  }
  // Chaos Toolkit merges --var keys the file does not declare.
  for (const [k, v] of overrides) if (!Object.hasOwn(exp.configuration, k)) configuration.push([k, v]);

  const secrets: [string, Record<string, JsonValue>][] = [];
  for (const [scope, keys] of Object.entries(exp.secrets)) {
    const values: [string, JsonValue][] = [];
    for (const [key, entry] of Object.entries(keys)) {
      if (entry.kind === 'inline') {
        values.push([key, entry.value]);
        continue;
      }
      if (entry.kind === 'sealed') {
        if (Object.hasOwn(sealed, entry.name)) values.push([key, sealed[entry.name]!]);
        else
          errors.push({
            path: formatPath(['secrets', scope, key]),
            message: `secret ${scope}.${key} names the sealed secret ${entry.name}, which is not set or cannot be opened here; set it with: bulwark secrets set ${entry.name}`,
          });
        continue;
      }
      const v = readEnv(entry.key);
      if (v === undefined) {
        errors.push({
          path: formatPath(['secrets', scope, key]),
          message: `secret ${scope}.${key} reads environment variable ${entry.key}, which is not set; set it before the run`,
        });
      } else {
        values.push([key, v]);
      }
    }
    secrets.push([scope, Object.fromEntries(values)]);
  }
  if (errors.length > 0) return { ok: false, errors };

  const config = Object.fromEntries(configuration);
  const secretValues = Object.fromEntries(secrets);
  // Like Chaos Toolkit's ChainMap: configuration first, then each secret scope in file order.
  const lookup: Lookup = (name) => {
    if (Object.hasOwn(config, name)) return { found: true, value: config[name]! };
    for (const [, scope] of secrets) if (Object.hasOwn(scope, name)) return { found: true, value: scope[name]! };
    return { found: false };
  };
  const experiment = substituteExperiment(exp, lookup, errors);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { configuration: config, secrets: secretValues, experiment } };
}

/** The names of the sealed secrets a file's `secrets` name, each once, in file order. */
export function sealedSecretNames(exp: Pick<Experiment, 'secrets'>): string[] {
  const names = new Set<string>();
  for (const keys of Object.values(exp.secrets)) for (const e of Object.values(keys)) if (e.kind === 'sealed') names.add(e.name);
  return [...names];
}

function convert(text: string, type: string): { ok: true; value: JsonValue } | { ok: false; message: string } {
  if (type === 'int') {
    return /^\s*[+-]?\d+\s*$/.test(text) && Number.isSafeInteger(Number(text))
      ? { ok: true, value: Number(text) }
      : { ok: false, message: `'${text}' is not an integer` };
  }
  if (type === 'float') {
    const n = Number(text);
    return text.trim() !== '' && Number.isFinite(n) ? { ok: true, value: n } : { ok: false, message: `'${text}' is not a number` };
  }
  return { ok: true, value: text };
}

const TEMPLATE = /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)\})/g;
const WHOLE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/**
 * Chaos Toolkit's substitution: `${name}` is replaced and `$$` is a literal `$`; a string that is
 * exactly one `${name}` takes the value's own type when `typed` (in JSON payloads). Unlike Chaos
 * Toolkit, an unknown name is an error rather than left in place, so that nothing is sent with
 * a literal `${token}` in it.
 */
export function substituteString(s: string, lookup: Lookup, typed: boolean, onMissing: (name: string) => void): JsonValue {
  const whole = WHOLE.exec(s);
  if (whole && typed) {
    const r = lookup(whole[1]!);
    if (r.found) return r.value;
    onMissing(whole[1]!);
    return s;
  }
  return s.replace(TEMPLATE, (all, dollar: string, name: string | undefined) => {
    if (name === undefined) return dollar;
    const r = lookup(name);
    if (!r.found) {
      onMissing(name);
      return all;
    }
    return typeof r.value === 'string' ? r.value : JSON.stringify(r.value);
  });
}

function substituteJson(v: JsonValue, lookup: Lookup, onMissing: (name: string) => void): JsonValue {
  if (typeof v === 'string') return substituteString(v, lookup, true, onMissing);
  if (Array.isArray(v)) return v.map((x) => substituteJson(x, lookup, onMissing));
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substituteJson(x, lookup, onMissing)]));
  }
  return v;
}

function substituteExperiment(exp: Experiment, lookup: Lookup, errors: { path: string; message: string }[]): Experiment {
  const done = new Map<Activity, Activity>();
  const at = (path: (string | number)[]) => {
    const missing = (name: string) =>
      errors.push({
        path: formatPath(path),
        message: `\${${name}} is not defined; declare ${name} under configuration or secrets, or pass --var ${name}=… (write $\${${name}} for a literal)`,
      });
    const str = (s: string) => substituteString(s, lookup, false, missing) as string;
    const json = (v: JsonValue) => substituteJson(v, lookup, missing);
    return { str, json, missing };
  };

  const tolerance = (t: Tolerance, path: (string | number)[]): Tolerance => {
    if (t.kind === 'regex') {
      const pattern = at([...path, 'pattern']).str(t.pattern);
      const c = compilePattern(pattern);
      if (!c.ok) errors.push({ path: formatPath([...path, 'pattern']), message: c.message });
      return { ...t, pattern };
    }
    if (t.kind === 'jsonpath') {
      const p = at([...path, 'path']).str(t.path);
      const c = compileJsonPath(p.trim());
      if (!c.ok) errors.push({ path: formatPath([...path, 'path']), message: c.message });
      return { ...t, path: p };
    }
    if (t.kind === 'probe') return { ...t, probe: activity(t.probe, path) };
    return t;
  };

  const provider = (p: Provider, path: (string | number)[]): Provider =>
    providerType(p).rewriteStrings(p, {
      str: (s, key) => at([...path, ...key]).str(s),
      json: (v, key) => at([...path, ...key]).json(v),
      invalid: (key, message) => errors.push({ path: formatPath([...path, ...key]), message }),
    });

  function activity(a: Activity, path: (string | number)[]): Activity {
    const prior = done.get(a);
    if (prior) return prior;
    const out: Activity = {
      ...a,
      provider: provider(a.provider, [...path, 'provider']),
      ...(a.tolerance ? { tolerance: tolerance(a.tolerance, [...path, 'tolerance']) } : {}),
    };
    done.set(a, out);
    return out;
  }
  const steps = (list: Step[], section: string): Step[] =>
    list.map((s, i) => ('ref' in s ? { ref: s.ref, activity: activity(s.activity, [section, i]) } : activity(s, [section, i])));

  const hyp = exp.steadyStateHypothesis;
  return {
    ...exp,
    ...(hyp
      ? { steadyStateHypothesis: { ...hyp, probes: hyp.probes.map((a, i) => activity(a, ['steady-state-hypothesis', 'probes', i])) } }
      : {}),
    method: steps(exp.method, 'method'),
    rollbacks: steps(exp.rollbacks, 'rollbacks'),
    ...(exp.expect
      ? {
          expect: {
            ...exp.expect,
            ...(exp.expect.blocked
              ? {
                  blocked: {
                    ...exp.expect.blocked,
                    tolerance: tolerance(exp.expect.blocked.tolerance, ['expect', 'blocked', 'tolerance']),
                  },
                }
              : {}),
          },
        }
      : {}),
    ...(exp.safety
      ? {
          safety: {
            ...exp.safety,
            abort: exp.safety.abort.map((a, i) => ({ ...a, probe: activity(a.probe, ['safety', 'abort', i, 'probe']) })),
          },
        }
      : {}),
  };
}

export const REDACTED = '[redacted]';

/** Secrets shorter than this are redacted only where a whole string equals them, not inside text. */
const MIN_SUBSTRING_SECRET = 4;

/** Every secret value as text, longest first (so that a secret containing another is redacted whole). */
export function secretStrings(secrets: SecretValues): string[] {
  const out = new Set<string>();
  const add = (v: JsonValue) => {
    if (typeof v === 'string' && v !== '') out.add(v);
    else if (typeof v === 'number' || typeof v === 'boolean') out.add(String(v));
    else if (Array.isArray(v)) v.forEach(add);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(add);
  };
  for (const scope of Object.values(secrets)) Object.values(scope).forEach(add);
  return [...out].sort((a, b) => b.length - a.length);
}

/** A deep copy of `value` with every secret value replaced by `[redacted]`, for journals, logs and the ledger. */
export function redactSecrets(value: unknown, secrets: SecretValues): unknown {
  const list = secretStrings(secrets);
  if (list.length === 0) return value;
  const long = list.filter((s) => s.length >= MIN_SUBSTRING_SECRET);
  const short = new Set(list.filter((s) => s.length < MIN_SUBSTRING_SECRET));
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (short.has(v)) return REDACTED;
      let s = v;
      for (const secret of long) if (s.includes(secret)) s = s.split(secret).join(REDACTED);
      return s;
    }
    if ((typeof v === 'number' || typeof v === 'boolean') && short.has(String(v))) return REDACTED;
    if ((typeof v === 'number' || typeof v === 'boolean') && long.includes(String(v))) return REDACTED;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value);
}
