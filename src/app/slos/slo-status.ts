/**
 * An SLO's status now: its SLI events read from the experiment runs the store holds (through the
 * experiments store port, read only), the budget, burn rates and alerts (core/slos/budget.ts), and
 * the budget policy's state. Prometheus SLIs are read from the Prometheus the file names
 * (prometheus-source.ts); when it cannot answer, the status is unknown, with why, and neither
 * alerts nor the policy act on it. External SLIs (an imported OpenSLO file's queries to another
 * source) have no data here; their rules come from `bulwark slo rules`.
 */
import { alertWindows } from '../../core/slos/alert-windows.ts';
import { budgetPeriod, evaluateBudget, periodLength, type BudgetStatus } from '../../core/slos/budget.ts';
import { evaluatePolicy, type PolicyStatus } from '../../core/slos/policy.ts';
import { runEvent, type RunFacts } from '../../core/slos/run-events.ts';
import { signalEvent, signalFilters } from '../../core/slos/signal-events.ts';
import type { Sli, Slo, SliEvent } from '../../core/slos/types.ts';
import type { SignalCursor } from '../../store/signals/port.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import type { SloRecord } from '../../store/slos/port.ts';
import type { AppDeps } from '../deps.ts';
import { appliedModel } from './apply-slo.ts';
import { incidentFacts } from './incident-facts.ts';
import { prometheusSliEvents } from './prometheus-source.ts';

export interface SloStatus {
  record: SloRecord;
  model: Slo;
  /** null for an external SLI (no data Bulwark can read) and for an unknown one. */
  budget: BudgetStatus | null;
  policy: PolicyStatus | null;
  /** evaluated; unknown (its source could not answer: `note` says why); or not-read (an external source). */
  state: 'evaluated' | 'unknown' | 'not-read';
  note?: string;
}

/** A run as the SLI sees it: its techniques, tags and expected detections from its journal. */
export function runFacts(r: RunRecord): RunFacts {
  const j = (r.journal ?? {}) as { bulwark?: { techniques?: unknown; detections?: unknown[] }; experiment?: { tags?: unknown } };
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    experiment: r.experiment,
    outcome: r.outcome,
    endedAt: r.endedAt,
    dryRun: r.dryRun,
    ttdMs: r.ttdMs,
    techniques: strings(j.bulwark?.techniques),
    tags: strings(j.experiment?.tags),
    detectionsExpected: Array.isArray(j.bulwark?.detections) ? j.bulwark.detections.length : 0,
  };
}

// Runs end after they start: a run ending in the window may have started this much earlier.
const START_SLACK_MS = 86_400_000;
const PAGE = 500;

/** SLI events as read, and whether reading stopped at the cap on rows read before the span was covered. */
export interface SliRead {
  events: SliEvent[];
  capped: boolean;
}

/** The SLI events of a signal SLI from the signals received in (since, now], newest first through the signals port. */
async function signalSliEvents(
  deps: Pick<AppDeps, 'store'>,
  sli: Extract<Sli, { source: 'signals' }>,
  since: number,
  now: number,
  maxRead: number,
): Promise<SliRead> {
  const filters = signalFilters(sli);
  const events: SliEvent[] = [];
  const span = { since: new Date(since).toISOString(), until: new Date(now).toISOString() };
  let read = 0;
  let cursor: SignalCursor | undefined;
  for (;;) {
    const page = await deps.store.signals.list({ limit: Math.min(PAGE, maxRead), ...span, ...(cursor ? { cursor } : {}) });
    for (const s of page.signals) {
      const e = signalEvent(filters, s);
      if (e && e.at > since && e.at <= now) events.push(e);
    }
    read += page.signals.length;
    if (!page.next) break;
    if (read >= maxRead) return { events, capped: true };
    cursor = page.next;
  }
  return { events, capped: false };
}

/** The SLI events of an SLO from the runs that ended (or the signals received) in (since, now]. */
export async function sliEvents(deps: Pick<AppDeps, 'store'>, slo: Slo, since: number, now: number): Promise<SliEvent[]> {
  return (await readSliEvents(deps, slo, since, now, Infinity)).events;
}

/**
 * As sliEvents, reading at most about `maxRead` runs or signals (whole pages): `capped` says the
 * span held more, and the events are then only the newest part of it.
 */
export async function readSliEvents(deps: Pick<AppDeps, 'store'>, slo: Slo, since: number, now: number, maxRead: number): Promise<SliRead> {
  if (slo.sli.source === 'external' || slo.sli.source === 'prometheus') return { events: [], capped: false };
  if (slo.sli.source === 'signals') return signalSliEvents(deps, slo.sli, since, now, maxRead);
  const events: SliEvent[] = [];
  const experiment = slo.sli.select.experiment;
  let read = 0;
  let cursor: { startedAt: string; id: string } | undefined;
  for (;;) {
    const page = await deps.store.runs.list({
      limit: Math.min(PAGE, maxRead),
      ...(experiment ? { experiment } : {}),
      ...(cursor ? { cursor } : {}),
    });
    for (const r of page.runs) {
      const e = runEvent(slo.sli, runFacts(r));
      if (e && e.at > since && e.at <= now) events.push(e);
    }
    read += page.runs.length;
    const last = page.runs.at(-1);
    if (!page.next || !last || Date.parse(last.startedAt) < since - START_SLACK_MS) break;
    if (read >= maxRead) return { events, capped: true };
    cursor = page.next;
  }
  return { events, capped: false };
}

/**
 * The SLO's status now. Restricted incidents are left out of its postmortem clause unless
 * `seesRestricted` (a caller holding incidents:restricted), and then counted, not named.
 */
export async function sloStatus(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  record: SloRecord,
  opts: { seesRestricted?: boolean } = {},
): Promise<SloStatus> {
  const model = appliedModel(record);
  const now = deps.clock.now().getTime();
  if (model.sli.source === 'external') {
    return {
      record,
      model,
      budget: null,
      policy: null,
      state: 'not-read',
      note: `its SLI queries a ${model.sli.type} metric source, which Bulwark does not read yet; evaluate it in Prometheus with the rules of "bulwark slo rules"`,
    };
  }
  const pairs = alertWindows(model.alerting.strategy, periodLength(model, now));
  const longest = Math.max(...pairs.map((w) => w.longMs));
  const period = budgetPeriod(model, now);
  let events: SliEvent[];
  if (model.sli.source === 'prometheus') {
    const read = await prometheusSliEvents(model.sli, [...pairs.flatMap((p) => [p.shortMs, p.longMs]), now - period.start], now);
    if (!read.ok) return { record, model, budget: null, policy: null, state: 'unknown', note: `unknown: ${read.why}` };
    events = read.events;
  } else {
    events = await sliEvents(deps, model, Math.min(period.start, now - longest) - 1, now);
  }
  const budget = evaluateBudget(model, events, now);
  const incidents =
    model.policy?.postmortemBelow !== undefined || model.policy?.postmortemAbove !== undefined
      ? await incidentFacts(
          deps,
          period.start,
          opts.seesRestricted === true,
          model.policy.postmortemAbove !== undefined ? model.name : undefined,
        )
      : undefined;
  return { record, model, budget, policy: evaluatePolicy(model.policy, budget, model.owner, incidents), state: 'evaluated' };
}
