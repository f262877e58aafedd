/**
 * Signals resume waiting steps: each new signal (resolutions included) is matched against every
 * `wait` step under way that waits for a signal (`wait: { signal: CEL, timeout }`), in its run's
 * context (`inputs`, `steps`, `trigger`, `run`, and `signal` the new one). A match finishes the
 * step (its outputs: the signal) and makes the run due, in one transaction with its ledger entry;
 * the step moves from running to done by a compare and set, so of two replicas seeing the signal,
 * or a signal and the step's deadline, one wins. Signals received before the wait began do not
 * count. Nothing waits in memory: the waits are rows (store: runningWaits).
 */
import { systemActor } from '../../core/ledger/actor.ts';
import { evaluate } from '../../core/playbooks/expressions.ts';
import type { SignalRecord } from '../../store/signals/port.ts';
import type { AppDeps } from '../deps.ts';
import { versionModel } from './apply-playbook.ts';

/** Waits looked at per signal (the oldest first). */
export const MAX_WAITS_PER_SIGNAL = 1000;

const MATCHER = systemActor('playbooks', 'system');

export interface SignalWaitResult {
  resumed: { run: string; step: string }[];
  /** Waits whose expression failed on this signal (a missing field, a wrong type): not resumed. */
  errors: { run: string; step: string; message: string }[];
}

export function signalView(signal: SignalRecord) {
  return {
    id: signal.id,
    source: signal.source,
    time: signal.time,
    receivedAt: signal.receivedAt,
    severity: signal.severity,
    labels: signal.labels,
    body: signal.body,
    fingerprint: signal.fingerprint,
    resolved: signal.resolved,
  };
}

export async function resumeSignalWaits(deps: AppDeps, signal: SignalRecord): Promise<SignalWaitResult> {
  const out: SignalWaitResult = { resumed: [], errors: [] };
  const view = signalView(signal);
  const waits = await deps.store.playbooks.runningWaits(MAX_WAITS_PER_SIGNAL);
  for (const w of waits) {
    if (w.startedAt !== null && signal.receivedAt < w.startedAt) continue;
    const model = await versionModel(deps.store, w.playbook, w.version);
    const step = model.steps[w.idx];
    if (!step?.waitSignal) continue;
    const run = await deps.store.playbooks.getRun(w.runId);
    if (!run) continue;
    const outputs: Record<string, unknown> = {};
    for (const s of await deps.store.playbooks.steps(run.id)) if (s.state === 'done') outputs[s.stepId] = s.outputs;
    const m = evaluate(step.waitSignal.match, {
      inputs: run.inputs,
      steps: outputs,
      trigger: run.trigger,
      run: { id: run.id, playbook: run.playbook, version: run.version },
      signal: view,
    });
    if (!m.ok) {
      out.errors.push({ run: run.id, step: step.id, message: m.message });
      continue;
    }
    if (m.value !== true) continue;
    const now = deps.clock.now().toISOString();
    const won = await deps.store
      .transaction(async (tx) => {
        // The run first (its row lock orders this against the engine's write on PostgreSQL), then the step's compare and set.
        if (!(await tx.playbooks.updateRun(run.id, { cursor: w.idx + 1, wakeAt: null, updatedAt: now }, { from: ['running', 'paused'] })))
          return false;
        const moved = await tx.playbooks.updateStep(
          run.id,
          w.idx,
          { state: 'done', outputs: { timedOut: false, signal: view }, error: null, finishedAt: now, updatedAt: now },
          ['running'],
        );
        if (!moved) throw new Lost();
        await tx.ledger.append(
          [
            {
              actor: MATCHER,
              kind: 'playbook.step.signal-matched',
              subject: `playbook-run:${run.id}`,
              data: { run: run.id, step: step.id, index: w.idx, signal: signal.id },
            },
            {
              actor: MATCHER,
              kind: 'playbook.step.finished',
              subject: `playbook-run:${run.id}`,
              data: {
                run: run.id,
                step: step.id,
                index: w.idx,
                mode: w.mode,
                outcome: 'done',
                attempt: Math.max(w.attempts, 1),
                error: null,
                retryAt: null,
              },
            },
          ],
          now,
        );
        return true;
      })
      .catch((e: unknown) => {
        if (e instanceof Lost) return false;
        throw e;
      });
    if (won) out.resumed.push({ run: run.id, step: step.id });
  }
  return out;
}

/** The step was moved on (its deadline, another replica) between the look and the write: undone. */
class Lost extends Error {}
