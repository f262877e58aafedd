/**
 * An SLO's budget and burn rates over time, for the charts of its page: the status (budget.ts) at
 * evenly spaced instants from the start of the current period (a rolling window: one window back)
 * up to now. Each point is what the status said at that instant, from the events known now. Pure.
 *
 * One sweep, not one scan per point: the events are sorted once with running sums of good and
 * total (and, for timeslices, of each slice's spent share), and every window of every point is
 * two binary searches into them: O(events · log events + points · windows · log events). The
 * tallies are those evaluateBudget's scan gives (series.test.ts compares the two).
 */
import { alertWindows } from './alert-windows.ts';
import { budgetFromTallies, budgetPeriod, type Tallier, type Tally } from './budget.ts';
import { exclusionIntervals, intervalAt } from './exclusions.ts';
import type { Exclusion, Slo, SliEvent } from './types.ts';

export const MAX_SERIES_POINTS = 200;

export interface SeriesPoint {
  at: string;
  /** Budget remaining (1 − consumed); null while the period has no event yet. */
  remaining: number | null;
  /** Burn rate per window (the alert windows and the period), null for a window without events. */
  burnRates: Record<string, number | null>;
  /** The alerts that fired at that instant. */
  firing: ('page' | 'ticket')[];
}

type SeriesSlo = Pick<Slo, 'objective' | 'window' | 'budgeting' | 'alerting'> & { exclusions?: readonly Exclusion[] };

/** Where the series starts: the period's start for a calendar window, one window back for a rolling one. */
export function seriesStart(slo: Pick<Slo, 'window'>, now: number): number {
  return budgetPeriod(slo, now).start;
}

/** The instants of a series of `points` (2 to MAX_SERIES_POINTS) ending at `now`. */
export function seriesInstants(slo: Pick<Slo, 'window'>, now: number, points: number): number[] {
  const n = Math.max(2, Math.min(MAX_SERIES_POINTS, Math.floor(points)));
  const start = seriesStart(slo, now);
  const step = (now - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? now : Math.round(start + i * step)));
}

/** The earliest instant any of the instants' windows (period and alert windows) reaches back to. */
export function seriesReach(slo: Pick<Slo, 'window' | 'alerting'>, instants: readonly number[]): number {
  let earliest = Infinity;
  for (const at of instants) {
    const p = budgetPeriod(slo, at);
    const longest = Math.max(...alertWindows(slo.alerting.strategy, p.end - p.start).map((w) => w.longMs));
    earliest = Math.min(earliest, p.start, at - longest);
  }
  return earliest;
}

/** The first index whose instant is after `x` (sorted instants). */
function after(ats: Float64Array, x: number): number {
  let lo = 0;
  let hi = ats.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ats[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

interface Slices {
  /** The slice of each event (an index into first/end). */
  of: Int32Array;
  /** The first event of each slice, and one past its last. */
  first: number[];
  end: number[];
  /** Running sum of each whole slice's spent share. */
  spent: Float64Array;
}

/** An index over the events for tallies of any window: what budget.ts's scan counts, in O(log events). */
export function eventIndex(slo: Pick<Slo, 'budgeting'>, events: readonly SliEvent[]): Tallier {
  const kept = events
    .filter((e) => e.total > 0 && Number.isFinite(e.at))
    .map((e) => ({ at: e.at, good: Math.min(Math.max(e.good, 0), e.total), total: e.total }))
    .sort((a, b) => a.at - b.at);
  const n = kept.length;
  const ats = new Float64Array(n);
  const good = new Float64Array(n + 1);
  const total = new Float64Array(n + 1);
  kept.forEach((e, i) => {
    ats[i] = e.at;
    good[i + 1] = good[i]! + e.good;
    total[i + 1] = total[i]! + e.total;
  });
  const b = slo.budgeting;
  const spentOf = (g: number, t: number) => {
    const ratio = g / t;
    return b.method === 'timeslices' ? (ratio >= b.sliceTarget ? 0 : 1) : 1 - ratio;
  };
  const part = (lo: number, hi: number) => spentOf(good[hi]! - good[lo]!, total[hi]! - total[lo]!);
  const byOrigin = new Map<number, Slices>();
  const slicesFrom = (origin: number, sliceMs: number): Slices => {
    const known = byOrigin.get(origin);
    if (known) return known;
    const of = new Int32Array(n);
    const first: number[] = [];
    const end: number[] = [];
    let key = NaN;
    for (let i = 0; i < n; i++) {
      const k = Math.floor((ats[i]! - origin) / sliceMs);
      if (k !== key) {
        if (first.length) end.push(i);
        first.push(i);
        key = k;
      }
      of[i] = first.length - 1;
    }
    if (first.length) end.push(n);
    const spent = new Float64Array(first.length + 1);
    for (let j = 0; j < first.length; j++) spent[j + 1] = spent[j]! + part(first[j]!, end[j]!);
    const s = { of, first, end, spent };
    byOrigin.set(origin, s);
    return s;
  };
  return (from: number, to: number, origin: number): Tally => {
    const lo = after(ats, from);
    const hi = Math.max(lo, after(ats, to));
    const g = good[hi]! - good[lo]!;
    const t = total[hi]! - total[lo]!;
    if (b.method === 'occurrences') return { good: g, total: t, bad: t - g, units: t };
    if (lo === hi) return { good: 0, total: 0, bad: 0, units: 0 };
    const s = slicesFrom(origin, b.sliceMs);
    const sl = s.of[lo]!;
    const sh = s.of[hi - 1]!;
    if (sl === sh) return { good: g, total: t, bad: spentOf(g, t), units: 1 };
    // The first and last slices may be cut by the window; those between are whole.
    const bad = part(lo, s.end[sl]!) + (s.spent[sh]! - s.spent[sl + 1]!) + part(s.first[sh]!, hi);
    return { good: g, total: t, bad, units: sh - sl + 1 };
  };
}

export function budgetSeries(slo: SeriesSlo, events: readonly SliEvent[], now: number, points: number): SeriesPoint[] {
  const instants = seriesInstants(slo, now, points);
  // Exclusion windows leave their events out of every window of every point alike.
  let kept = events;
  if (slo.exclusions && slo.exclusions.length > 0) {
    const intervals = exclusionIntervals(slo.exclusions, seriesReach(slo, instants), now + 1);
    kept = events.filter((e) => intervalAt(intervals, e.at) === undefined);
  }
  const tallyOf = eventIndex(slo, kept);
  return instants.map((at) => {
    const b = budgetFromTallies(slo, at, tallyOf, 0, null);
    return {
      at: new Date(at).toISOString(),
      remaining: b.total === 0 ? null : b.remaining,
      burnRates: Object.fromEntries(b.burnRates.map((r) => [r.window, r.rate])),
      firing: b.alerts.filter((a) => a.firing).map((a) => a.severity),
    };
  });
}
