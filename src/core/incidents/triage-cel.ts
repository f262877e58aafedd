/**
 * The match expressions of triage rules: CEL over a signal (`signal`) or a finished experiment
 * run (`run`), type-checked when the rules file is read, so `signal.lables.x` is refused there
 * rather than never matching. An error while matching one item is a non-match, never a crash.
 */
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { toCel } from '../cel-values.ts';

export interface TriageSignal {
  id: string;
  source: string;
  time: string;
  receivedAt: string;
  severity: string;
  labels: Record<string, string>;
  body: unknown;
  fingerprint: string;
  resolved: boolean;
  runId: string;
}

export interface TriageRun {
  id: string;
  experiment: string;
  outcome: string;
  reason: string;
}

export type TriageOn = 'signal' | 'run';

export interface TriageProgram {
  readonly source: string;
  readonly on: TriageOn;
  readonly evaluate: ParseResult;
}

const MAX_SOURCE = 4096;
const limits = { maxAstNodes: 2000, maxDepth: 32 };

const signalEnv = new Environment({ homogeneousAggregateLiterals: false, limits })
  .registerType('bulwark.TriageSignal', {
    fields: {
      id: 'string',
      source: 'string',
      time: 'google.protobuf.Timestamp',
      receivedAt: 'google.protobuf.Timestamp',
      severity: 'string',
      labels: 'map<string, string>',
      body: 'dyn',
      fingerprint: 'string',
      resolved: 'bool',
      runId: 'string',
    },
  })
  .registerVariable('signal', 'bulwark.TriageSignal');

const runEnv = new Environment({ homogeneousAggregateLiterals: false, limits })
  .registerType('bulwark.TriageRun', { fields: { id: 'string', experiment: 'string', outcome: 'string', reason: 'string' } })
  .registerVariable('run', 'bulwark.TriageRun');

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

/** Parse and type-check a rule's match; the message says what to fix. */
export function compileTriage(source: string, on: TriageOn): { ok: true; program: TriageProgram } | { ok: false; message: string } {
  const example = on === 'signal' ? 'signal.labels.alertname == "SloBurnRate"' : 'run.outcome == "missed"';
  if (source.trim() === '') return { ok: false, message: `match is empty; write e.g. ${example}` };
  if (source.length > MAX_SOURCE) return { ok: false, message: `match is longer than ${MAX_SOURCE} characters` };
  let program: ParseResult;
  try {
    program = (on === 'signal' ? signalEnv : runEnv).parse(source);
  } catch (e) {
    return { ok: false, message: `CEL syntax error: ${firstLine(e)}` };
  }
  let checked: ReturnType<ParseResult['check']>;
  try {
    checked = program.check();
  } catch (e) {
    return { ok: false, message: `CEL type error: ${firstLine(e)}` };
  }
  if (!checked.valid) {
    const fields =
      on === 'signal'
        ? 'id, source, time, receivedAt, severity, labels, body, fingerprint, resolved, runId'
        : 'id, experiment, outcome, reason';
    return { ok: false, message: `CEL error: ${firstLine(checked.error)} (a rule on ${on}s sees ${fields})` };
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') return { ok: false, message: `match yields ${checked.type}, not bool` };
  return { ok: true, program: { source, on, evaluate: program } };
}

/** Whether the program matches the item; an evaluation error or a non-bool is a non-match. */
export function matches(program: TriageProgram, item: { signal: TriageSignal } | { run: TriageRun }): boolean {
  let context: Record<string, unknown>;
  if ('signal' in item) {
    if (program.on !== 'signal') return false;
    const s = item.signal;
    const time = new Date(Date.parse(s.time));
    const receivedAt = new Date(Date.parse(s.receivedAt));
    if (Number.isNaN(time.getTime()) || Number.isNaN(receivedAt.getTime())) return false;
    context = { signal: { ...s, time, receivedAt, labels: new Map(Object.entries(s.labels)), body: toCel(s.body) } };
  } else {
    if (program.on !== 'run') return false;
    context = { run: { ...item.run } };
  }
  try {
    return program.evaluate(context) === true;
  } catch {
    return false;
  }
}
