/**
 * The zod schema of an experiment file. It mirrors Chaos Toolkit's validation (title,
 * description and method required; hypothesis probes need a tolerance; providers http, process,
 * python) and adds Bulwark's blocks. Unknown keys are refused everywhere except where Chaos
 * Toolkit expects free-form content (`extensions`, `contributions`, `controls`, `runtime`, a
 * python provider, inline configuration and secret values) and top-level `x-…` keys: a typo
 * such as `toleranse` would otherwise silently turn a hypothesis off.
 */
import { z } from 'zod';
import { SECRET_NAME } from '../access/sealed.ts';
import { compileCel } from './cel.ts';
import { CONTROL_NAME } from './controls.ts';
import { tryParseCron } from './cron.ts';
import { providerSchema } from './providers/index.ts';
import {
  FAILED,
  REQUIRED,
  custom,
  duration,
  forward,
  json,
  no,
  ok,
  report,
  seconds,
  strict,
  text,
  type Check,
  type PathKey,
  isObject,
} from './schema-kit.ts';
import { isProbeTolerance, parseTolerance } from './tolerance.ts';
import type { Activity, ConfigEntry, DetectionMust, JsonValue, SecretEntry, Tolerance } from './types.ts';

export type { PathKey };

/** Tolerances: every Chaos Toolkit kind, with `type: probe` read as an activity. */
const tolerance: z.ZodType<Tolerance> = z.unknown().transform((v, ctx): Tolerance => {
  if (v === undefined) return report(ctx, v, REQUIRED);
  if (isProbeTolerance(v)) {
    const probe = forward(activitySchema, v, ctx);
    return probe === FAILED ? z.NEVER : { kind: 'probe', probe };
  }
  const r = parseTolerance(v);
  return r.ok ? r.tolerance : report(ctx, v, r.message, r.path);
});

const pauses = strict({ before: seconds.optional(), after: seconds.optional() });

/** One action or probe, as Chaos Toolkit validates it (`ensure_activity_is_valid`). */
export const activitySchema: z.ZodType<Activity> = z.lazy(() =>
  strict({
    type: z.enum(['action', 'probe']),
    name: text,
    provider: providerSchema,
    tolerance: tolerance.optional(),
    pauses: pauses.optional(),
    background: z.boolean().optional(),
    timeout: seconds.optional(),
    controls: z.array(json).optional(),
  }).transform((a): Activity => ({
    type: a.type,
    name: a.name,
    provider: a.provider,
    ...(a.tolerance !== undefined ? { tolerance: a.tolerance } : {}),
    pauses: {
      ...(a.pauses?.before !== undefined ? { beforeMs: a.pauses.before } : {}),
      ...(a.pauses?.after !== undefined ? { afterMs: a.pauses.after } : {}),
    },
    background: a.background ?? false,
    ...(a.timeout !== undefined ? { timeoutMs: a.timeout } : {}),
    controls: a.controls ?? [],
  })),
);

/** A probe that decides something (hypothesis, abort condition): it must be a probe and have a tolerance. */
const judgedProbe = (role: string) =>
  z.unknown().transform((v, ctx): Activity => {
    if (v === undefined) return report(ctx, v, REQUIRED);
    if (isObject(v) && Object.hasOwn(v, 'ref')) return report(ctx, v, `a ${role} cannot be a ref; write the probe out`, ['ref']);
    const a = forward(activitySchema, v, ctx);
    if (a === FAILED) return z.NEVER;
    if (a.type !== 'probe') return report(ctx, v, `a ${role} must be of type probe`, ['type']);
    if (!a.tolerance) return report(ctx, v, `a ${role} needs a tolerance, e.g. tolerance: 200`);
    return a;
  });

/** A method or rollback entry before references are resolved. */
export type RawStep = Activity | { ref: string };

const refSchema = strict({ ref: text });
/** A method or rollback entry: an activity or `{ref: name}`. */
export const stepSchema = z.unknown().transform((v, ctx): RawStep => {
  const r = isObject(v) && Object.hasOwn(v, 'ref') ? forward(refSchema, v, ctx) : forward(activitySchema, v, ctx);
  return r === FAILED ? z.NEVER : r;
});

const configEntry = custom((v): Check<ConfigEntry> => {
  if (isObject(v) && v['type'] === 'env') {
    const r = strict({
      type: z.literal('env'),
      key: text,
      default: json.optional(),
      env_var_type: z.enum(['str', 'int', 'float', 'bytes']).optional(),
    }).safeParse(v);
    if (!r.success) {
      const i = r.error.issues[0]!;
      return no(
        i.code === 'unrecognized_keys'
          ? `unknown key '${i.keys[0]}' in an env value; allowed: type, key, default, env_var_type`
          : 'an env value needs key: the name of the environment variable',
        i.path as PathKey[],
      );
    }
    const d = r.data;
    return ok({
      kind: 'env',
      key: d.key,
      ...(d.default !== undefined ? { default: d.default } : {}),
      ...(d.env_var_type ? { envVarType: d.env_var_type } : {}),
    });
  }
  if (isObject(v) && v['type'] === 'probe') {
    return no(
      'configuration loaded by a probe is not supported; set the value inline, from the environment ({type: env, key: NAME}) or with --var',
    );
  }
  return ok({ kind: 'inline', value: v as JsonValue });
});

