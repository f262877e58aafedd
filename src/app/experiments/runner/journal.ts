/**
 * The journal of a run: Chaos Toolkit's journal fields (`experiment`, `start`, `end`, `duration`,
 * `status`, `deviated`, `steady_states`, `run`, `rollbacks`, `node`, `platform`) so that tools
 * reading those keep working, and Bulwark's under `bulwark` (run id, injections with their
 * times, the blocked verdict, detections with time to detect, the outcome). Secrets are redacted
 * whenever it is serialized, and outputs are cut so that one large response cannot bloat a row.
 *
 * A run writes its journal with every change (run-recorder.ts), so serializing it is kept cheap:
 * the parts that no longer change — the experiment (once for all runs of it), and each activity
 * run, complete when it is added — are serialized (and redacted) once and reused; only Bulwark's
 * section is redone, by a plain copy rather than a JSON round trip.
 */
import { hostname, platform, release } from 'node:os';
import { redactSecrets, secretStrings, type SecretValues } from '../../../core/experiments/configuration.ts';
import type { Outcome } from '../../../core/experiments/outcome.ts';
import type { JsonValue } from '../../../core/experiments/types.ts';
import type { Json } from '../../../core/ledger/entry.ts';
import { VERSION } from '../../../version.ts';
import type { ActivityRun } from './activities.ts';
import type { ControlResult } from '../../../core/experiments/controls.ts';
import type { DetectionReport } from './detections.ts';

/** Text in outputs longer than this is cut in the journal (the tolerance saw all of it). */
const MAX_TEXT = 4096;

const PLATFORM = `${platform()} ${release()}`;
const NODE = hostname();

export interface InjectionRecord {
  activity: string;
  /** When the fault left Bulwark (RFC 3339). */
  at: string;
  ok: boolean;
  status?: number;
  error?: string;
}

export interface BulwarkSection {
  runId: string;
  version: string;
  actor: string;
  dryRun: boolean;
  techniques: string[];
  blastRadius: { hosts: string[]; paths: string[] };
  plan?: string[];
  warnings?: string[];
  injections: InjectionRecord[];
  blocked?: { asked: boolean; held: boolean; results: { activity: string; ok: boolean; reason: string }[] };
  detections: DetectionReport[];
  /** What each control did (core/experiments/controls.ts), once the run is decided. */
  controls?: ControlResult[];
  timeToDetectMs?: number | null;
  outcome?: string | null;
  reason?: string;
  expectationsMet?: boolean;
  aborted?: string;
  error?: string;
  recovery?: { by: string; at: string; reason: string };
}

/**
 * The experiment's document as JSON, redacted: the same for every run of the experiment that has
 * the same secret values, so it is kept with the document (the parsed file, which runs share).
 */
const documents = new WeakMap<object, { secrets: string; json: unknown }>();

function documentJson(document: JsonValue, secrets: SecretValues): unknown {
  if (document === null || typeof document !== 'object') return redactSecrets(toJsonValue(document), secrets);
  const key = JSON.stringify(secretStrings(secrets));
  const hit = documents.get(document);
  if (hit && hit.secrets === key) return hit.json;
  const json = redactSecrets(toJsonValue(document), secrets);
  documents.set(document, { secrets: key, json });
  return json;
}

export class RunJournal {
  readonly start: string;
  end?: string;
  status: 'running' | 'completed' | 'failed' | 'aborted' = 'running';
  deviated = false;
  steadyBefore?: { met: boolean; probes: ActivityRun[] };
  steadyAfter?: { met: boolean; probes: ActivityRun[] };
  readonly during: ActivityRun[] = [];
  readonly run: ActivityRun[] = [];
  readonly rollbacks: ActivityRun[] = [];
  readonly bulwark: BulwarkSection;
  /** Serialized parts that do not change, for the secrets they were redacted with. */
  private done = new WeakMap<object, unknown>();
  private doneFor: SecretValues | undefined;

  constructor(
    private readonly document: JsonValue,
    startMs: number,
    bulwark: Omit<BulwarkSection, 'version' | 'injections' | 'detections'>,
  ) {
    this.start = new Date(startMs).toISOString();
    this.bulwark = { version: VERSION, injections: [], detections: [], ...bulwark };
  }

