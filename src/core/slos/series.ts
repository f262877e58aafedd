/**
 * An SLO's budget and burn rates over time, for the charts of its page: the status (budget.ts) at
 * evenly spaced instants from the start of the current period (a rolling window: one window back)
 * up to now. Each point is what the status said at that instant, from the events known now. Pure.
 */
import { budgetPeriod, evaluateBudget } from './budget.ts';
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

export function budgetSeries(slo: SeriesSlo, events: readonly SliEvent[], now: number, points: number): SeriesPoint[] {
  const n = Math.max(2, Math.min(MAX_SERIES_POINTS, Math.floor(points)));
  const start = seriesStart(slo, now);
  const step = (now - start) / (n - 1);
  const out: SeriesPoint[] = [];
  for (let i = 0; i < n; i++) {
    const at = i === n - 1 ? now : Math.round(start + i * step);
    const b = evaluateBudget(slo, events, at);
    out.push({
      at: new Date(at).toISOString(),
      remaining: b.total === 0 ? null : b.remaining,
      burnRates: Object.fromEntries(b.burnRates.map((r) => [r.window, r.rate])),
      firing: b.alerts.filter((a) => a.firing).map((a) => a.severity),
    });
  }
  return out;
}
