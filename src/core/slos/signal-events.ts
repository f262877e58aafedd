/**
 * SLI events from signals: a signal matching the SLI's `total` expression is an event at its
 * receipt by Bulwark, good when it matches `good` too. Both are CEL over `signal` (the same
 * fields and evaluation as experiment detections, core/experiments/cel.ts); an expression that
 * errors on a signal is a non-match. A resolution (an Alertmanager alert's `resolved`) is not an
 * event: it reports that something stopped, not that something was seen. Pure.
 */
import { compileCel, matchSignal, type CelProgram, type CelSignal } from '../experiments/cel.ts';
import type { Sli, SliEvent } from './types.ts';

export interface SignalFilters {
  good: CelProgram;
  total: CelProgram;
}

/** The compiled filters of a signal SLI; they compiled when the file was read, so a failure here is a bug. */
export function signalFilters(sli: Extract<Sli, { source: 'signals' }>): SignalFilters {
  const good = compileCel(sli.good);
  const total = compileCel(sli.total);
  if (!good.ok || !total.ok)
    throw new Error(`a signal SLI no longer compiles: ${good.ok ? '' : good.message} ${total.ok ? '' : total.message}`);
  return { good: good.program, total: total.program };
}

const NO_RUN = { id: '' };

/** The event a signal gives the SLI, or undefined when it is not one of its events. */
export function signalEvent(f: SignalFilters, signal: CelSignal & { resolved?: boolean }): SliEvent | undefined {
  if (signal.resolved) return undefined;
  const at = typeof signal.receivedAt === 'number' ? signal.receivedAt : Date.parse(signal.receivedAt);
  if (!Number.isFinite(at)) return undefined;
  if (!matchSignal(f.total, signal, NO_RUN).matched) return undefined;
  return { at, good: matchSignal(f.good, signal, NO_RUN).matched ? 1 : 0, total: 1 };
}