const secretEntry = custom((v): Check<SecretEntry> => {
  if (isObject(v) && v['type'] === 'env') {
    const key = v['key'];
    const extra = Object.keys(v).find((k) => k !== 'type' && k !== 'key');
    if (extra !== undefined) return no(`unknown key '${extra}' in an env secret; allowed: type, key`, [extra]);
    if (typeof key !== 'string' || key === '') return no('an env secret needs key: the name of the environment variable', ['key']);
    return ok({ kind: 'env', key });
  }
  if (isObject(v) && v['type'] === 'sealed') {
    const name = v['name'];
    const extra = Object.keys(v).find((k) => k !== 'type' && k !== 'name');
    if (extra !== undefined) return no(`unknown key '${extra}' in a sealed secret; allowed: type, name`, [extra]);
    if (typeof name !== 'string' || !SECRET_NAME.test(name))
      return no('a sealed secret needs name: the name it was set under (bulwark secrets list), lowercase letters, digits and . _ -', [
        'name',
      ]);
    return ok({ kind: 'sealed', name });
  }
  if (isObject(v) && v['type'] === 'vault') {
    return no(
      'vault secrets are not supported; name a sealed secret ({type: sealed, name: NAME}) or use the environment: {type: env, key: NAME}',
    );
  }
  return ok({ kind: 'inline', value: v as JsonValue });
});

const hypothesis = strict({
  title: text,
  probes: z.array(judgedProbe('steady-state probe')).optional(),
  controls: z.array(json).optional(),
});

const technique = custom((v) =>
  typeof v === 'string' && /^T\d{4}(\.\d{3})?$/.test(v)
    ? ok(v)
    : no(`technique ${JSON.stringify(v)} is not a MITRE ATT&CK id; write e.g. T1190 or T1059.004`),
);

const cel = custom((v) => {
  if (v === undefined) return no(REQUIRED);
  if (typeof v !== 'string') return no('when must be a CEL expression string, e.g. signal.labels.rule == "942100"');
  const r = compileCel(v);
  return r.ok ? ok(v) : { ok: false, message: r.message, ...(r.offset !== undefined ? { params: { offset: r.offset } } : {}) };
});

/** A control's name: how its results are told apart (`waf`, `ids`, `auth-audit`). */
const control = custom((v) =>
  typeof v === 'string' && CONTROL_NAME.test(v)
    ? ok(v)
    : no('must be a name of 1–63 characters of a-z, 0-9, "_", "-" and "." starting with a letter or digit, e.g. waf'),
);

const must = custom((v): Check<DetectionMust> =>
  v === 'alerted' || v === 'logged'
    ? ok(v)
    : no('must be alerted (a signal from an alerting source) or logged (a signal from a log source)'),
);

const rule = custom((v) =>
  (typeof v === 'string' && v.trim() !== '' && v.length <= 200 && !/[\r\n]/.test(v)) || (typeof v === 'number' && Number.isSafeInteger(v))
    ? ok(String(v).trim())
    : no('must be the id or name of the rule that must fire, e.g. "942100" or an alertname (one line, at most 200 characters)'),
);

const expect = strict({
  blocked: strict({ tolerance, within: duration.optional(), control: control.optional() }).optional(),
  detected: z
    .array(strict({ name: text, when: cel, within: duration, control: control.optional(), must: must.optional(), rule: rule.optional() }))
    .optional(),
});

/** An abort condition's probe: the name of a probe in this file, or one written out. */
const abortProbe = z.unknown().transform((v, ctx): Activity | string => {
  if (typeof v === 'string' && v !== '') return v;
  if (isObject(v)) {
    const r = forward(judgedProbe('abort probe'), v, ctx);
    return r === FAILED ? z.NEVER : r;
  }
  return report(ctx, v, v === undefined ? REQUIRED : 'probe must be the name of a probe in this file, or a probe written out');
});

const safety = strict({
  abort: z.array(strict({ probe: abortProbe, every: duration })).optional(),
  maxDuration: duration.optional(),
  blastRadius: strict({
    hosts: z.array(text),
    paths: z.array(z.string().regex(/^\//, "a path must start with '/'")).optional(),
  }).optional(),
  dryRun: z.boolean().optional(),
});

const schedule = strict({
  cron: custom((v) => {
    if (typeof v !== 'string') return no("cron must be a five-field expression such as '*/5 * * * *'");
    const r = tryParseCron(v);
    return r.ok ? ok(v.trim()) : no(r.message);
  }),
  jitter: duration.optional(),
});

const version = custom((v) =>
  typeof v === 'string' || typeof v === 'number' ? ok(String(v)) : no('version must be a string such as "1.0.0"'),
);

/** The whole file (top-level `x-…` keys removed beforehand). */
export const experimentSchema = strict({
  version: version.optional(),
  title: text,
  description: text,
  tags: z.array(text).optional(),
  contributions: z.record(z.string(), json).optional(),
  extensions: z.array(z.looseObject({ name: text })).optional(),
  configuration: z.record(z.string(), configEntry).optional(),
  secrets: z.record(z.string(), z.record(z.string(), secretEntry)).optional(),
  'steady-state-hypothesis': hypothesis.optional(),
  method: z.array(stepSchema),
  rollbacks: z.array(stepSchema).optional(),
  controls: z.array(json).optional(),
  runtime: json.optional(),
  techniques: z.array(technique).optional(),
  expect: expect.optional(),
  safety: safety.optional(),
  schedule: schedule.optional(),
});

export type ExperimentInput = z.output<typeof experimentSchema>;
