/**
 * Reads an experiment file (YAML, or JSON, which YAML reads too) into a typed Experiment, or
 * into errors that each carry the line and column of the offending node and say what to fix.
 * Never throws on any input: the file comes from a person, the API or a fuzzer alike.
 */
import { isMap, isPair, isScalar, type Document, type Node } from 'yaml';
import { parseYamlBounded } from '../input/bounded-yaml.ts';
import { INPUT_LIMITS } from '../input/limits.ts';
import { explainIssue, formatPath, suggest, type PendingIssue, type ZodIssueLike } from './issues.ts';
import { experimentSchema, type ExperimentInput, type PathKey, type RawStep } from './schema.ts';
import { providerType } from './providers/index.ts';
import type { Activity, Experiment, ExperimentIssue, JsonValue, Step } from './types.ts';

export type ParseExperimentResult =
  { ok: true; experiment: Experiment; warnings: ExperimentIssue[] } | { ok: false; errors: ExperimentIssue[] };

/**
 * Files longer than this (in characters) are refused before parsing: no experiment needs more.
 * The parse is bounded further (tokens, expanded size with aliases, depth): INPUT_LIMITS.yaml.
 */
export const MAX_FILE_LENGTH = INPUT_LIMITS.yaml.length;

/** Deeper nesting is refused (aliases expanded): no experiment needs it, and every later step recurses. */
export const MAX_DEPTH = INPUT_LIMITS.yaml.depth;

/**
 * Parse an experiment file; the result is the Experiment, or every error found with its line and
 * column. The same parse serves applying a file and every later read of it (GET, a run, the
 * scheduler), so reading a stored file can never cost more than accepting it did.
 */
export function parseExperiment(text: string): ParseExperimentResult {
  const read = parseYamlBounded(text, INPUT_LIMITS.yaml, { keepSourceTokens: true });
  if (!read.ok) {
    return {
      ok: false,
      errors: read.errors.map((e) => ({ path: '', line: e.line, column: e.column, message: `${e.message}${yamlHint(e.code)}` })),
    };
  }
  const { doc, value: raw } = read;
  const at = (offset: number) => read.position(offset);
  const locate = (issue: PendingIssue): ExperimentIssue => ({
    path: formatPath(issue.path),
    ...at(offsetOf(doc, text, issue)),
    message: issue.message,
  });

  const pending: PendingIssue[] = [];
  const document = toJson(raw, [], pending);
  if (pending.length > 0) return { ok: false, errors: pending.map(locate) };
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    const what = document === null ? 'empty' : Array.isArray(document) ? 'a list' : `a ${typeof document}`;
    return {
      ok: false,
      errors: [
        {
          path: '',
          line: 1,
          column: 1,
          message: `the file is ${what}; an experiment is a mapping with at least title, description and method`,
        },
      ],
    };
  }

  // Top-level `x-…` keys are the one open door for tools that annotate files.
  // fromEntries, not assignment: a `__proto__` key must stay a key (and be refused as unknown).
  const entries = Object.entries(document);
  const vendor = Object.fromEntries(entries.filter(([k]) => k.startsWith('x-')));
  const body = Object.fromEntries(entries.filter(([k]) => !k.startsWith('x-')));

  const parsed = experimentSchema.safeParse(body);
  if (!parsed.success) {
    for (const i of parsed.error.issues) pending.push(...explainIssue(i as unknown as ZodIssueLike, body));
    return { ok: false, errors: sortIssues(pending.map(locate)) };
  }
  const built = build(parsed.data, vendor, document);
  if (built.errors.length > 0) return { ok: false, errors: sortIssues(built.errors.map(locate)) };
  return { ok: true, experiment: built.experiment, warnings: built.warnings.map(locate) };
}

function yamlHint(code: string): string {
  if (code === 'DUPLICATE_KEY') return '; remove or rename one of them';
  if (code === 'MULTIPLE_DOCS') return '; one experiment per file';
  if (code === 'TAB_AS_INDENT') return '; indent with spaces';
  return '';
}

