/**
 * The error budget of an SLO at an instant, from its events: the SLI, the budget consumed and
 * remaining, the burn rate per alert window, time to exhaustion and the multiwindow alerts.
 * Pure: the instant is an argument. Nothing here is ever NaN or infinite: a window without events
 * has no SLI and no burn rate (null), and alerts need `alerting.minEvents` events in their long
 * window, so a quiet SLO neither divides by zero nor pages anyone on one bad run.
 *
 * Budgeting methods (OpenSLO's):
 * - occurrences: the budget is (1 − objective) × the events of the period; consumed = bad ÷ that.
 * - timeslices: the period is cut into slices (from its start; rolling windows from the epoch); a
 *   slice with events is good when its ratio reaches the slice target. The budget is
 *   (1 − objective) × the slices of the whole period (time is what is budgeted, so a slice without
 *   events spends nothing); consumed = bad slices ÷ that.
 * - ratio-timeslices: as timeslices, each slice with events spending its own bad ratio.
 *
 * Burn rate over a window: its error rate (bad ÷ total events, or bad share of its slices with
 * events) ÷ (1 − objective): 1 spends exactly the budget over the period.
 */
import { alertWindows, type AlertWindow, type WindowsSpec } from './alert-windows.ts';
import { calendarPeriod } from './calendar.ts';
import { formatPromDuration } from './duration.ts';
import { exclusionIntervals, intervalAt } from './exclusions.ts';
import type { Exclusion, Slo, SliEvent } from './types.ts';

export interface BurnRate {
  window: string;
  ms: number;
  /** null when the window holds no event. */
  rate: number | null;
  events: number;
}

export interface AlertState {
  severity: 'page' | 'ticket';
  firing: boolean;
  /** Why it fires or not, one line. */
  why: string;
  pairs: { shortWindow: string; longWindow: string; factor: number; firing: boolean }[];
}

export interface BudgetStatus {
  period: { start: string; end: string; ms: number };
  good: number;
  total: number;
  /** Good ÷ total over the period (slices with events for timeslices); null without events. */
  sli: number | null;
  objective: number;
  /** 1 − objective. */
  errorBudget: number;
  /** Share of the budget spent (may pass 1). */
  consumed: number;
  /** 1 − consumed (negative when overspent). */
  remaining: number;
  burnRates: BurnRate[];
  /** At the burn rate of the fast page pair's long window; null when not burning; 0 when spent. */
  timeToExhaustionMs: number | null;
  /** Whether the period has at least alerting.minEvents events. */
  enoughData: boolean;
  alerts: AlertState[];
  /** Events of the period left out because they fell in an exclusion window (their total). */
  excluded: number;
  /** The exclusion window in effect at the instant, if any: its name and when it ends. */
  exclusion: { name: string; until: string } | null;
}

type MathSlo = Pick<Slo, 'objective' | 'window' | 'budgeting' | 'alerting'> & { exclusions?: readonly Exclusion[] };

/** The period [start, end) the budget covers at `now`: the last window's length, or the calendar period. */
export function budgetPeriod(slo: Pick<Slo, 'window'>, now: number): { start: number; end: number } {
  if (slo.window.kind === 'rolling') return { start: now - slo.window.ms, end: now };
  return calendarPeriod(slo.window, now);
}

/** The length that scales the alert factors and time to exhaustion: the window's, or the current calendar period's. */
export function periodLength(slo: Pick<Slo, 'window'>, now: number): number {
  const p = budgetPeriod(slo, now);
  return p.end - p.start;
}

export interface Tally {
  good: number;
  total: number;
  /** Bad share spent, in units of the method: events, or slices. */
  bad: number;
  /** Units with data: events, or slices with events. */
  units: number;
}

/** Events in (from, to], sorted or not. */
function tally(slo: MathSlo, events: readonly SliEvent[], from: number, to: number, sliceOrigin: number): Tally {
  let good = 0;
  let total = 0;
  const slices = new Map<number, { good: number; total: number }>();
  const b = slo.budgeting;
  for (const e of events) {
    if (!(e.at > from && e.at <= to) || e.total <= 0) continue;
    const g = Math.min(Math.max(e.good, 0), e.total);
    good += g;
    total += e.total;
    if (b.method !== 'occurrences') {
      const k = Math.floor((e.at - sliceOrigin) / b.sliceMs);
      const s = slices.get(k) ?? { good: 0, total: 0 };
      s.good += g;
      s.total += e.total;
      slices.set(k, s);
    }
  }
  if (b.method === 'occurrences') return { good, total, bad: total - good, units: total };
  let bad = 0;
  for (const s of slices.values()) {
    const ratio = s.good / s.total;
    bad += b.method === 'timeslices' ? (ratio >= b.sliceTarget ? 0 : 1) : 1 - ratio;
  }
  return { good, total, bad, units: slices.size };
}

