/**
 * Signals start playbooks: each new signal (not a resolution) is matched against every applied
 * playbook's `trigger.signal`; a match starts a run with the inputs its `from` expressions read
 * from the signal. A signal starts at most one run per playbook (the run's trigger key is the
 * signal id), so a resend or a second replica seeing it starts nothing more.
 */
import { cronMatches } from '../../core/experiments/cron.ts';
import { systemActor } from '../../core/ledger/actor.ts';
import { evaluate } from '../../core/playbooks/expressions.ts';
import type { SignalRecord } from '../../store/signals/port.ts';
import type { AppDeps } from '../deps.ts';
import { modelOf } from './apply-playbook.ts';
import { startRun } from './runs.ts';

export interface TriggerResult {
  started: { playbook: string; run: string }[];
  /** Playbooks whose trigger matched but whose inputs the signal could not fill. */
  refused: { playbook: string; reason: string }[];
}

export async function triggerFromSignal(deps: AppDeps, signal: SignalRecord): Promise<TriggerResult> {
  const out: TriggerResult = { started: [], refused: [] };
  if (signal.resolved) return out;
  const view = {
    id: signal.id,
    source: signal.source,
    time: signal.time,
    receivedAt: signal.receivedAt,
    severity: signal.severity,
    labels: signal.labels,
    body: signal.body,
    fingerprint: signal.fingerprint,
  };
  for (const rec of await deps.store.playbooks.list()) {
    const model = modelOf(rec.file, rec.fileSha256);
    if (!model.trigger.signal) continue;
    const ctx = { inputs: {}, steps: {}, trigger: view, run: { id: '', playbook: rec.name, version: rec.version } };
    const m = evaluate(model.trigger.signal, ctx);
    if (!m.ok || m.value !== true) continue;
    const inputs: Record<string, unknown> = {};
    let reason: string | undefined;
    for (const [name, spec] of Object.entries(model.inputs)) {
      if (!spec.from) continue;
      const v = evaluate(spec.from, ctx);
      if (v.ok) inputs[name] = v.value;
      else reason ??= `input ${name}: ${v.message}`;
    }
    try {
      if (reason) throw new Error(reason);
      const r = await startRun(deps, systemActor('playbooks-trigger'), rec.name, { inputs, trigger: view });
      if ('run' in r && r.started) out.started.push({ playbook: rec.name, run: r.run.id });
    } catch (e) {
      out.refused.push({ playbook: rec.name, reason: (e as Error).message });
    }
  }
  return out;
}

/**
 * Scheduled playbooks: a run for each playbook whose `trigger.schedule` matches the minute `now`
 * is in (UTC). The minute is the run's trigger key, so of several replicas looking in the same
 * minute, or one looking twice, one run starts.
 */
export async function triggerSchedules(deps: AppDeps, now: Date): Promise<TriggerResult> {
  const out: TriggerResult = { started: [], refused: [] };
  const minute = Math.floor(now.getTime() / 60_000) * 60_000;
  const at = new Date(minute).toISOString();
  for (const rec of await deps.store.playbooks.list()) {
    const model = modelOf(rec.file, rec.fileSha256);
    if (!model.trigger.schedule || !cronMatches(model.trigger.schedule.cron, minute)) continue;
    try {
      const r = await startRun(deps, systemActor('playbooks-scheduler', 'scheduler'), rec.name, {
        trigger: { id: `schedule:${at}`, kind: 'schedule', schedule: model.trigger.schedule.source, at },
      });
      if ('run' in r && r.started) out.started.push({ playbook: rec.name, run: r.run.id });
    } catch (e) {
      out.refused.push({ playbook: rec.name, reason: (e as Error).message });
    }
  }
  return out;
}
