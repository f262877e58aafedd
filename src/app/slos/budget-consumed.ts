/**
 * What an interval (an incident's, say) spent of an SLO's error budget: the events of (from, to]
 * read as the status reads them (runs, signals, or the Prometheus the SLI names) and weighed, period
 * by period, against the budget of each period they fall in (core/slos/budget.ts, consumedBetween). The
 * server offers it to other capabilities as `services.slos.budgetConsumed`.
 */
import { consumedBetween, spendPeriodOf, spendReadStart, type IntervalSpend } from '../../core/slos/budget.ts';
import type { AppDeps } from '../deps.ts';
import { appliedModel } from './apply-slo.ts';
import { prometheusSliEvents } from './prometheus-source.ts';
import { sliEvents } from './slo-status.ts';

export type BudgetConsumed =
  | ({ slo: string; from: string; to: string; state: 'evaluated' } & IntervalSpend)
  /** unknown: its Prometheus could not answer; not-read: an external source Bulwark does not read. `note` says which. */
  | { slo: string; from: string; to: string; state: 'unknown' | 'not-read'; note: string };

const instant = (t: Date | string | number): number => (t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t));

/**
 * The share of SLO `name`'s budget spent in (from, to]; undefined when there is no such SLO.
 * Throws a RangeError when a time is not one or `from` is after `to`.
 */
export async function budgetConsumed(
  deps: Pick<AppDeps, 'store'>,
  name: string,
  fromAt: Date | string | number,
  toAt: Date | string | number,
): Promise<BudgetConsumed | undefined> {
  const from = instant(fromAt);
  const to = instant(toAt);
  if (!Number.isFinite(from) || !Number.isFinite(to))
    throw new RangeError('budgetConsumed: from and to are instants (Date, ISO 8601 or epoch ms)');
  if (from > to) throw new RangeError('budgetConsumed: from is after to');
  const record = await deps.store.slos.get(name);
  if (!record) return undefined;
  const model = appliedModel(record);
  const base = { slo: name, from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  const readStart = spendReadStart(model, from, to);
  if (model.sli.source === 'external') {
    return { ...base, state: 'not-read', note: `its SLI queries a ${model.sli.type} metric source, which Bulwark does not read` };
  }
  if (model.sli.source === 'prometheus') {
    // Windows ending at `to` (nested counts, prometheus.ts): the interval's, and one to each start
    // of a budget period it overlaps, so that each period's events and budget are told apart.
    const starts: number[] = [];
    for (let at = to; at >= readStart && starts.length <= MAX_PROMETHEUS_PERIODS;) {
      const p = spendPeriodOf(model, to, at);
      starts.push(p.start);
      at = p.start - 1;
    }
    if (starts.length > MAX_PROMETHEUS_PERIODS) {
      return {
        ...base,
        state: 'unknown',
        note: `unknown: the interval spans more than ${MAX_PROMETHEUS_PERIODS} budget periods of its SLO; ask for a shorter one`,
      };
    }
    const read = await prometheusSliEvents(
      model.sli,
      [to - from, ...starts.map((s) => to - s)].filter((ms) => ms > 0),
      to,
    );
    if (!read.ok) return { ...base, state: 'unknown', note: `unknown: ${read.why}` };
    return { ...base, state: 'evaluated', ...consumedBetween(model, read.events, from, to) };
  }
  const events = await sliEvents(deps, model, Math.min(from, readStart - 1), to);
  return { ...base, state: 'evaluated', ...consumedBetween(model, events, from, to) };
}

/** The most budget periods an interval read from Prometheus may span (two queries each). */
const MAX_PROMETHEUS_PERIODS = 12;
