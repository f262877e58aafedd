/**
 * Crash recovery: runs whose process died before they were done are found and rolled back. A run
 * is abandoned when its lease expired (no heartbeat for `leaseMs`) or, on this host, when the
 * process named in its lease owner no longer exists — so `bulwark run` right after a `kill -9`
 * need not wait for the lease. Claims are atomic (RunRepo.claimAbandoned), so of two processes
 * recovering at once each run is rolled back by one. The stored rollbacks run, then the run is
 * done with `aborted` (its process died) or `rollback-failed`, decided by decideOutcome.
 *
 * The stored rollbacks are resolved and may hold secret values (so they are stored sealed, and
 * opened here, app/access/sealed-rollbacks.ts); the secret values themselves are not known here, so what recovery adds to the journal and the ledger is names, verdicts and
 * times only, never an activity's definition or output.
 */
import { decideOutcome, type Outcome } from '../../core/experiments/outcome.ts';
import type { Json } from '../../core/ledger/entry.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import { runRollbacks } from './runner/rollbacks.ts';
import { openRollbacks, rollbacksHostBound, rollbacksOpenable } from '../access/sealed-rollbacks.ts';
import { newLeaseOwner, ownerIsDeadHere, ownerIsOnThisHost } from './runner/run-id.ts';
import type { ExperimentDeps, RunProgress } from './run-experiment.ts';
import { systemActor } from '../../core/ledger/actor.ts';

/** Who rolls back a run another process left behind. */
const RECOVERY = systemActor('recovery', 'recovery');

export interface RecoverOptions {
  /** The lease owner name to claim under (default: a new one for this process). */
  owner?: string;
  /** How long a claim holds without renewal (default 15 s); renewed while the rollbacks run. */
  leaseMs?: number;
  rollbackTimeoutMs?: number;
  onProgress?: (p: RunProgress) => void;
}

export interface RecoveredRun {
  runId: string;
  experiment: string;
  outcome: Outcome;
  reason: string;
  /** Who held it before. */
  previousOwner: string | null;
  previousState: string;
}

type RecoverDeps = Pick<ExperimentDeps, 'store' | 'clock' | 'providers' | 'metrics' | 'secretKeys'>;

/** Claim every abandoned run and roll it back; returns what was recovered. */
export async function recoverAbandonedRuns(deps: RecoverDeps, opts: RecoverOptions = {}): Promise<RecoveredRun[]> {
  const owner = opts.owner ?? newLeaseOwner();
  const leaseMs = opts.leaseMs ?? 15_000;
  const until = () => new Date(deps.clock.now().getTime() + leaseMs).toISOString();
  // What each run looked like before the claim (the claim moves it to rolling-back).
  const before = new Map((await deps.store.runs.unfinished()).map((r) => [r.id, r]));
  // A run whose rollbacks act on its host (process, file: the file backups are there too) is
  // rolled back only by a process of that host; the others by anyone.
  // Sealed rollbacks are left to a process that holds their key (a server, not a bare CLI).
  const mine = [...before.values()].filter(
    (r) => rollbacksOpenable(deps.secretKeys, r.rollbacks) && (!hostBound(r) || r.leaseOwner === null || ownerIsOnThisHost(r.leaseOwner)),
  );
  const claimed = await deps.store.runs.claimAbandoned(
    owner,
    deps.clock.now().toISOString(),
    until(),
    mine.map((r) => r.id),
  );
  for (const r of before.values()) {
    if (r.leaseOwner === null || r.leaseOwner === owner || claimed.some((c) => c.id === r.id)) continue;
    if (!rollbacksOpenable(deps.secretKeys, r.rollbacks)) continue;
    if (!ownerIsDeadHere(r.leaseOwner)) continue;
    const c = await deps.store.runs.claimFrom(r.id, r.leaseOwner, owner, until());
    if (c) claimed.push(c);
  }
  const out: RecoveredRun[] = [];
  for (const r of claimed) out.push(await recoverOne(deps, r, before.get(r.id), owner, until, opts));
  return out;
}

/** Whether the run's rollbacks act on the host it ran on: host-bound provider types (process, file). */
export function hostBound(r: RunRecord): boolean {
  return rollbacksHostBound(r.rollbacks);
}

