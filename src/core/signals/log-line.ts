/**
 * What every log-line parser shares: the tailer's context, the checks every line goes through,
 * and the dedup basis of a line. Parsers take one line and answer a signal or a reason, never a
 * throw: a tailer reads whatever is in the file, half-written lines and attacker-shaped ones too.
 */
import { textProblem } from '../input/text.ts';
import { normaliseReceivedAt, reject, type DedupBasis } from './signal.ts';

export interface LogLineContext {
  /** Bulwark's receipt time, RFC 3339 (from the caller's clock). */
  receivedAt: string;
  /** The tailer's configured source name; defaults to the format's name. */
  source?: string;
  /** The file and byte offset the line was read at: a re-read after a restart then dedups. */
  file?: string;
  offset?: number;
  /**
   * UTC offset, in minutes, of the clock that wrote zone-less times. ModSecurity writes
   * time_stamp with ctime(3), in its local zone and without saying which; 0 (UTC) by default.
   */
  localUtcOffsetMinutes?: number;
  /** Longer lines are refused; 1 MiB by default. */
  maxLineLength?: number;
}

export const DEFAULT_MAX_LINE_LENGTH = 1 << 20;

export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A line ready to parse: the trailing newline gone, the receipt time normalised. */
export type PreparedLine = { ok: true; line: string; receivedAt: string } | { ok: false; reason: string };

/** Refuse empty, over-long and unstorable lines before any parsing work is spent on them. */
export function prepareLine(line: string, ctx: LogLineContext): PreparedLine {
  const receivedAt = normaliseReceivedAt(ctx.receivedAt);
  const max = ctx.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  if (line.length > max) return reject(`line is longer than ${max} characters`);
  const l = line.replace(/\r?\n$/, '');
  if (l.trim() === '') return reject('empty line');
  // What the ledger could not keep unchanged is refused here, line by line, not in the batch.
  const problem = textProblem(l);
  if (problem) return reject(`the line ${problem}`);
  return { ok: true, line: l, receivedAt };
}

/** Where the line was read and what it said (see DedupBasis `log-line`). */
export function lineDedup(line: string, ctx: LogLineContext): DedupBasis {
  return {
    kind: 'log-line',
    line,
    ...(ctx.file !== undefined && { file: ctx.file }),
    ...(ctx.offset !== undefined && { offset: ctx.offset }),
  };
}
