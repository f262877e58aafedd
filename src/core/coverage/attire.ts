/**
 * ATTiRe (Attack Tool Timing and Reporting, SecurityRiskAdvisors/ATTiRe, v1.1): the JSON log
 * Atomic Red Team's Invoke-AtomicTest writes with the Attire-ExecutionLogger module, and VECTR
 * reads. Each procedure is one executed test of one technique on one target, with timed steps.
 * Bulwark imports them as externally executed runs: the technique, when it ran, the procedure
 * and the target, matched to the signals Bulwark received to give an outcome and a time to
 * detect. Pure: the text, the signals and the limits come in as values.
 */
import { createHash } from 'node:crypto';
import { readJson } from '../input/bounded-json.ts';
import { INPUT_LIMITS } from '../input/limits.ts';
import { parseTimestamp } from '../signals/signal.ts';

export const MAX_ATTIRE_PROCEDURES = 1000;
/** How long after a procedure started a signal still counts as its detection, by default. */
export const DEFAULT_ATTIRE_WINDOW_SECONDS = 300;
export const MAX_ATTIRE_WINDOW_SECONDS = 86_400;

const TECHNIQUE = /^T\d{4}(\.\d{3})?$/;

export interface AttireTarget {
  host: string | null;
  ip: string | null;
  user: string | null;
}

/** One procedure of the log, reduced to what coverage reads. */
export interface AttireProcedure {
  /** Its position in `procedures` (0-based). */
  index: number;
  technique: string;
  /** `procedure-name`. */
  name: string;
  /** `procedure-id.id` (Atomic Red Team's test GUID), when given. */
  procedureId: string | null;
  /** The earliest step's `time-start`. */
  startedAt: string;
  /** The latest step's `time-stop` (or `time-start` when none stops). */
  endedAt: string;
  steps: number;
}

export interface AttireLog {
  version: string | null;
  executionId: string;
  /** `execution-source`: the tool that ran it (`Invoke-Atomicredteam`). */
  source: string;
  command: string | null;
  target: AttireTarget;
  procedures: AttireProcedure[];
}

export type AttireResult = { ok: true; log: AttireLog } | { ok: false; field: string; message: string };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 500) : null);
const refuse = (field: string, message: string): AttireResult => ({ ok: false, field, message: `${field}: ${message}` });