async function recoverOne(
  deps: RecoverDeps,
  run: RunRecord,
  prior: RunRecord | undefined,
  owner: string,
  until: () => string,
  opts: RecoverOptions,
): Promise<RecoveredRun> {
  const progress = (phase: string, message: string) => opts.onProgress?.({ runId: run.id, phase, message });
  const previousOwner = prior?.leaseOwner ?? null;
  const previousState = prior?.state ?? run.state;
  progress(
    'recover',
    `recovering run ${run.id} (${run.experiment}), left ${previousState} by ${previousOwner ?? 'nobody'}: running its rollbacks`,
  );
  const heartbeat = setInterval(
    () => void deps.store.runs.renewLease(run.id, owner, until()).catch(() => undefined),
    Math.max(250, Math.floor((opts.leaseMs ?? 15_000) / 5)),
  );
  heartbeat.unref();
  const records: Json[] = [];
  const events: { name: string; ok: boolean; reason?: string }[] = [];
  try {
    const rollbacks = openRollbacks(deps.secretKeys, run.id, run.rollbacks);
    const results = await runRollbacks(
      rollbacks,
      { providers: deps.providers, runId: run.id, clock: deps.clock, timeoutMs: opts.rollbackTimeoutMs ?? 60_000 },
      (r, ok) => {
        const why = r.exception ?? (r.tolerance_met === false ? r.tolerance_reason : undefined);
        records.push({
          activity: { name: r.activity.name, type: r.activity.type },
          status: r.status,
          start: r.start,
          end: r.end,
          duration: r.duration,
          ok,
          ...(why ? { exception: why } : {}),
        });
        events.push({ name: r.activity.name, ok, ...(why ? { reason: why } : {}) });
        progress('rollback', `rollback '${r.activity.name}': ${ok ? 'ok' : `FAILED${why ? ` (${why})` : ''}`}`);
      },
    );
    const died = `the process running it (${previousOwner ?? 'unknown'}) stopped while the run was ${previousState}; its rollbacks ran at recovery`;
    const decision = decideOutcome({ rollbacks: results, gate: 'skipped', aborted: { reason: died }, detections: [] });
    const now = deps.clock.now().toISOString();
    const journal = recoveredJournal(run.journal, records, {
      outcome: decision.outcome,
      reason: decision.reason,
      owner,
      at: now,
      previousOwner,
      previousState,
    });
    await deps.store.transaction(async (tx) => {
      const ok = await tx.runs.update(run.id, owner, {
        state: 'done',
        outcome: decision.outcome,
        reason: decision.reason,
        endedAt: now,
        leaseUntil: null,
        journal,
      });
      if (!ok) throw new Error(`run ${run.id} was taken by another process during recovery`);
      await tx.ledger.append(
        [
          ...events.map((e) => ({
            actor: RECOVERY,
            kind: 'run.rollback',
            subject: `run:${run.id}`,
            data: { run: run.id, rollback: e.name, ok: e.ok, recovery: true, ...(e.reason ? { reason: e.reason } : {}) },
          })),
          {
            actor: RECOVERY,
            kind: 'run.finished',
            subject: `run:${run.id}`,
            data: {
              run: run.id,
              experiment: run.experiment,
              outcome: decision.outcome,
              reason: decision.reason,
              expectationsMet: false,
              ttdMs: null,
              recovered: true,
            },
          },
        ],
        now,
      );
    });
    deps.metrics?.runFinished({ experiment: run.experiment, outcome: decision.outcome, ttdMs: null });
    progress('recover', `run ${run.id}: ${decision.outcome}: ${decision.reason}`);
    return { runId: run.id, experiment: run.experiment, outcome: decision.outcome, reason: decision.reason, previousOwner, previousState };
  } finally {
    clearInterval(heartbeat);
  }
}

function recoveredJournal(
  stored: Json,
  rollbacks: Json[],
  r: { outcome: string; reason: string; owner: string; at: string; previousOwner: string | null; previousState: string },
): Json {
  const j: { [key: string]: Json } = stored !== null && typeof stored === 'object' && !Array.isArray(stored) ? { ...stored } : {};
  const prior = j['bulwark'];
  const bulwark: { [key: string]: Json } = prior !== null && typeof prior === 'object' && !Array.isArray(prior) ? { ...prior } : {};
  const existing = j['rollbacks'];
  j['rollbacks'] = [...(Array.isArray(existing) ? existing : []), ...rollbacks];
  j['status'] = r.outcome === 'aborted' ? 'aborted' : 'failed';
  j['end'] = r.at;
  bulwark['outcome'] = r.outcome;
  bulwark['reason'] = r.reason;
  bulwark['expectationsMet'] = false;
  bulwark['recovery'] = { by: r.owner, at: r.at, previousOwner: r.previousOwner, previousState: r.previousState };
  j['bulwark'] = bulwark;
  return j;
}
