/**
 * Calendar windows: the period (a month, a week, 2 weeks…) that holds an instant, counted in
 * wall-clock time of a time zone from a start time, as OpenSLO's `calendar` says. The zone's
 * offsets come from Intl (the runtime's tz database), so a period may be 23 or 25 hours longer or
 * shorter around a change of daylight saving time, as the wall clock is.
 */
import type { CalendarUnit } from './duration.ts';

export interface Wall {
  y: number;
  mo: number; // 1–12
  d: number;
  h: number;
  mi: number;
  s: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Whether the runtime knows this IANA time zone. */
export function isTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The zone's offset from UTC at an instant, in milliseconds. */
export function offsetAt(ms: number, tz: string): number {
  const parts = Object.fromEntries(
    formatter(tz)
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  const local = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return local - Math.floor(ms / 1000) * 1000;
}

/** The instant a wall-clock time in a zone names (the earlier one in a repeated hour). */
export function toInstant(w: Wall, tz: string): number {
  const guess = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
  const first = guess - offsetAt(guess, tz);
  return guess - offsetAt(first, tz);
}

/** `YYYY-MM-DD HH:mm:ss` or with `T`: the wall clock, or undefined when it is not one. */
export function parseWall(text: string): Wall | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) return undefined;
  const w = { y: +m[1]!, mo: +m[2]!, d: +m[3]!, h: +(m[4] ?? 0), mi: +(m[5] ?? 0), s: +(m[6] ?? 0) };
  const check = new Date(Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s));
  if (check.getUTCMonth() !== w.mo - 1 || check.getUTCDate() !== w.d || w.h > 23 || w.mi > 59 || w.s > 59) return undefined;
  return w;
}

function add(w: Wall, n: number, unit: CalendarUnit): Wall {
  // Date.UTC normalises overflowing fields (month 14, day 35), which is what wall-clock arithmetic needs.
  const months = unit === 'month' ? n : unit === 'quarter' ? 3 * n : unit === 'year' ? 12 * n : 0;
  const days = unit === 'day' ? n : unit === 'week' ? 7 * n : 0;
  const d = new Date(
    Date.UTC(w.y, w.mo - 1 + months, w.d + days, w.h + (unit === 'hour' ? n : 0), w.mi + (unit === 'minute' ? n : 0), w.s),
  );
  // A month step from the 31st lands on the 31st or the month's last day, never in the next month.
  if (months !== 0 && d.getUTCDate() !== w.d) d.setUTCDate(0);
  return {
    y: d.getUTCFullYear(),
    mo: d.getUTCMonth() + 1,
    d: d.getUTCDate(),
    h: d.getUTCHours(),
    mi: d.getUTCMinutes(),
    s: d.getUTCSeconds(),
  };
}

const APPROX_MS: Record<CalendarUnit, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 30.44 * 86_400_000,
  quarter: 91.31 * 86_400_000,
  year: 365.25 * 86_400_000,
};

/** The calendar period [start, end) that holds `now`. */
export function calendarPeriod(
  window: { count: number; unit: CalendarUnit; startTime: string; timeZone: string },
  now: number,
): { start: number; end: number } {
  const anchor = parseWall(window.startTime);
  if (!anchor) throw new Error(`calendar start time ${window.startTime} is not a wall-clock time`);
  const at = (k: number) => toInstant(add(anchor, k * window.count, window.unit), window.timeZone);
  let k = Math.floor((now - at(0)) / (APPROX_MS[window.unit] * window.count));
  while (at(k) > now) k--;
  while (at(k + 1) <= now) k++;
  return { start: at(k), end: at(k + 1) };
}
