/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week) as Vixie cron reads
 * them, evaluated in UTC so that a schedule means the same on every replica: `*`, lists, ranges,
 * steps, month and weekday names, 7 as Sunday, and the `@daily`-style shorthands.
 */
import { invalid } from '../errors.ts';

export interface Cron {
  /** The expression as written. */
  source: string;
  minutes: readonly number[];
  hours: readonly number[];
  daysOfMonth: readonly number[];
  months: readonly number[];
  /** 0 = Sunday … 6 = Saturday (a written 7 is folded into 0). */
  daysOfWeek: readonly number[];
  /** Whether day-of-month / day-of-week were restricted (not `*`): cron ORs them when both are. */
  domRestricted: boolean;
  dowRestricted: boolean;
}

export interface NextRun {
  /** The matching minute, in ms since the epoch. */
  scheduledAt: number;
  /** scheduledAt plus jitter: when to actually start. */
  runAt: number;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const SHORTHANDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Offset of names[0]: months are numbered from 1. */
  nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: DAYS, nameBase: 0 },
];

/** Days in each month of a leap year: a day-of-month no month has can never match. */
const MAX_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Parse a cron expression; throws a DomainError `invalid` that names the field and what to write. */
export function parseCron(expression: string): Cron {
  const r = tryParseCron(expression);
  if (!r.ok) throw invalid(r.message);
  return r.cron;
}

/** Parse a cron expression, returning the reason as a value for callers that collect errors. */
export function tryParseCron(expression: string): { ok: true; cron: Cron } | { ok: false; message: string } {
  const source = expression.trim();
  const expanded = SHORTHANDS[source.toLowerCase()] ?? source;
  if (expanded.startsWith('@')) {
    return { ok: false, message: `cron '${source}' is not a known shorthand; use one of ${Object.keys(SHORTHANDS).join(', ')}` };
  }
  const parts = expanded.split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 5) {
    return {
      ok: false,
      message: `cron '${source}' has ${parts.length} field${parts.length === 1 ? '' : 's'}; write five: minute hour day-of-month month day-of-week, e.g. '*/5 * * * *'`,
    };
  }
  const values: number[][] = [];
  for (let i = 0; i < 5; i++) {
    const spec = FIELDS[i]!;
    const r = parseField(parts[i]!, spec);
    if (typeof r === 'string') return { ok: false, message: `cron '${source}': ${spec.name} ${r}` };
    values.push(r);
  }
  const [minutes, hours, daysOfMonth, months, dowRaw] = values as [number[], number[], number[], number[], number[]];
  const daysOfWeek = [...new Set(dowRaw.map((d) => d % 7))].sort((a, b) => a - b);
  const domRestricted = parts[2] !== '*' && !parts[2]!.startsWith('*/');
  const dowRestricted = parts[4] !== '*' && !parts[4]!.startsWith('*/');
  if (domRestricted && !dowRestricted && !months.some((m) => daysOfMonth.some((d) => d <= MAX_DAYS[m - 1]!))) {
    return { ok: false, message: `cron '${source}' never matches: no chosen month has the chosen day of month` };
  }
  return { ok: true, cron: { source, minutes, hours, daysOfMonth, months, daysOfWeek, domRestricted, dowRestricted } };
}

function parseField(text: string, spec: FieldSpec): number[] | string {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') return `has an empty list item in '${text}'`;
    const [rangePart, stepPart, extra] = item.split('/');
    if (extra !== undefined || rangePart === undefined) return `'${item}' has more than one '/'`;
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) === 0) return `step in '${item}' must be a positive number`;
      step = Number(stepPart);
    }
    let lo: number;
    let hi: number;
    if (rangePart === '*') {
      lo = spec.min;
      hi = spec.name === 'day-of-week' ? 6 : spec.max;
    } else {
      const bounds = rangePart.split('-');
      if (bounds.length > 2) return `'${item}' is not a value or a range`;
      const a = parseValue(bounds[0]!, spec);
      if (typeof a === 'string') return a;
      lo = a;
      if (bounds.length === 2) {
        const b = parseValue(bounds[1]!, spec);
        if (typeof b === 'string') return b;
        hi = b;
        if (hi < lo) return `range '${rangePart}' runs backwards; write the smaller value first`;
      } else {
        // `5/15` means from 5 to the end in steps of 15, as most crons read it.
        hi = stepPart !== undefined ? spec.max : lo;
      }
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

function parseValue(text: string, spec: FieldSpec): number | string {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < spec.min || n > spec.max) return `value ${n} is out of range ${spec.min}-${spec.max}`;
    return n;
  }
  const idx = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  if (idx >= 0) return idx + spec.nameBase!;
  const hint = spec.names ? ` or a name (${spec.names.join(', ')})` : '';
  return `'${text}' is not a number ${spec.min}-${spec.max}${hint}`;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Whether the minute containing `ms` (UTC) is one the expression selects. */
export function cronMatches(cron: Cron, ms: number): boolean {
  const d = new Date(ms);
  return cron.minutes.includes(d.getUTCMinutes()) && cron.hours.includes(d.getUTCHours()) && dayMatches(cron, d);
}

function dayMatches(cron: Cron, d: Date): boolean {
  if (!cron.months.includes(d.getUTCMonth() + 1)) return false;
  const dom = cron.daysOfMonth.includes(d.getUTCDate());
  const dow = cron.daysOfWeek.includes(d.getUTCDay());
  // Vixie cron: when both day fields are restricted, a day matching either one is selected.
  if (cron.domRestricted && cron.dowRestricted) return dom || dow;
  return dom && dow;
}

/** The first matching minute strictly after `afterMs`; null only if none exists within 28 years. */
export function nextMatch(cron: Cron, afterMs: number): number | null {
  let t = Math.floor(afterMs / MINUTE) * MINUTE + MINUTE;
  // 28 years is one full cycle of weekdays over leap years: every possible day pattern recurs.
  const limit = t + 28 * 366 * DAY;
  while (t < limit) {
    const d = new Date(t);
    if (!dayMatches(cron, d)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
      continue;
    }
    const hour = cron.hours.find((h) => h >= d.getUTCHours());
    if (hour === undefined) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
      continue;
    }
    if (hour > d.getUTCHours()) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hour);
      continue;
    }
    const minute = cron.minutes.find((m) => m >= d.getUTCMinutes());
    if (minute === undefined) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hour + 1);
      continue;
    }
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hour, minute);
  }
  return null;
}

/**
 * The next run after `afterMs`: the next matching minute plus a jitter drawn from
 * [0, jitterMs) with the given random source (values in [0, 1)), so that many schedules on one
 * minute do not start at once. Pass the previous scheduledAt, not runAt, as `afterMs`.
 */
export function nextRun(cron: Cron, afterMs: number, jitterMs: number, random: () => number): NextRun | null {
  if (!Number.isFinite(afterMs)) throw new Error(`afterMs must be a finite number, got ${afterMs}`);
  if (!(jitterMs >= 0)) throw new Error(`jitterMs must be ≥ 0, got ${jitterMs}`);
  const scheduledAt = nextMatch(cron, afterMs);
  if (scheduledAt === null) return null;
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return { scheduledAt, runAt: scheduledAt + Math.floor(r * jitterMs) };
}
