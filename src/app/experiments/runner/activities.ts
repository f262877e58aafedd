/**
 * One activity run: pauses, the provider call under a timeout, and the tolerance judged over its
 * result, recorded the way a Chaos Toolkit journal records it. An abort of the run is not a
 * failure of the activity: it propagates, and the runner decides what the run became.
 */
import { evaluateTolerance } from '../../../core/experiments/tolerance.ts';
import type { Activity } from '../../../core/experiments/types.ts';
import { runProvider, type Providers } from './providers.ts';
import { sleep } from '../../sleep.ts';
import type { Clock } from '../../deps.ts';

export interface ActivityEnv {
  providers: Providers;
  runId: string;
  /** Where the activity's times (start, end, when its fault was sent) are read. */
  clock: Clock;
  /** The run's (or the rollback's) signal: when it aborts, the activity stops and the abort propagates. */
  signal: AbortSignal;
  /** The timeout of an activity that gives none. */
  defaultTimeoutMs?: number;
  /** Called with the clock's time when the provider says the fault left (see ProviderContext.sent). */
  onSent?: (atMs: number) => void;
  /**
   * Whether the activity's `pauses.after` is slept here (the default). The method passes false
   * and pauses itself once it has recorded the run, so that a stop during the pause does not lose
   * the record of what was already sent.
   */
  pauseAfter?: boolean;
}

/** An entry of a Chaos Toolkit journal's `run`, `rollbacks` or `steady_states.*.probes`, plus times in ms. */
export interface ActivityRun {
  activity: Activity;
  status: 'succeeded' | 'failed';
  start: string;
  end: string;
  /** Seconds, as Chaos Toolkit writes it. */
  duration: number;
  output?: unknown;
  exception?: string;
  tolerance_met?: boolean;
  /** Why the tolerance held or not, in words. */
  tolerance_reason?: string;
  startMs: number;
  endMs: number;
  /** When the fault left Bulwark, if the provider said so. */
  sentAtMs?: number;
}

/** Whether a run of the activity counts as good: it succeeded and its tolerance, if any, held. */
export const activityOk = (r: ActivityRun): boolean => r.status === 'succeeded' && r.tolerance_met !== false;

/** What a probe used as a tolerance says when it has no tolerance of its own. */
function resultIsGood(output: unknown): boolean {
  if (output !== null && typeof output === 'object' && 'status' in output) {
    const status = output.status;
    if (typeof status === 'number') return 'stdout' in output ? status === 0 : status < 400;
  }
  return Boolean(output);
}

export async function runActivity(a: Activity, env: ActivityEnv): Promise<ActivityRun> {
  if (a.pauses.beforeMs) await sleep(a.pauses.beforeMs, env.signal);
  const record = await callProvider(a, env);
  if (record.status === 'succeeded' && a.tolerance) {
    if (a.tolerance.kind === 'probe') {
      const probe = await runActivity(a.tolerance.probe, { ...env, onSent: undefined, pauseAfter: true });
      const ok = probe.status === 'succeeded' && (probe.tolerance_met ?? resultIsGood(probe.output));
      record.tolerance_met = ok;
      record.tolerance_reason = ok
        ? `probe '${a.tolerance.probe.name}' held`
        : `probe '${a.tolerance.probe.name}' ${probe.exception ? `failed: ${probe.exception}` : (probe.tolerance_reason ?? 'did not hold')}`;
    } else {
      const t = evaluateTolerance(a.tolerance, record.output);
      record.tolerance_met = t.ok;
      record.tolerance_reason = t.reason;
    }
  }
  if (a.pauses.afterMs && env.pauseAfter !== false) await sleep(a.pauses.afterMs, env.signal);
  return record;
}

async function callProvider(a: Activity, env: ActivityEnv): Promise<ActivityRun> {
  const timeoutMs = a.timeoutMs ?? env.defaultTimeoutMs;
  const timeout = timeoutMs !== undefined ? AbortSignal.timeout(timeoutMs) : undefined;
  const signal = timeout ? AbortSignal.any([env.signal, timeout]) : env.signal;
  const nowMs = () => env.clock.now().getTime();
  const startMs = nowMs();
  let sentAtMs: number | undefined;
  const done = (fields: Partial<ActivityRun>): ActivityRun => {
    const endMs = nowMs();
    return {
      activity: a,
      status: 'succeeded',
      start: new Date(startMs).toISOString(),
      end: new Date(endMs).toISOString(),
      duration: (endMs - startMs) / 1000,
      startMs,
      endMs,
      ...(sentAtMs !== undefined ? { sentAtMs } : {}),
      ...fields,
    };
  };
  try {
    const output = await runProvider(env.providers, a.provider, {
      runId: env.runId,
      signal,
      sent: () => {
        if (sentAtMs !== undefined) return;
        sentAtMs = nowMs();
        env.onSent?.(sentAtMs);
      },
    });
    return done({ output });
  } catch (e) {
    if (env.signal.aborted) throw env.signal.reason;
    const message = timeout?.aborted ? `did not finish within ${timeoutMs} ms` : e instanceof Error ? e.message : String(e);
    return done({ status: 'failed', exception: message });
  }
}