/** An ATTiRe log, or the field that cannot be mapped and why. Unknown fields are left alone (the format allows them). */
export function parseAttire(text: string): AttireResult {
  // Within the input bounds (nesting depth, number of values): a log is a few levels deep.
  const read = readJson(text.replace(/^\uFEFF/, ''), INPUT_LIMITS.json);
  if (!read.ok) return refuse('(file)', read.syntax ? `not JSON: ${read.reason}` : `the JSON ${read.reason}`);
  const json = read.value;
  if (!isObject(json)) return refuse('(file)', 'an ATTiRe log is a JSON object with execution-data and procedures');
  const version = json['attire-version'];
  if (version !== undefined && typeof version !== 'string') return refuse('attire-version', 'must be a string such as "1.1"');
  if (typeof version === 'string' && !/^1(\.\d+)?$/.test(version))
    return refuse('attire-version', `version ${version.slice(0, 20)} is not read; Bulwark reads ATTiRe 1.x`);
  const ed = json['execution-data'];
  if (!isObject(ed)) return refuse('execution-data', 'missing or not an object');
  const executionId = str(ed['execution-id']);
  if (!executionId) return refuse('execution-data.execution-id', 'missing: the id that tells one execution from another');
  const source = str(ed['execution-source']);
  if (!source) return refuse('execution-data.execution-source', 'missing: the tool that ran the procedures');
  const t = ed.target;
  if (!isObject(t)) return refuse('execution-data.target', 'missing: the host or ip the procedures ran on');
  const target: AttireTarget = { host: str(t.host), ip: str(t.ip), user: str(t.user) };
  if (!target.host && !target.ip) return refuse('execution-data.target', 'needs a host or an ip');
  const list = json.procedures;
  if (!Array.isArray(list)) return refuse('procedures', 'missing or not a list');
  if (list.length === 0) return refuse('procedures', 'the log has no procedure');
  if (list.length > MAX_ATTIRE_PROCEDURES)
    return refuse('procedures', `${list.length} procedures; at most ${MAX_ATTIRE_PROCEDURES} per file`);
  const procedures: AttireProcedure[] = [];
  for (let i = 0; i < list.length; i++) {
    const p: unknown = list[i];
    const at = `procedures[${i}]`;
    if (!isObject(p)) return refuse(at, 'not an object');
    const raw = p['mitre-technique-id'];
    if (typeof raw !== 'string' || raw.trim() === '')
      return refuse(`${at}.mitre-technique-id`, 'missing: the ATT&CK technique the procedure tests');
    const technique = raw.trim().toUpperCase();
    if (!TECHNIQUE.test(technique))
      return refuse(`${at}.mitre-technique-id`, `'${raw.slice(0, 40)}' is not a technique id (T1234 or T1234.001)`);
    const name = str(p['procedure-name']);
    if (!name) return refuse(`${at}.procedure-name`, 'missing: what was executed');
    const pid = p['procedure-id'];
    const procedureId = isObject(pid) ? str(pid.id) : null;
    const steps = p.steps;
    if (!Array.isArray(steps) || steps.length === 0) return refuse(`${at}.steps`, 'missing or empty: a step says when the procedure ran');
    let start: string | undefined;
    let stop: string | undefined;
    for (let j = 0; j < steps.length; j++) {
      const s: unknown = steps[j];
      if (!isObject(s)) return refuse(`${at}.steps[${j}]`, 'not an object');
      const ts = parseTimestamp(s['time-start']);
      if (!ts) return refuse(`${at}.steps[${j}].time-start`, 'missing or not an ISO 8601 UTC time such as 2021-10-27T02:02:23.000Z');
      const rawStop = s['time-stop'];
      const te = rawStop === undefined || rawStop === '' ? ts : parseTimestamp(rawStop);
      if (!te) return refuse(`${at}.steps[${j}].time-stop`, 'not an ISO 8601 UTC time such as 2021-10-27T02:02:25.000Z');
      if (te < ts) return refuse(`${at}.steps[${j}].time-stop`, 'is before its time-start');
      if (start === undefined || ts < start) start = ts;
      if (stop === undefined || te > stop) stop = te;
    }
    procedures.push({ index: i, technique, name, procedureId, startedAt: start!, endedAt: stop!, steps: steps.length });
  }
  return {
    ok: true,
    log: {
      version: typeof version === 'string' ? version : null,
      executionId,
      source,
      command: str(ed['execution-command']),
      target,
      procedures,
    },
  };
}

/** A run id for an imported procedure, `[a-z0-9]{16}` like Bulwark's runs, the same on every import of the same log. */
export function attireRunId(log: Pick<AttireLog, 'executionId'>, p: Pick<AttireProcedure, 'index' | 'technique' | 'startedAt'>): string {
  const h = createHash('sha256').update(`attire\0${log.executionId}\0${p.index}\0${p.technique}\0${p.startedAt}`).digest('hex');
  return `x${h.slice(0, 15)}`;
}

/** What matching reads of a signal. */
export interface MatchableSignal {
  id: string;
  receivedAt: string;
  labels: Record<string, string>;
  resolved: boolean;
  runId?: string;
}

/** `host`: a signal names the target (a label equal to its host or ip); `any`: every signal in the window counts. */
export const ATTIRE_MATCHES = ['host', 'any'] as const;
export type AttireMatch = (typeof ATTIRE_MATCHES)[number];

/** An imported run's outcome: seen in time, seen after the deadline (when one is given), or not seen within the window. */
export const ATTIRE_OUTCOMES = ['detected', 'detected-late', 'missed'] as const;
export type AttireOutcome = (typeof ATTIRE_OUTCOMES)[number];

export interface AttireDetection {
  outcome: AttireOutcome;
  ttdMs: number | null;
  signalId: string | null;
}

/**
 * Whether Bulwark saw a procedure: the first signal received from its start to `windowMs` after,
 * not a resolution, not carrying a Bulwark run id (those belong to Bulwark's own runs), and with
 * `host` matching naming the target in one of its labels (case aside). Its time to detect is
 * from the procedure's start to that signal's receipt.
 */
