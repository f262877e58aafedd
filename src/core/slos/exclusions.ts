/**
 * Exclusion windows: maintenance and other declared intervals whose events an SLO leaves out of its
 * budget (good and total alike). A window is one-off (`start` + `duration`) or repeats by an
 * RFC 5545 RRULE from its start. Starts are wall-clock times in the window's time zone, so a
 * "Sunday 02:00 Europe/Paris" window stays at 02:00 across daylight-saving changes.
 *
 * RRULEs are expanded by the `rrule` package in floating time (wall-clock dates stored as UTC),
 * and each occurrence's wall clock is turned into an instant here with the zone's offsets
 * (calendar.ts): the package's own TZID support depends on the process's local zone.
 *
 * Only the part of RFC 5545 that always yields occurrences is accepted (see checkRrule): the
 * package searches forever, to the year 9999, for a rule that can never match (FREQ=DAILY;
 * BYMONTH=2;BYMONTHDAY=31 takes seconds), so such rules are refused when the file is read.
 * Pure.
 */
import rrule from 'rrule';
import { parseWall, toInstant, type Wall } from './calendar.ts';
import type { Exclusion } from './types.ts';

const { RRule } = rrule;
type Options = rrule.Options;

export interface Interval {
  /** Inclusive, epoch ms. */
  start: number;
  /** Exclusive, epoch ms. */
  end: number;
  name: string;
}