function sortIssues(list: ExperimentIssue[]): ExperimentIssue[] {
  const seen = new Set<string>();
  return list
    .filter((e) => {
      const k = `${e.path}\u0000${e.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Copy what YAML produced into plain JSON, reporting anything JSON cannot hold (.inf, !!binary). */
function toJson(v: unknown, path: PathKey[], issues: PendingIssue[]): JsonValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return v;
    issues.push({ path, message: `${v} is not a number JSON can hold; write a finite number` });
    return null;
  }
  if (Array.isArray(v)) return v.map((x, i) => toJson(x, [...path, i], issues));
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x, [...path, k], issues)]));
  }
  issues.push({ path, message: 'this value is not plain data (a string, number, boolean, list or mapping); remove its tag' });
  return null;
}

/** Source offset of the node an issue is about: its value, or its key for unknown keys, or the nearest existing parent. */
function offsetOf(doc: Document.Parsed, text: string, issue: PendingIssue): number {
  if (issue.atKey && issue.path.length > 0) {
    const parent = doc.getIn(issue.path.slice(0, -1), true);
    const key = issue.path[issue.path.length - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
      const start = pair && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
      if (start !== undefined) return start;
    }
  }
  for (let n = issue.path.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(issue.path.slice(0, n), true)) as Node | null | undefined;
    const range = node?.range;
    if (!node || !range) continue;
    if (n === issue.path.length && issue.offset !== undefined && isScalar(node)) return range[0] + scalarOffset(node, text, issue.offset);
    return range[0];
  }
  return 0;
}

/** Where character `offset` of a scalar's value sits in its source, when the source is that value on one line. */
function scalarOffset(node: Node, text: string, offset: number): number {
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return 0;
  const src = text.slice(node.range[0], node.range[1]);
  if (src.includes('\n')) return 0;
  if (node.type === 'PLAIN' && src === node.value) return offset;
  const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
  if (quoted && src.slice(1, -1) === node.value) return offset + 1;
  return 0;
}

/** Cross-references the schema cannot see: refs, secret scopes, abort probes by name, unique detection names. */
function build(
  input: ExperimentInput,
  vendor: Record<string, JsonValue>,
  document: JsonValue,
): { experiment: Experiment; errors: PendingIssue[]; warnings: PendingIssue[] } {
  const errors: PendingIssue[] = [];
  const warnings: PendingIssue[] = [];
  const probes = input['steady-state-hypothesis']?.probes ?? [];
  const rollbacksIn = input.rollbacks ?? [];

  // Chaos Toolkit caches every named activity of the file and a later one of the same name wins.
  const byName = new Map<string, Activity>();
  for (const a of [...probes, ...input.method, ...rollbacksIn]) if (!('ref' in a)) byName.set(a.name, a);
  const names = [...byName.keys()];

  const resolve = (steps: RawStep[], section: string): Step[] =>
    steps.map((s, i) => {
      if (!('ref' in s)) return s;
      const target = byName.get(s.ref);
      if (!target) {
        const guess = suggest(s.ref, names);
        const fix = guess
          ? `did you mean '${guess}'?`
          : names.length
            ? `named activities: ${names.join(', ')}`
            : 'no activity in this file has a name';
        errors.push({ path: [section, i, 'ref'], message: `no activity is named '${s.ref}'; ${fix}` });
        return { ref: s.ref, activity: undefined as unknown as Activity };
      }
      return { ref: s.ref, activity: target };
    });
  const method = resolve(input.method, 'method');
  const rollbacks = resolve(rollbacksIn, 'rollbacks');

  const scopes = new Set(Object.keys(input.secrets ?? {}));
  const visit = (a: Activity, at: PathKey[]) => {
    const p = a.provider;
    const type = providerType(p);
    type.secretScopes(p).forEach((s, j) => {
      if (!scopes.has(s))
        errors.push({ path: [...at, 'provider', 'secrets', j], message: `no secrets scope is named '${s}'; declare it under secrets` });
    });
    const unsupported = type.unsupported?.(p);
    if (unsupported !== undefined) warnings.push({ path: [...at, 'provider'], message: unsupported });
    if (a.controls.length > 0) warnings.push({ path: [...at, 'controls'], message: 'controls are kept but not run by Bulwark' });
    if (a.tolerance?.kind === 'probe') visit(a.tolerance.probe, [...at, 'tolerance']);
  };
  probes.forEach((a, i) => visit(a, ['steady-state-hypothesis', 'probes', i]));
  input.method.forEach((a, i) => 'ref' in a || visit(a, ['method', i]));
  rollbacksIn.forEach((a, i) => 'ref' in a || visit(a, ['rollbacks', i]));
  if ((input.controls ?? []).length > 0) warnings.push({ path: ['controls'], message: 'controls are kept but not run by Bulwark' });

  const abort = (input.safety?.abort ?? []).map((a, i) => {
    if (typeof a.probe !== 'string') {
      visit(a.probe, ['safety', 'abort', i, 'probe']);
      return { probe: a.probe, everyMs: a.every };
    }
    const target = byName.get(a.probe);
    const at = ['safety', 'abort', i, 'probe'];
    if (!target) {
      const guess = suggest(a.probe, names);
      errors.push({ path: at, message: `no activity is named '${a.probe}'${guess ? `; did you mean '${guess}'?` : ''}` });
    } else if (target.type !== 'probe' || !target.tolerance) {
      errors.push({ path: at, message: `'${a.probe}' must be a probe with a tolerance to serve as an abort condition` });
    }
    return { probe: target as Activity, everyMs: a.every };
  });

  const detected = input.expect?.detected ?? [];
  const seen = new Set<string>();
  detected.forEach((d, i) => {
    if (seen.has(d.name))
      errors.push({
        path: ['expect', 'detected', i, 'name'],
        message: `detection '${d.name}' is declared twice; give each a distinct name`,
      });
    seen.add(d.name);
  });

  const hyp = input['steady-state-hypothesis'];
  const safety = input.safety;
  const experiment: Experiment = {
    ...(input.version !== undefined ? { version: input.version } : {}),
    title: input.title,
    description: input.description,
    tags: input.tags ?? [],
    ...(input.contributions ? { contributions: input.contributions } : {}),
    extensions: (input.extensions ?? []) as JsonValue[],
    configuration: input.configuration ?? {},
    secrets: input.secrets ?? {},
    ...(hyp ? { steadyStateHypothesis: { title: hyp.title, probes, controls: hyp.controls ?? [] } } : {}),
    method,
    rollbacks,
    controls: input.controls ?? [],
    ...(input.runtime !== undefined ? { runtime: input.runtime } : {}),
    techniques: input.techniques ?? [],
    ...(input.expect
      ? {
          expect: {
            ...(input.expect.blocked
              ? {
                  blocked: {
                    tolerance: input.expect.blocked.tolerance,
                    ...(input.expect.blocked.within !== undefined ? { withinMs: input.expect.blocked.within } : {}),
                    ...(input.expect.blocked.control !== undefined ? { control: input.expect.blocked.control } : {}),
                  },
                }
              : {}),
            detected: detected.map((d) => ({
              name: d.name,
              when: d.when,
              withinMs: d.within,
              ...(d.control !== undefined ? { control: d.control } : {}),
              ...(d.must !== undefined ? { must: d.must } : {}),
              ...(d.rule !== undefined ? { rule: d.rule } : {}),
            })),
          },
        }
      : {}),
    ...(safety
      ? {
          safety: {
            abort,
            ...(safety.maxDuration !== undefined ? { maxDurationMs: safety.maxDuration } : {}),
            ...(safety.blastRadius ? { blastRadius: { hosts: safety.blastRadius.hosts, paths: safety.blastRadius.paths ?? [] } } : {}),
            dryRun: safety.dryRun ?? false,
          },
        }
      : {}),
    ...(input.schedule ? { schedule: { cron: input.schedule.cron, jitterMs: input.schedule.jitter ?? 0 } } : {}),
    vendor,
    document,
  };
  return { experiment, errors, warnings };
}

/** Every activity that Bulwark cannot run (python providers: a type's `unsupported`), so a caller can refuse the file with the reasons. */
export function unsupportedActivities(exp: Experiment): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const check = (a: Activity, at: PathKey[]) => {
    const unsupported = providerType(a.provider).unsupported?.(a.provider);
    if (unsupported !== undefined) out.push({ path: formatPath([...at, 'provider']), message: unsupported });
    if (a.tolerance?.kind === 'probe') check(a.tolerance.probe, [...at, 'tolerance']);
  };
  exp.steadyStateHypothesis?.probes.forEach((a, i) => check(a, ['steady-state-hypothesis', 'probes', i]));
  exp.method.forEach((s, i) => 'ref' in s || check(s, ['method', i]));
  exp.rollbacks.forEach((s, i) => 'ref' in s || check(s, ['rollbacks', i]));
  exp.safety?.abort.forEach((a, i) => check(a.probe, ['safety', 'abort', i, 'probe']));
  return out;
}