/**
 * The events of (from, to] tallied with slices counted from `sliceOrigin`: a scan of the events
 * (evaluateBudget) or an index over sorted events (series.ts), which must give the same tally.
 */
export type Tallier = (from: number, to: number, sliceOrigin: number) => Tally;

/** The SLO's budget and alerts at `now` from its events. */
export function evaluateBudget(slo: MathSlo, all: readonly SliEvent[], now: number, windows?: WindowsSpec): BudgetStatus {
  const { start, end } = budgetPeriod(slo, now);
  const pairs = alertWindows(slo.alerting.strategy, end - start, windows);
  // Exclusion windows: their events leave the budget and every burn-rate window alike.
  let events = all;
  let excluded = 0;
  let exclusion: BudgetStatus['exclusion'] = null;
  if (slo.exclusions && slo.exclusions.length > 0) {
    const earliest = Math.min(start, now - Math.max(...pairs.map((p) => p.longMs)));
    const intervals = exclusionIntervals(slo.exclusions, earliest, now + 1);
    events = all.filter((e) => {
      const out = intervalAt(intervals, e.at) !== undefined;
      if (out && e.at >= start && e.at <= now && e.total > 0) excluded += e.total;
      return !out;
    });
    const active = intervalAt(intervals, now);
    if (active) exclusion = { name: active.name, until: new Date(active.end).toISOString() };
  }
  return budgetFromTallies(slo, now, (from, to, origin) => tally(slo, events, from, to, origin), excluded, exclusion, windows);
}

/**
 * The budget and alerts at `now` from a tallier over the events left after exclusions (`excluded`
 * and `exclusion` are what the exclusions left out and the one in effect).
 */
export function budgetFromTallies(
  slo: MathSlo,
  now: number,
  tallyOf: Tallier,
  excluded: number,
  exclusion: BudgetStatus['exclusion'],
  windows?: WindowsSpec,
): BudgetStatus {
  const { start, end } = budgetPeriod(slo, now);
  const periodMs = end - start;
  const errorBudget = 1 - slo.objective;
  const origin = slo.window.kind === 'calendar' ? start : 0;
  const { pairs, spans, names } = windowPlan(slo.alerting.strategy, periodMs, windows);
  // Budgets count up to now: a calendar period's future holds no events yet.
  const whole = tallyOf(start - 1, now, origin);
  const b = slo.budgeting;
  const budgetUnits = b.method === 'occurrences' ? whole.total : periodMs / b.sliceMs;
  const consumed = budgetUnits > 0 && whole.units > 0 ? whole.bad / (errorBudget * budgetUnits) : 0;
  const sli = whole.units === 0 ? null : b.method === 'occurrences' ? whole.good / whole.total : 1 - whole.bad / whole.units;

  const rateOf = new Map<number, BurnRate>();
  for (let i = 0; i < spans.length; i++) {
    const ms = spans[i]!;
    const t = tallyOf(now - ms, now, origin);
    rateOf.set(ms, { window: names[i]!, ms, rate: t.units === 0 ? null : t.bad / t.units / errorBudget, events: t.total });
  }
  const burnRates = [
    ...rateOf.values(),
    { window: names[spans.length]!, ms: periodMs, rate: sli === null ? null : (1 - sli) / errorBudget, events: whole.total },
  ];

  const fastLong = rateOf.get(pairs[0]!.longMs)!.rate;
  const remaining = 1 - consumed;
  const timeToExhaustionMs = remaining <= 0 ? 0 : fastLong === null || fastLong <= 0 ? null : (remaining * periodMs) / fastLong;

  const alerts = (['page', 'ticket'] as const)
    .filter((severity) => slo.alerting[severity])
    .map((severity) => alertState(severity, pairs, rateOf, slo.alerting.minEvents));
  return {
    period: { start: new Date(start).toISOString(), end: new Date(end).toISOString(), ms: periodMs },
    good: whole.good,
    total: whole.total,
    sli,
    objective: slo.objective,
    errorBudget,
    consumed,
    remaining,
    burnRates,
    timeToExhaustionMs,
    enoughData: whole.total >= slo.alerting.minEvents,
    alerts,
    excluded,
    exclusion,
  };
}

