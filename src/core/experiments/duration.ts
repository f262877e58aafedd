/**
 * Durations as people write them in experiment files: `500ms`, `30s`, `2m`, `1h`, `1m30s`, `1d`.
 * Go's notation, restricted to whole milliseconds and units in descending order so that a file
 * reads one way only.
 */
import { invalid } from '../errors.ts';

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
] as const;

type Unit = (typeof UNITS)[number][0];

const UNIT_MS = new Map<string, number>(UNITS);
const UNIT_RANK = new Map<string, number>(UNITS.map(([u], i) => [u, i]));
const PART = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/y;

/** The longest duration accepted (one year): anything longer is a typo, and it keeps sums exact. */
export const MAX_DURATION_MS = 366 * 86_400_000;

/** Parse a duration into milliseconds; throws a DomainError `invalid` whose message says what to write. */
export function parseDuration(text: string): number {
  const r = tryParseDuration(text);
  if (!r.ok) throw invalid(r.message);
  return r.ms;
}

/** Parse a duration into milliseconds, returning the reason as a value for callers that collect errors. */
export function tryParseDuration(text: string): { ok: true; ms: number } | { ok: false; message: string } {
  const fail = (why: string) => ({
    ok: false as const,
    message: `duration '${text}' ${why}; write e.g. '500ms', '30s', '2m', '1h' or '1m30s'`,
  });
  const s = text.trim();
  if (s === '') return fail('is empty');
  if (s === '0') return { ok: true, ms: 0 };
  if (/^\d+(\.\d+)?$/.test(s)) return fail('has no unit');
  let pos = 0;
  let total = 0;
  let lastRank = -1;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) return fail(`cannot be read at '${s.slice(pos)}'`);
    const unit = m[2] as Unit;
    const rank = UNIT_RANK.get(unit)!;
    if (rank <= lastRank) return fail(`repeats or reorders units ('${unit}' after a smaller or equal unit)`);
    lastRank = rank;
    total += Number(m[1]) * UNIT_MS.get(unit)!;
    pos = PART.lastIndex;
  }
  // Rounding absorbs binary noise such as 0.1s = 100.00000000000001ms; a real fraction stays.
  const rounded = Math.round(total * 1000) / 1000;
  if (!Number.isInteger(rounded)) return fail('is not a whole number of milliseconds');
  if (rounded > MAX_DURATION_MS) return fail('is longer than a year');
  return { ok: true, ms: rounded };
}

/** Format milliseconds compactly (`1m30s`, `500ms`), the inverse of parseDuration for messages and journals. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0 || !Number.isInteger(ms)) return `${ms}ms`;
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