  /** The journal as JSON with every secret value replaced. */
  toJson(secrets: SecretValues): Json {
    if (this.doneFor !== secrets) {
      this.done = new WeakMap();
      this.doneFor = secrets;
    }
    const once = (key: object, make: () => unknown): unknown => {
      let v = this.done.get(key);
      if (v === undefined) {
        v = redactSecrets(toJsonValue(make()), secrets);
        this.done.set(key, v);
      }
      return v;
    };
    const entries = (list: readonly ActivityRun[]) => list.map((r) => once(r, () => entry(r)));
    const endMs = this.end !== undefined ? Date.parse(this.end) : undefined;
    // What changes, redacted anew each time: a few fields and Bulwark's section.
    const now = redactSecrets(
      toJsonValue({
        platform: PLATFORM,
        node: NODE,
        start: this.start,
        status: this.status,
        deviated: this.deviated,
        ...(this.end !== undefined ? { end: this.end, duration: (endMs! - Date.parse(this.start)) / 1000 } : {}),
        bulwark: this.bulwark,
      }),
      secrets,
    ) as { [key: string]: Json };
    return {
      'chaoslib-version': null,
      platform: now.platform!,
      node: now.node!,
      experiment: documentJson(this.document, secrets),
      start: now.start!,
      status: now.status!,
      deviated: now.deviated!,
      steady_states: {
        before: this.steadyBefore ? steady(this.steadyBefore.met, entries(this.steadyBefore.probes)) : null,
        after: this.steadyAfter ? steady(this.steadyAfter.met, entries(this.steadyAfter.probes)) : null,
        during: entries(this.during),
      },
      run: entries(this.run),
      rollbacks: entries(this.rollbacks),
      ...(this.end !== undefined ? { end: now.end!, duration: now.duration! } : {}),
      bulwark: now.bulwark!,
    } as Json;
  }
}

/** Chaos Toolkit's journal status for an outcome. */
export function journalStatus(outcome: Outcome): 'completed' | 'failed' | 'aborted' {
  switch (outcome) {
    case 'aborted':
      return 'aborted';
    case 'rollback-failed':
    case 'not-run':
    case 'errored':
      return 'failed';
    case 'prevented':
    case 'detected':
    case 'detected-late':
    case 'missed':
      return 'completed';
  }
}

function steady(met: boolean, probes: unknown[]) {
  return { steady_state_met: met, probes };
}

function entry(r: ActivityRun) {
  return {
    activity: r.activity,
    status: r.status,
    start: r.start,
    end: r.end,
    duration: r.duration,
    ...(r.output !== undefined ? { output: cut(r.output) } : {}),
    ...(r.exception !== undefined ? { exception: r.exception } : {}),
    ...(r.tolerance_met !== undefined ? { tolerance_met: r.tolerance_met, tolerance_reason: r.tolerance_reason ?? null } : {}),
    ...(r.sentAtMs !== undefined ? { sent_at: new Date(r.sentAtMs).toISOString() } : {}),
  };
}

function cut(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…[cut at ${MAX_TEXT} characters]` : v;
  if (depth > 16) return null;
  if (Array.isArray(v)) return v.slice(0, 200).map((x) => cut(x, depth + 1));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cut(x, depth + 1)]));
  return v;
}

/** Plain JSON: drops undefined, turns what JSON cannot hold into null. */
export function toJsonValue(v: unknown): unknown {
  const fast = plainCopy(v, 0);
  return fast !== UNUSUAL
    ? fast
    : (JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)) ?? 'null') as unknown);
}

const UNUSUAL = Symbol('unusual');

/**
 * The same as a JSON round trip for what a journal holds (plain objects and arrays, strings,
 * finite numbers, booleans, null; undefined, functions and symbols as object values are left
 * out), without the text in between: a journal is serialized with every write of its run.
 * Anything else (a Date or another class, toJSON, a bigint, -0, NaN, an undefined array element,
 * a `__proto__` key, depth past 100) gives UNUSUAL, and the caller takes the round trip.
 */
function plainCopy(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0) ? v : UNUSUAL;
    case 'object':
      break;
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      return UNUSUAL;
  }
  if (v === null) return null;
  if (depth > 100 || typeof (v as { toJSON?: unknown }).toJSON === 'function') return UNUSUAL;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return UNUSUAL;
    const out: unknown[] = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = plainCopy(v[i], depth + 1);
      if (x === UNUSUAL) return UNUSUAL;
      out[i] = x;
    }
    return out;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return UNUSUAL;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x0 = (v as Record<string, unknown>)[k];
    if (x0 === undefined || typeof x0 === 'function' || typeof x0 === 'symbol') continue;
    if (k === '__proto__') return UNUSUAL;
    const x = plainCopy(x0, depth + 1);
    if (x === UNUSUAL) return UNUSUAL;
    out[k] = x;
  }
  return out;
}
