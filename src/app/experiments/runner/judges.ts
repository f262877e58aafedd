/**
 * The verdicts a run needs besides detections: whether the injections were blocked, and the
 * abort conditions watched while the run goes on.
 */
import { evaluateTolerance } from '../../../core/experiments/tolerance.ts';
import type { Activity, Tolerance } from '../../../core/experiments/types.ts';
import { sleep } from '../../sleep.ts';
import { activityOk, runActivity, type ActivityEnv, type ActivityRun } from './activities.ts';

export interface BlockedVerdict {
  held: boolean;
  results: { activity: string; ok: boolean; reason: string }[];
}

/**
 * `expect.blocked`: every injection's result meets the tolerance, within `withinMs` of its
 * sending when given. An injection that failed to run was not blocked; no injection, no block.
 */
export async function judgeBlocked(
  injected: readonly ActivityRun[],
  b: { tolerance: Tolerance; withinMs?: number },
  env: Omit<ActivityEnv, 'onSent'>,
): Promise<BlockedVerdict> {
  const results: BlockedVerdict['results'] = [];
  for (const r of injected) {
    let res: { ok: boolean; reason: string };
    if (r.status === 'failed') res = { ok: false, reason: `the injection failed: ${r.exception}` };
    else if (b.tolerance.kind === 'probe') {
      const p = await runActivity({ ...r.activity, tolerance: b.tolerance }, env);
      res = { ok: p.tolerance_met === true, reason: p.tolerance_reason ?? '' };
    } else res = evaluateTolerance(b.tolerance, r.output);
    const took = r.endMs - (r.sentAtMs ?? r.startMs);
    if (res.ok && b.withinMs !== undefined && took > b.withinMs)
      res = { ok: false, reason: `answered after ${took} ms, more than ${b.withinMs} ms` };
    results.push({ activity: r.activity.name, ...res });
  }
  return { held: results.length > 0 && results.every((r) => r.ok), results };
}

/**
 * Run an abort probe every `everyMs` until `env.signal` aborts; the first run that fails calls
 * `trip` with the reason and ends the watch. Each run is handed to `onRun` (the journal's `during`).
 */
export async function watchAbortCondition(
  probe: Activity,
  everyMs: number,
  env: Omit<ActivityEnv, 'onSent' | 'defaultTimeoutMs'>,
  onRun: (r: ActivityRun) => void,
  trip: (reason: string) => void,
): Promise<void> {
  for (;;) {
    try {
      await sleep(everyMs, env.signal);
    } catch {
      return;
    }
    let r: ActivityRun;
    try {
      r = await runActivity(probe, { ...env, defaultTimeoutMs: Math.max(everyMs, 1000) });
    } catch {
      return;
    }
    onRun(r);
    if (!activityOk(r)) {
      trip(`abort condition '${probe.name}' tripped: ${r.exception ?? r.tolerance_reason ?? 'failed'}`);
      return;
    }
  }
}