const FREQS: Record<string, number> = {
  YEARLY: RRule.YEARLY,
  MONTHLY: RRule.MONTHLY,
  WEEKLY: RRule.WEEKLY,
  DAILY: RRule.DAILY,
};
const ALLOWED = new Set(['FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'WKST', 'BYDAY', 'BYMONTH', 'BYMONTHDAY', 'BYHOUR', 'BYMINUTE']);
const DAYS = new Set(['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU']);
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
export const MAX_RRULE_LENGTH = 500;
/** At most this many occurrences of one window are expanded for one evaluation. */
const MAX_OCCURRENCES = 10_000;

/** A comma-separated list of whole numbers in [min, max], 0 left out unless `zero`. */
const ints = (v: string, min: number, max: number, zero = false): number[] | undefined => {
  const out: number[] = [];
  for (const p of v.split(',')) {
    if (!/^[+-]?\d{1,5}$/.test(p)) return undefined;
    const n = Number(p);
    if (n < min || n > max || (n === 0 && !zero)) return undefined;
    out.push(n);
  }
  return out;
};

/**
 * Why an RRULE (`FREQ=WEEKLY;BYDAY=SU`, without DTSTART: the window's `start` is that) is not
 * accepted, or undefined when it is. Accepted: FREQ YEARLY, MONTHLY, WEEKLY or DAILY; INTERVAL;
 * COUNT or UNTIL; WKST; BYDAY (ordinals ±1–4 with MONTHLY or YEARLY); BYMONTH; BYMONTHDAY (29–31
 * only when a BYMONTH month has that day); BYHOUR; BYMINUTE. Each such rule matches at least once
 * every few years. `startDay` is the day of the month the window starts on: a MONTHLY or YEARLY
 * rule without BYMONTHDAY or BYDAY recurs on that day, so it too must fall in a BYMONTH month.
 */
export function checkRrule(text: string, startDay?: number): string | undefined {
  const rule = text.replace(/^RRULE:/i, '');
  if (rule.length === 0 || rule.length > MAX_RRULE_LENGTH) return `an RRULE is 1–${MAX_RRULE_LENGTH} characters, e.g. FREQ=WEEKLY;BYDAY=SU`;
  const parts = new Map<string, string>();
  for (const part of rule.split(';')) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(part);
    if (!m) return `'${part.slice(0, 40)}' is not NAME=VALUE; an RRULE reads e.g. FREQ=WEEKLY;BYDAY=SU`;
    const key = m[1]!.toUpperCase();
    if (!ALLOWED.has(key)) {
      return `${key} is not supported here (use FREQ, INTERVAL, COUNT, UNTIL, WKST, BYDAY, BYMONTH, BYMONTHDAY, BYHOUR, BYMINUTE; the window's start is its DTSTART)`;
    }
    if (parts.has(key)) return `${key} is given twice`;
    parts.set(key, m[2]!.toUpperCase());
  }
  const freq = parts.get('FREQ');
  if (freq === undefined) return 'FREQ is required: YEARLY, MONTHLY, WEEKLY or DAILY';
  if (!(freq in FREQS)) return `FREQ=${freq} is not supported: YEARLY, MONTHLY, WEEKLY or DAILY`;
  const interval = parts.get('INTERVAL');
  if (interval !== undefined && !ints(interval, 1, 1000)) return 'INTERVAL is a whole number from 1 to 1000';
  if (parts.has('COUNT') && parts.has('UNTIL')) return 'COUNT and UNTIL cannot both be given (RFC 5545)';
  const count = parts.get('COUNT');
  if (count !== undefined && !ints(count, 1, MAX_OCCURRENCES)) return `COUNT is a whole number from 1 to ${MAX_OCCURRENCES}`;
  const until = parts.get('UNTIL');
  if (until !== undefined && !/^\d{8}(T\d{6}Z?)?$/.test(until)) return 'UNTIL is a date YYYYMMDD or a time YYYYMMDDTHHMMSS';
  const wkst = parts.get('WKST');
  if (wkst !== undefined && !DAYS.has(wkst)) return 'WKST is one of MO, TU, WE, TH, FR, SA, SU';
  const byday = parts.get('BYDAY');
  let ordinals = false;
  if (byday !== undefined) {
    for (const d of byday.split(',')) {
      const m = /^([+-]?\d)?([A-Z]{2})$/.exec(d);
      if (!m || !DAYS.has(m[2]!)) return `BYDAY '${d}' is not a day: MO, TU, WE, TH, FR, SA, SU, with an ordinal such as 1SU or -1FR`;
      if (m[1] !== undefined) {
        const n = Number(m[1]);
        if (n === 0 || Math.abs(n) > 4) return `BYDAY '${d}': ordinals are ±1 to ±4 (every month has 4 of each day; -1 is the last)`;
        if (freq !== 'MONTHLY' && freq !== 'YEARLY') return `BYDAY '${d}': an ordinal needs FREQ=MONTHLY or YEARLY`;
        ordinals = true;
      }
    }
  }
  const bymonth = parts.get('BYMONTH');
  const months = bymonth === undefined ? undefined : ints(bymonth, 1, 12);
  if (bymonth !== undefined && !months) return 'BYMONTH lists months 1–12';
  const bymonthday = parts.get('BYMONTHDAY');
  if (bymonthday !== undefined) {
    const days = ints(bymonthday, -31, 31);
    if (!days) return 'BYMONTHDAY lists days 1–31 or -31 to -1 (from the end)';
    if (ordinals) return 'BYMONTHDAY with an ordinal BYDAY may never match; give one of them';
    const longest = Math.max(...(months ?? [1]).map((mo) => MONTH_DAYS[mo - 1]!));
    if (!days.some((d) => Math.abs(d) <= longest)) return `BYMONTHDAY ${bymonthday} never falls in BYMONTH ${bymonth ?? ''}`.trim();
  } else if (byday === undefined && months && startDay !== undefined && (freq === 'MONTHLY' || freq === 'YEARLY')) {
    // The start's day is the rule's day of the month (RFC 5545: taken from DTSTART).
    const longest = Math.max(...months.map((mo) => MONTH_DAYS[mo - 1]!));
    if (startDay > longest)
      return `the window starts on day ${startDay}, which never falls in BYMONTH ${bymonth}; start it on a day those months have, or give BYMONTHDAY`;
  }
  const byhour = parts.get('BYHOUR');
  if (byhour !== undefined && !ints(byhour, 0, 23, true)) return 'BYHOUR lists hours 0–23';
  const byminute = parts.get('BYMINUTE');
  if (byminute !== undefined && !ints(byminute, 0, 59, true)) return 'BYMINUTE lists minutes 0–59';
  try {
    RRule.parseString(rule);
  } catch (e) {
    return `not an RRULE: ${(e as Error).message}`;
  }
  return undefined;
}

const wallUtc = (w: Wall) => Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
const toWall = (ms: number): Wall => {
  const d = new Date(ms);
  return {
    y: d.getUTCFullYear(),
    mo: d.getUTCMonth() + 1,
    d: d.getUTCDate(),
    h: d.getUTCHours(),
    mi: d.getUTCMinutes(),
    s: d.getUTCSeconds(),
  };
};

const DAY = 86_400_000;
// The most a zone's wall clock is ahead of or behind UTC (Kiribati +14, Baker Island -12), with room.
const ZONE_SLACK = 2 * DAY;

/**
 * The rule with its defaults made explicit and its start moved forward by whole periods to just
 * before `fromWall`, so expanding near `fromWall` does not walk every occurrence since the start.
 * Without COUNT the occurrences are the same: a rule's BY parts, made explicit, do not depend on
 * its start, and a whole number of INTERVAL periods keeps the INTERVAL phase.
 */
function ruleNear(rule: string, startWall: number, fromWall: number): InstanceType<typeof RRule> {
  const o: Partial<Options> = RRule.parseString(rule.replace(/^RRULE:/i, ''));
  const s = toWall(startWall);
  o.byhour ??= [s.h];
  o.byminute ??= [s.mi];
  o.bysecond = [s.s];
  const hasDay = o.byweekday != null || o.bymonthday != null;
  if (o.freq === RRule.WEEKLY && !hasDay) o.byweekday = [(new Date(startWall).getUTCDay() + 6) % 7];
  if (o.freq === RRule.MONTHLY && !hasDay) o.bymonthday = [s.d];
  if (o.freq === RRule.YEARLY && !hasDay && o.bymonth == null) {
    o.bymonth = [s.mo];
    o.bymonthday = [s.d];
  } else if (o.freq === RRule.YEARLY && !hasDay) o.bymonthday = [s.d];
  let start = startWall;
  const n = o.interval ?? 1;
  if (o.count == null && fromWall > startWall) {
    const approx = o.freq === RRule.DAILY ? DAY : o.freq === RRule.WEEKLY ? 7 * DAY : o.freq === RRule.MONTHLY ? 31 * DAY : 366 * DAY;
    const k = Math.max(0, Math.floor((fromWall - startWall) / (approx * n)) - 1) * n;
    if (k > 0) {
      const d = new Date(startWall);
      if (o.freq === RRule.DAILY) d.setUTCDate(d.getUTCDate() + k);
      else if (o.freq === RRule.WEEKLY) d.setUTCDate(d.getUTCDate() + 7 * k);
      else {
        // The 1st of a month always exists, so the move never overflows into another month.
        d.setUTCDate(1);
        if (o.freq === RRule.MONTHLY) d.setUTCMonth(d.getUTCMonth() + k);
        else d.setUTCFullYear(d.getUTCFullYear() + k);
      }
      // Moving to the period's first day can only add occurrences before the original start's
      // day in that period: still before fromWall, so never reported.
      start = Math.min(d.getTime(), fromWall);
    }
  }
  return new RRule({ ...o, dtstart: new Date(start) });
}

/**
 * The intervals of the windows that overlap [from, to], sorted by start and merged where they
 * overlap (a merged interval keeps the first window's name).
 */
export function exclusionIntervals(exclusions: readonly Exclusion[], from: number, to: number): Interval[] {
  const all: Interval[] = [];
  for (const x of exclusions) {
    const w = parseWall(x.start);
    if (!w) continue;
    if (x.rrule === undefined) {
      const start = toInstant(w, x.timeZone);
      if (start < to && start + x.durationMs > from) all.push({ start, end: start + x.durationMs, name: x.name });
      continue;
    }
    const startWall = wallUtc(w);
    const fromWall = from - x.durationMs - ZONE_SLACK;
    const untilWall = to + ZONE_SLACK;
    if (untilWall < startWall) continue;
    const rule = ruleNear(x.rrule, startWall, fromWall);
    const dates = rule.between(new Date(Math.max(fromWall, startWall)), new Date(untilWall), true, (_d, i) => i < MAX_OCCURRENCES);
    for (const d of dates) {
      if (d.getTime() < startWall) continue;
      const start = toInstant(toWall(d.getTime()), x.timeZone);
      if (start < to && start + x.durationMs > from) all.push({ start, end: start + x.durationMs, name: x.name });
    }
  }
  all.sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: Interval[] = [];
  for (const i of all) {
    const last = merged.at(-1);
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else merged.push({ ...i });
  }
  return merged;
}

/** The interval holding `at`, by binary search over sorted, merged intervals. */
export function intervalAt(intervals: readonly Interval[], at: number): Interval | undefined {
  let lo = 0;
  let hi = intervals.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const i = intervals[mid]!;
    if (at < i.start) hi = mid - 1;
    else if (at >= i.end) lo = mid + 1;
    else return i;
  }
  return undefined;
}