export function detectionOf(
  p: Pick<AttireProcedure, 'startedAt'>,
  target: AttireTarget,
  signals: readonly MatchableSignal[],
  windowMs: number,
  match: AttireMatch,
): AttireDetection {
  const start = Date.parse(p.startedAt);
  const names = new Set([target.host, target.ip].filter((x): x is string => x !== null).map((x) => x.toLowerCase()));
  let best: { ms: number; id: string } | null = null;
  for (const s of signals) {
    if (s.resolved || s.runId !== undefined) continue;
    const ms = Date.parse(s.receivedAt) - start;
    if (!(ms >= 0 && ms <= windowMs)) continue;
    if (match === 'host' && !Object.values(s.labels).some((v) => names.has(v.toLowerCase()))) continue;
    if (!best || ms < best.ms || (ms === best.ms && s.id < best.id)) best = { ms, id: s.id };
  }
  return best ? { outcome: 'detected', ttdMs: best.ms, signalId: best.id } : { outcome: 'missed', ttdMs: null, signalId: null };
}

/**
 * A detection held to a deadline: `detected-late` when its time to detect is past `deadlineMs`
 * (as a native run's detection past its deadline), unchanged without a deadline or when missed.
 */
export function withDeadline(d: AttireDetection, deadlineMs: number | null): AttireDetection {
  return deadlineMs !== null && d.outcome === 'detected' && d.ttdMs !== null && d.ttdMs > deadlineMs
    ? { ...d, outcome: 'detected-late' }
    : d;
}

/** Signals that can detect a procedure, indexed for matching: by label value (lower case) and all together, each by receipt. */
export interface SignalIndex {
  all: IndexedSignal[];
  byLabel: Map<string, IndexedSignal[]>;
}

interface IndexedSignal {
  at: number;
  id: string;
}

const byTime = (a: IndexedSignal, b: IndexedSignal) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The index detectionIn reads: resolutions and Bulwark runs' signals left out, as detectionOf leaves them. */
export function indexSignals(signals: readonly MatchableSignal[]): SignalIndex {
  const all: IndexedSignal[] = [];
  const byLabel = new Map<string, IndexedSignal[]>();
  for (const s of signals) {
    if (s.resolved || s.runId !== undefined) continue;
    const at = Date.parse(s.receivedAt);
    if (!Number.isFinite(at)) continue;
    const x = { at, id: s.id };
    all.push(x);
    for (const v of new Set(Object.values(s.labels).map((l) => l.toLowerCase()))) {
      const list = byLabel.get(v);
      if (list) list.push(x);
      else byLabel.set(v, [x]);
    }
  }
  all.sort(byTime);
  for (const list of byLabel.values()) list.sort(byTime);
  return { all, byLabel };
}

/** The first signal of a list sorted by receipt received at or after `at`, if before `until` (inclusive). */
function firstFrom(list: readonly IndexedSignal[], at: number, until: number): IndexedSignal | undefined {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.at < at) lo = mid + 1;
    else hi = mid;
  }
  const s = list[lo];
  return s && s.at <= until ? s : undefined;
}

/** As detectionOf, through an index: a binary search per target name instead of a pass over every signal. */
export function detectionIn(
  p: Pick<AttireProcedure, 'startedAt'>,
  target: AttireTarget,
  index: SignalIndex,
  windowMs: number,
  match: AttireMatch,
): AttireDetection {
  const start = Date.parse(p.startedAt);
  const lists =
    match === 'any'
      ? [index.all]
      : [...new Set([target.host, target.ip].filter((x): x is string => x !== null).map((x) => x.toLowerCase()))].map(
          (n) => index.byLabel.get(n) ?? [],
        );
  let best: IndexedSignal | undefined;
  for (const list of lists) {
    const s = firstFrom(list, start, start + windowMs);
    if (s && (!best || byTime(s, best) < 0)) best = s;
  }
  return best ? { outcome: 'detected', ttdMs: best.at - start, signalId: best.id } : { outcome: 'missed', ttdMs: null, signalId: null };
}
