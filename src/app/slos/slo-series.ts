/**
 * The series behind an SLO page's charts (core/slos/series.ts), from the same events as its
 * status: runs or signals read once over the span the points need. Prometheus SLIs have none here
 * (each point would be a round of queries): Prometheus graphs its own series.
 */
import { alertWindows } from '../../core/slos/alert-windows.ts';
import { periodLength } from '../../core/slos/budget.ts';
import { budgetSeries, seriesStart, type SeriesPoint } from '../../core/slos/series.ts';
import type { SloRecord } from '../../store/slos/port.ts';
import type { AppDeps } from '../deps.ts';
import { appliedModel } from './apply-slo.ts';
import { readSliEvents } from './slo-status.ts';

/**
 * At most this many runs or signals are read for one series: the span is two periods, and a
 * signal SLI reads every signal received in it. Past it the series is refused with a note rather
 * than drawn from part of the events.
 */
export const MAX_SERIES_READ = 100_000;

export interface SloSeries {
  from: string;
  to: string;
  points: SeriesPoint[];
  /** Why there are no points, when there are none. */
  note: string | null;
}

export async function sloSeries(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  record: SloRecord,
  points: number,
  maxRead: number = MAX_SERIES_READ,
): Promise<SloSeries> {
  const model = appliedModel(record);
  const now = deps.clock.now().getTime();
  const from = seriesStart(model, now);
  const span = { from: new Date(from).toISOString(), to: new Date(now).toISOString() };
  if (model.sli.source === 'external' || model.sli.source === 'prometheus') {
    const why =
      model.sli.source === 'prometheus'
        ? 'its SLI is read from Prometheus: graph the same queries there (the status is current)'
        : `its SLI queries a ${model.sli.type} metric source, which Bulwark does not read`;
    return { ...span, points: [], note: why };
  }
  // The first point looks back over a whole period and the longest alert window.
  const longest = Math.max(...alertWindows(model.alerting.strategy, periodLength(model, from)).map((w) => w.longMs));
  const since = Math.min(from - periodLength(model, from), from - longest) - 1;
  const read = await readSliEvents(deps, model, since, now, maxRead);
  if (read.capped) {
    const what = model.sli.source === 'signals' ? 'signals were received' : 'runs were recorded';
    return {
      ...span,
      points: [],
      note: `too many events to chart: more than ${maxRead} ${what} over the span the series needs; narrow the SLI (or shorten its window). The status is still current`,
    };
  }
  return { ...span, points: budgetSeries(model, read.events, now, points), note: null };
}
