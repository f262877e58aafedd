/**
 * Runs of applied experiments on a server: started in the background of this process through
 * one runner (run-experiment.ts, which owns the per-target concurrency limit and the lease), each
 * with its own AbortController so that a person can stop one run or every run, and closed on
 * shutdown by aborting what runs and waiting for the rollbacks. A run is recorded under the
 * experiment's name (its title is replaced by the name for the runner), so the history of an
 * experiment follows its name across versions whose titles differ.
 *
 * The server's own environment is never handed to experiment files: `{type: env}` values come
 * from the run's `vars` or their defaults, so that an applied file cannot read the server's
 * secrets into the requests it sends.
 *
 * With `recoverEveryMs`, the manager also looks for abandoned runs periodically (recover.ts), so
 * that a run left behind by another process that died (a replica, a `bulwark run`) is rolled back
 * without waiting for a restart. Those sweeps claim under a lease owner of their own rather than
 * the runner's: a run of this runner whose lease expired is then taken from it the way another
 * process would take it, so the runner sees its lease lost and stops, instead of going on while
 * its rollbacks run beside it.
 */
import { conflict, DomainError, notFound } from '../../core/errors.ts';
import { redactSecrets, resolveConfiguration } from '../../core/experiments/configuration.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import { checkPrivileged, getExperiment, parseApplied } from './apply-experiment.ts';
import { recoverAbandonedRuns, type RecoveredRun } from './recover.ts';
import { newLeaseOwner } from './runner/run-id.ts';
import {
  createExperimentRunner,
  openSealedSecrets,
  type ActiveRun,
  type ExperimentDeps,
  type ExperimentRunner,
  type RunnerOptions,
  type RunResult,
} from './run-experiment.ts';
import { EMPTY_SERVER_POLICY, type ServerPolicy } from './server-policy.ts';
import { systemActor, type Actor } from '../../core/ledger/actor.ts';

export interface RunManagerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RunManagerOptions extends Omit<RunnerOptions, 'policy'> {
  /** The server's allow-lists for process and file providers (empty: refused). */
  policy?: ServerPolicy;
  log?: RunManagerLog;
  /**
   * Look for abandoned runs every this many ms, besides recover() at start (default: never).
   * One sweep at a time; the timer does not keep the process alive and stops on close().
   */
  recoverEveryMs?: number;
  /**
   * How often to look for a stop-all given on another replica (default 1 s; 0: never). The stop
   * is kept in the database, so every server sharing it aborts its runs.
   */
  stopPollMs?: number;
}

/** Where the last global stop is kept: `{at, reason, by}` (by: the lease owner of the server that took it). */
export const STOP_ALL_KEY = 'experiments.stop-all';

export interface StartRun {
  /** The applied experiment's name. */
  name: string;
  /** As the ledger writes it: `token:ID`, `scheduler`, `demo`. */
  actor: Actor;
  dryRun?: boolean;
  vars?: Record<string, string>;
  /** Whether the starter holds `experiments:privileged` (the scheduler does: it was checked when applied). */
  mayPrivileged: boolean;
  /**
   * When to start (epoch ms); see RunRequest.startAt. At that time the experiment is read again:
   * deleted meanwhile, the run ends aborted without starting.
   */
  startAt?: number;
}

export interface RunManager {
  readonly runner: ExperimentRunner;
  /**
   * Start a run and resolve once it is recorded (pending or running; a dry run is done), while it
   * carries on in the background. Throws `invalid` when the runner refuses it before anything is
   * sent, `forbidden` for privileged activities, `conflict` while shutting down.
   */
  start(req: StartRun): Promise<RunRecord>;
  /** Abort one run of this process (its rollbacks run); `conflict` when it is done or runs elsewhere. */
  stop(runId: string, reason: string): Promise<RunRecord>;
  /**
   * The global stop: abort every run of this process (their rollbacks run) and record the stop
   * in the database, where every other server on it finds it within `stopPollMs` and aborts its
   * own; a ledger entry records it. Resolves with how many runs of this process were running.
   */
  stopAll(reason: string, actor?: Actor): Promise<number>;
  /** Runs going on in this process. */
  active(): ActiveRun[];
  /** Roll back runs abandoned by processes that died (at server start). */
  recover(): Promise<RecoveredRun[]>;
  /**
   * One periodic sweep for abandoned runs, as the `recoverEveryMs` timer does it: what it
   * recovered, or nothing when one is already going on or the manager is closing.
   */
  sweep(): Promise<RecoveredRun[]>;
  /** Resolves when every run started here has finished (rollbacks included). */
  idle(): Promise<void>;
  /** Start no more, abort what runs and wait for the rollbacks. */
  close(reason?: string): Promise<void>;
}