/** What an interval spent of one budget period it overlaps. */
export interface PeriodSpend {
  /** The period: a calendar period, or for a rolling window one window's length, counted back from `to`. */
  start: string;
  end: string;
  /** Bad units (events, or slices' spent share) of the interval in this period. */
  bad: number;
  /** Events of the interval in this period (their total). */
  events: number;
  /** The period's error budget in the method's units: (1 − objective) × its events up to `to`, or × its slices. */
  budget: number;
  /** bad ÷ budget: 0 when there is no budget. */
  consumed: number;
}

/** What an interval spent of its SLO's budget (consumedBetween). */
export interface IntervalSpend {
  /** The budget period that holds `to`. */
  period: { start: string; end: string };
  /** Bad units (events, or slices' spent share) in (from, to], exclusions left out. */
  bad: number;
  /** Events in (from, to] (their total), exclusions left out. */
  events: number;
  /** The sum over `periods` of each period's bad ÷ that period's budget: 0 without bad events; never NaN or infinite. */
  consumed: number;
  /** Each budget period the interval's events fall in, oldest first (periods without its events are left out). */
  periods: PeriodSpend[];
}

/**
 * The budget periods of an SLO, as the interval math cuts time: a calendar window's periods, or
 * for a rolling window tiles of its length counted back from `to` ([to − ms, to] first, then
 * [to − 2ms, to − ms), …) so that the tile holding `to` is the status's period at `to`.
 */
export function spendPeriodOf(slo: Pick<Slo, 'window'>, to: number, at: number): { start: number; end: number } {
  if (slo.window.kind === 'calendar') return calendarPeriod(slo.window, at);
  const ms = slo.window.ms;
  const d = to - at;
  const k = d <= ms ? 0 : Math.ceil(d / ms) - 1;
  return { start: to - (k + 1) * ms, end: to - k * ms };
}

/** Whether `at` (≤ to) is in the period [start, end), or [start, to] for a rolling window's tile that ends at `to`. */
const inPeriod = (rolling: boolean, p: { start: number; end: number }, at: number, to: number) =>
  at >= p.start && (at < p.end || (rolling && p.end === to && at === to));

/** The start of the earliest budget period the interval (from, to] overlaps: where its events must be read from. */
export function spendReadStart(slo: Pick<Slo, 'window'>, from: number, to: number): number {
  return spendPeriodOf(slo, to, Math.min(from + 1, to)).start;
}

/**
 * The share of the budget that the events of (from, to] spent, period by period: the interval is
 * cut at the budget periods it overlaps (calendar periods, or for rolling windows tiles of the
 * window's length counted back from `to`), the events of each piece are weighed against that
 * period's own error budget — for occurrences (1 − objective) × the period's events up to `to`
 * (all of them for a period that has ended), for timeslices (1 − objective) × the period's slices
 * — and the shares are summed. An interval inside one period spends what the status says of it
 * (from the period's start, exactly the status's `consumed` at `to`); an interval across a
 * boundary spends each side against its own period, so a new period's first events do not weigh
 * the old period's bad events against a near-empty budget. A slice cut by `from` or a period's
 * edge counts with its events inside. No bad events: 0; never NaN or infinite. Pure.
 */
