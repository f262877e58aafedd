/**
 * The periodic checkpoint: every interval, sign the head if the log grew since the last
 * checkpoint, then publish. Runs one at a time; errors are reported, never thrown.
 */
import type { AppDeps } from '../deps.ts';
import { makeCheckpoint, type Publisher } from './checkpoints.ts';
import type { CheckpointRecord } from '../../store/ledger/port.ts';

export interface CheckpointJob {
  /** Run once now (also what the timer calls). */
  tick(): Promise<CheckpointRecord | undefined>;
  stop(): void;
}

export function startCheckpointJob(
  deps: AppDeps,
  opts: {
    intervalMs: number;
    publishers: readonly Publisher[];
    onCreated?: (c: CheckpointRecord) => void;
    onError?: (e: unknown, during: 'sign' | 'publish') => void;
  },
): CheckpointJob {
  let running: Promise<CheckpointRecord | undefined> | undefined;
  const tick = () =>
    (running ??= (async () => {
      try {
        const r = await makeCheckpoint(deps, { publishers: opts.publishers, onPublishError: (e) => opts.onError?.(e, 'publish') });
        if (r.created) opts.onCreated?.(r.checkpoint);
        return r.created ? r.checkpoint : undefined;
      } catch (e) {
        opts.onError?.(e, 'sign');
        return undefined;
      } finally {
        running = undefined;
      }
    })());
  const timer = opts.intervalMs > 0 ? setInterval(() => void tick(), opts.intervalMs) : undefined;
  timer?.unref();
  return { tick, stop: () => timer && clearInterval(timer) };
}