export function createRunManager(deps: ExperimentDeps, opts: RunManagerOptions = {}): RunManager {
  const policy = opts.policy ?? EMPTY_SERVER_POLICY;
  const log = opts.log;
  const firstProgress = new Map<string, () => void>();
  const runner = createExperimentRunner(deps, {
    ...opts,
    policy: { executables: policy.allowExecutables, paths: policy.allowPaths },
    onProgress: (p) => {
      const wake = firstProgress.get(p.runId);
      if (wake) {
        firstProgress.delete(p.runId);
        wake();
      }
      opts.onProgress?.(p);
    },
  });
  const controllers = new Map<string, AbortController>();
  const running = new Set<Promise<unknown>>();
  let closing: string | undefined;

  const sweepOwner = newLeaseOwner();
  let sweeping: Promise<RecoveredRun[]> | undefined;
  const sweep = (): Promise<RecoveredRun[]> => {
    if (closing !== undefined) return Promise.resolve([]);
    if (sweeping) return sweeping.then(() => []);
    const current = recoverAbandonedRuns(deps, {
      owner: sweepOwner,
      leaseMs: opts.leaseMs ?? 15_000,
      ...(opts.rollbackTimeoutMs !== undefined ? { rollbackTimeoutMs: opts.rollbackTimeoutMs } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    }).then(
      (recovered) => {
        for (const r of recovered) log?.warn(r, `recovered run ${r.runId} of ${r.experiment}: ${r.outcome}`);
        return recovered;
      },
      (e: unknown) => {
        log?.warn({ err: e instanceof Error ? e.message : String(e) }, 'looking for abandoned runs failed');
        return [];
      },
    );
    sweeping = current;
    void current.finally(() => {
      if (sweeping === current) sweeping = undefined;
    });
    return current;
  };
  const sweepTimer =
    opts.recoverEveryMs !== undefined && opts.recoverEveryMs > 0 ? setInterval(() => void sweep(), opts.recoverEveryMs) : undefined;
  sweepTimer?.unref();

  // A stop-all given on another server on this database: abort this one's runs too. The value
  // seen at start is not a stop for this server (it was given before it ran).
  let seenStop: string | null | undefined;
  const checkStop = async () => {
    const value = (await deps.store.meta.get(STOP_ALL_KEY)) ?? null;
    if (seenStop === undefined || value === seenStop) {
      seenStop = value;
      return;
    }
    seenStop = value;
    if (value === null || closing !== undefined) return;
    let stop: { reason?: string; by?: string };
    try {
      stop = JSON.parse(value) as typeof stop;
    } catch {
      return;
    }
    if (stop.by === runner.owner) return;
    const ids = runner.stopAll(stop.reason ?? 'stopped on another server (stop all)');
    runner.resume();
    if (ids.length > 0) log?.warn({ runs: ids, by: stop.by }, `stop all given on another server: ${ids.length} runs aborted here`);
  };
  const stopPollMs = opts.stopPollMs ?? 1000;
  void checkStop().catch(() => undefined);
  const stopTimer = stopPollMs > 0 ? setInterval(() => void checkStop().catch(() => undefined), stopPollMs) : undefined;
  stopTimer?.unref();

  const summaryOf = (a: ActiveRun, dryRun: boolean): RunRecord => ({
    id: a.runId,
    experiment: a.experiment,
    state: 'pending',
    outcome: null,
    reason: null,
    startedAt: a.startedAt,
    endedAt: null,
    leaseOwner: runner.owner,
    leaseUntil: null,
    rollbacks: [],
    journal: {},
    ttdMs: null,
    dryRun,
  });

  const start = async (req: StartRun): Promise<RunRecord> => {
    if (closing !== undefined) throw conflict(`no new runs: ${closing}`);
    const record = await getExperiment(deps, req.name);
    const parsed = parseApplied(record);
    const vars = req.vars ?? {};
    // The allow-lists are checked on the file as this run resolves it, so the refusal names the
    // config key; a file that does not resolve is left to the runner, whose message says why.
    // A refusal may quote a resolved argument, so the file's secrets are redacted from it.
    const sealed = await openSealedSecrets(deps, parsed);
    const resolved = resolveConfiguration(parsed, {}, vars, sealed);
    try {
      checkPrivileged(resolved.ok ? resolved.value.experiment : parsed, { mayPrivileged: req.mayPrivileged, policy }, 'run');
    } catch (e) {
      if (!resolved.ok || !(e instanceof DomainError)) throw e;
      const { secrets } = resolved.value;
      throw new DomainError(e.code, redactSecrets(e.message, secrets) as string, redactSecrets(e.details, secrets));
    }
    const experiment = { ...parsed, title: record.name };
    const ctl = new AbortController();
    const before = new Set(runner.active().map((a) => a.runId));
    const done: Promise<RunResult> = runner.run({
      experiment,
      sealed,
      actor: req.actor,
      env: {},
      vars,
      dryRun: req.dryRun ?? false,
      signal: ctl.signal,
      ...(req.startAt !== undefined
        ? {
            startAt: req.startAt,
            // Stored ahead of its time (a scheduled occurrence): at that time the experiment is read
            // again, so that one deleted meanwhile — on any server on this database — does not
            // start. A re-applied one does (same name, same createdAt); one deleted and applied
            // again does not (a new createdAt).
            beforeStart: async () => {
              const now = await deps.store.experiments.get(record.name);
              return now !== undefined && now.createdAt === record.createdAt
                ? undefined
                : `experiment '${record.name}' was deleted before this run's time; nothing of its method ran`;
            },
          }
        : {}),
    });
    // The runner registers a run as active before its first await, so it is found right here;
    // a dry run (or a refusal) never becomes active and settles at once.
    const mine = runner.active().find((a) => !before.has(a.runId));
    if (!mine) {
      // Tracked all the same, so that close() waits for it whatever it turns out to be.
      const settled = done.then(
        () => undefined,
        () => undefined,
      );
      running.add(settled);
      void settled.finally(() => running.delete(settled));
      const result = await done;
      const row = await deps.store.runs.get(result.runId);
      if (!row) throw new Error(`run ${result.runId} ended without a record`);
      return row;
    }
    const runId = mine.runId;
    controllers.set(runId, ctl);
    const recorded = new Promise<void>((resolve) => firstProgress.set(runId, resolve));
    const tracked = done.then(
      (r) =>
        log?.info(
          { run: r.runId, experiment: record.name, outcome: r.outcome, ttdMs: r.ttdMs },
          `run ${r.runId} of ${record.name}: ${r.outcome ?? 'dry run'}`,
        ),
      (e: unknown) =>
        log?.warn(
          { run: runId, experiment: record.name, err: e instanceof Error ? e.message : String(e) },
          `run ${runId} of ${record.name} failed`,
        ),
    );
    running.add(tracked);
    void tracked.finally(() => {
      running.delete(tracked);
      controllers.delete(runId);
      firstProgress.delete(runId);
    });
    // The first progress report comes after the run's row is written; a run that fails before
    // that settles `done` instead.
    await Promise.race([
      recorded,
      done.then(
        () => undefined,
        () => undefined,
      ),
    ]);
    const row = await deps.store.runs.get(runId);
    if (row) return row;
    await done; // it failed before it was recorded: its error is the answer
    return summaryOf(mine, false);
  };

  return {
    runner,
    start,
    async stop(runId, reason) {
      const ctl = controllers.get(runId);
      if (ctl) {
        ctl.abort(reason);
        return (
          (await deps.store.runs.get(runId)) ??
          summaryOf(
            runner.active().find((a) => a.runId === runId)!,
            false,
          )
        );
      }
      const row = await deps.store.runs.get(runId);
      if (!row) throw notFound(`no run ${runId}; list them with GET /v1/runs`);
      if (row.state === 'done')
        throw conflict(`run ${runId} is already done (${row.outcome ?? 'dry run'}); nothing to stop`, { run: runId });
      throw conflict(
        `run ${runId} is not running in this process (it is held by ${row.leaseOwner ?? 'nobody'}); stop it through the server that runs it`,
        { run: runId, owner: row.leaseOwner },
      );
    },
    async stopAll(reason, actor = systemActor('system')) {
      // The runner's stop switch aborts every active run at once; it is released right away so
      // that the next scheduled or requested run may start again.
      const ids = runner.stopAll(reason);
      runner.resume();
      const at = deps.clock.now().toISOString();
      const value = JSON.stringify({ at, reason, by: runner.owner });
      seenStop = value;
      await deps.store.transaction(async (tx) => {
        await tx.meta.put(STOP_ALL_KEY, value);
        await tx.ledger.append(
          [{ actor, kind: 'experiments.stop-all', subject: 'experiments', data: { reason, at, server: runner.owner, aborted: ids } }],
          at,
        );
      });
      return ids.length;
    },
    active: () => runner.active(),
    recover: () => runner.recover(),
    sweep,
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    async close(reason = 'the server is shutting down') {
      closing ??= reason;
      clearInterval(sweepTimer);
      clearInterval(stopTimer);
      runner.stopAll(reason);
      while (running.size > 0) await Promise.allSettled([...running]);
      // A sweep going on finishes its rollbacks before the store closes.
      await sweeping;
    },
  };
}