export function consumedBetween(slo: MathSlo, all: readonly SliEvent[], from: number, to: number): IntervalSpend {
  const last = budgetPeriod(slo, to);
  const period = { start: new Date(last.start).toISOString(), end: new Date(last.end).toISOString() };
  const errorBudget = 1 - slo.objective;
  if (!(from < to)) return { period, bad: 0, events: 0, consumed: 0, periods: [] };
  const readStart = spendReadStart(slo, from, to);
  let events = all;
  if (slo.exclusions && slo.exclusions.length > 0) {
    const intervals = exclusionIntervals(slo.exclusions, Math.min(readStart, from), to + 1);
    events = all.filter((e) => intervalAt(intervals, e.at) === undefined);
  }
  const b = slo.budgeting;
  interface Acc {
    p: { start: number; end: number };
    periodTotal: number;
    bad: number;
    events: number;
    slices: Map<number, { good: number; total: number }>;
  }
  const byStart = new Map<number, Acc>();
  let cached: Acc | undefined;
  for (const e of events) {
    if (!(e.at >= readStart && e.at <= to) || !(e.total > 0)) continue;
    let acc = cached && inPeriod(slo.window.kind === 'rolling', cached.p, e.at, to) ? cached : undefined;
    if (!acc) {
      const p = spendPeriodOf(slo, to, e.at);
      acc = byStart.get(p.start);
      if (!acc) byStart.set(p.start, (acc = { p, periodTotal: 0, bad: 0, events: 0, slices: new Map() }));
      cached = acc;
    }
    acc.periodTotal += e.total;
    if (!(e.at > from)) continue;
    const g = Math.min(Math.max(e.good, 0), e.total);
    acc.events += e.total;
    if (b.method === 'occurrences') {
      acc.bad += e.total - g;
    } else {
      const origin = slo.window.kind === 'calendar' ? acc.p.start : 0;
      const k = Math.floor((e.at - origin) / b.sliceMs);
      const s = acc.slices.get(k) ?? { good: 0, total: 0 };
      s.good += g;
      s.total += e.total;
      acc.slices.set(k, s);
    }
  }
  const periods: PeriodSpend[] = [];
  let bad = 0;
  let total = 0;
  let consumed = 0;
  for (const acc of [...byStart.values()].sort((x, y) => x.p.start - y.p.start)) {
    if (acc.events === 0) continue;
    if (b.method !== 'occurrences') {
      for (const s of acc.slices.values()) {
        const ratio = s.good / s.total;
        acc.bad += b.method === 'timeslices' ? (ratio >= b.sliceTarget ? 0 : 1) : 1 - ratio;
      }
    }
    const units = b.method === 'occurrences' ? acc.periodTotal : (acc.p.end - acc.p.start) / b.sliceMs;
    const budget = errorBudget * units;
    const share = budget > 0 && Number.isFinite(budget) ? acc.bad / budget : 0;
    periods.push({
      start: new Date(acc.p.start).toISOString(),
      end: new Date(acc.p.end).toISOString(),
      bad: acc.bad,
      events: acc.events,
      budget,
      consumed: share,
    });
    bad += acc.bad;
    total += acc.events;
    consumed += share;
  }
  return { period, bad, events: total, consumed, periods };
}

export interface WindowPlan {
  pairs: AlertWindow[];
  /** The alert windows' distinct lengths, shortest first. */
  spans: number[];
  /** Each span's name as Prometheus prints it, then the period's. */
  names: string[];
  longest: number;
}
const plans = new Map<string, WindowPlan>();
const specIds = new WeakMap<WindowsSpec, number>();
let nextSpecId = 1;

/** The alert windows of a strategy and period, computed once (statuses are evaluated often, with few periods). */
export function windowPlan(strategy: Slo['alerting']['strategy'], periodMs: number, windows?: WindowsSpec): WindowPlan {
  let spec = 0;
  if (windows) {
    spec = specIds.get(windows) ?? specIds.set(windows, nextSpecId++).get(windows)!;
  }
  const key = `${strategy}:${periodMs}:${spec}`;
  let plan = plans.get(key);
  if (!plan) {
    const pairs = alertWindows(strategy, periodMs, windows);
    const spans = [...new Set(pairs.flatMap((p) => [p.shortMs, p.longMs]))].sort((a, x) => a - x);
    plan = { pairs, spans, names: [...spans, periodMs].map(formatPromDuration), longest: spans.at(-1)! };
    // Calendar periods vary in length by a few hours at most; the cache stays small, but is bounded.
    if (plans.size > 1000) plans.clear();
    plans.set(key, plan);
  }
  return plan;
}

function alertState(severity: 'page' | 'ticket', all: AlertWindow[], rateOf: Map<number, BurnRate>, minEvents: number): AlertState {
  const mine = all.filter((p) => p.severity === severity);
  const states = mine.map((p) => {
    const s = rateOf.get(p.shortMs)!;
    const l = rateOf.get(p.longMs)!;
    const enough = l.events >= minEvents;
    const firing = enough && s.rate !== null && l.rate !== null && s.rate > p.factor && l.rate > p.factor;
    return { p, s, l, enough, firing };
  });
  const fired = states.find((x) => x.firing);
  const why = fired
    ? `burn rate ${fixed(fired.s.rate!)} over ${fired.s.window} and ${fixed(fired.l.rate!)} over ${fired.l.window}, both above ${fixed(fired.p.factor)}`
    : states.every((x) => !x.enough)
      ? `fewer than ${minEvents} events in ${states.map((x) => x.l.window).join(' and ')}: not enough to alert`
      : `burn rates below ${states.map((x) => `${fixed(x.p.factor)} (${x.s.window}/${x.l.window})`).join(' and ')}`;
  return {
    severity,
    firing: fired !== undefined,
    why,
    pairs: states.map((x) => ({ shortWindow: x.s.window, longWindow: x.l.window, factor: x.p.factor, firing: x.firing })),
  };
}

const fixed = (n: number) => (Math.round(n * 100) / 100).toString();
