/**
 * Rollbacks run to the end whatever happened before: each under its own timeout, never under the
 * run's abort signal (stopping a run is what makes its rollbacks urgent), one after the other,
 * and a failing one does not stop the next. A rollback fails when it fails to run or when its
 * tolerance does not hold: a probe with a tolerance placed among the rollbacks is how a file
 * says how to verify them.
 */
import type { Activity } from '../../../core/experiments/types.ts';
import { activityOk, runActivity, type ActivityRun } from './activities.ts';
import type { Providers } from './providers.ts';
import type { Clock } from '../../deps.ts';

export interface RollbackEnv {
  providers: Providers;
  runId: string;
  clock: Clock;
  /** The timeout of a rollback that gives none. */
  timeoutMs: number;
}

export async function runRollbacks(
  rollbacks: readonly Activity[],
  env: RollbackEnv,
  onEach: (r: ActivityRun, ok: boolean) => Promise<void> | void,
): Promise<{ ok: boolean; name: string }[]> {
  const out: { ok: boolean; name: string }[] = [];
  for (const a of rollbacks) {
    let r: ActivityRun;
    try {
      // A signal nobody aborts: only the rollback's own timeout stops it.
      r = await runActivity(a, {
        providers: env.providers,
        runId: env.runId,
        clock: env.clock,
        signal: new AbortController().signal,
        defaultTimeoutMs: env.timeoutMs,
      });
    } catch (e) {
      const now = env.clock.now().getTime();
      const at = new Date(now).toISOString();
      r = {
        activity: a,
        status: 'failed',
        start: at,
        end: at,
        duration: 0,
        exception: e instanceof Error ? e.message : String(e),
        startMs: now,
        endMs: now,
      };
    }
    const ok = activityOk(r);
    out.push({ ok, name: a.name });
    try {
      await onEach(r, ok);
    } catch {
      // Recording is the caller's concern; the next rollback runs regardless.
    }
  }
  return out;
}
