/**
 * The one abortable wait, on a real timer (node:timers/promises): resolves after `ms`, or rejects
 * with the signal's own reason — not the AbortError that wraps it — when the signal aborts first,
 * so that a stopped run's reason is what its callers see. Used by the runner (pauses, abort-probe
 * intervals, a run's start time, slot polling) and the http provider (retry backoff).
 */
import { setTimeout as wait } from 'node:timers/promises';

export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await wait(Math.max(0, ms), undefined, { signal });
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    throw e;
  }
}
