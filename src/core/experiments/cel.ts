/**
 * The `expect.detected[].when` expressions: CEL over the normalised signal (`signal`) and the
 * run (`run`). Field names are type-checked when the file is parsed, so `signal.lables.rule` is
 * refused there rather than never matching; an error while matching one signal is a non-match
 * with its reason, never a crash of the run.
 */
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { toCel } from '../cel-values.ts';

/** A signal as the matcher sees it; times are epoch milliseconds or RFC 3339 strings. */
export interface CelSignal {
  id: string;
  source: string;
  time: number | string;
  receivedAt: number | string;
  severity: string;
  labels: Record<string, string>;
  body: unknown;
  fingerprint: string;
}

export interface CelRun {
  id: string;
}

/** A compiled expression; opaque, reuse it for every signal. */
export interface CelProgram {
  readonly source: string;
  readonly evaluate: ParseResult;
}

export type CelCompile = { ok: true; program: CelProgram } | { ok: false; message: string; offset?: number };

export interface CelMatch {
  matched: boolean;
  reason: string;
}

const MAX_SOURCE = 4096;

// `timestamp` as a field type trips cel-js 8's default converter; the protobuf name is the same type.
const env = new Environment({
  homogeneousAggregateLiterals: false,
  limits: { maxAstNodes: 2000, maxDepth: 32 },
})
  .registerType('bulwark.Signal', {
    fields: {
      id: 'string',
      source: 'string',
      time: 'google.protobuf.Timestamp',
      receivedAt: 'google.protobuf.Timestamp',
      severity: 'string',
      labels: 'map<string, string>',
      body: 'dyn',
      fingerprint: 'string',
    },
  })
  .registerType('bulwark.Run', { fields: { id: 'string' } })
  .registerVariable('signal', 'bulwark.Signal')
  .registerVariable('run', 'bulwark.Run');

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim();
}

function offsetOf(e: unknown): number | undefined {
  const r = (e as { range?: { start?: unknown } } | null)?.range;
  return typeof r?.start === 'number' ? r.start : undefined;
}

/** Parse and type-check an expression that must yield a boolean; the message says what to fix. */
export function compileCel(source: string): CelCompile {
  if (source.trim() === '') return { ok: false, message: 'expression is empty; write e.g. signal.labels.rule == "942100"' };
  if (source.length > MAX_SOURCE) return { ok: false, message: `expression is longer than ${MAX_SOURCE} characters` };
  let program: ParseResult;
  try {
    program = env.parse(source);
  } catch (e) {
    return { ok: false, message: `CEL syntax error: ${firstLine(e)}`, offset: offsetOf(e) };
  }
  let checked: ReturnType<ParseResult['check']>;
  try {
    checked = program.check();
  } catch (e) {
    return { ok: false, message: `CEL type error: ${firstLine(e)}`, offset: offsetOf(e) };
  }
  if (!checked.valid) {
    const m = checked.error?.message ?? '';
    const hint = /Unknown variable/.test(m)
      ? ' (the variables are signal and run)'
      : /No such key/.test(m)
        ? ' (signal has id, source, time, receivedAt, severity, labels, body, fingerprint; run has id)'
        : '';
    return { ok: false, message: `CEL error: ${firstLine(checked.error)}${hint}`, offset: offsetOf(checked.error) };
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return { ok: false, message: `expression yields ${checked.type}, not bool; compare it, e.g. ${source} == …` };
  }
  return { ok: true, program: { source, evaluate: program } };
}

function toDate(t: number | string): Date {
  return new Date(typeof t === 'number' ? t : Date.parse(t));
}

function fromCel(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Evaluate a compiled expression against one signal; errors (a missing key, a bad type) are a non-match with the reason. */
export function matchSignal(program: CelProgram, signal: CelSignal, run: CelRun): CelMatch {
  const time = toDate(signal.time);
  const receivedAt = toDate(signal.receivedAt);
  if (Number.isNaN(time.getTime()) || Number.isNaN(receivedAt.getTime())) {
    return { matched: false, reason: 'signal time or receivedAt is not a valid time' };
  }
  const context = {
    signal: { ...signal, time, receivedAt, labels: new Map(Object.entries(signal.labels)), body: toCel(signal.body) },
    run: { id: run.id },
  };
  let result: unknown;
  try {
    result = program.evaluate(context);
  } catch (e) {
    return { matched: false, reason: `evaluation error: ${firstLine(e)}` };
  }
  if (result === true) return { matched: true, reason: `${program.source} is true` };
  if (result === false) return { matched: false, reason: `${program.source} is false` };
  return { matched: false, reason: `expression yielded ${fromCel(result)}, not a bool` };
}
