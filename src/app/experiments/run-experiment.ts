/**
 * The experiment runner: `createExperimentRunner(deps, options)` gives one runner per process
 * (server or `bulwark run`), which owns what runs share — the per-target concurrency limit, the
 * global stop switch, the lease owner name — and `run(request)` executes one experiment
 * (runner/run-execution.ts) after runner/prepare-run.ts has checked everything that can be
 * checked before anything is sent. A dry run is recorded with its plan and sends nothing. What
 * a run is built from is in runner/; this file and the use cases beside it are what callers use.
 */
import { conflict } from '../../core/errors.ts';
import { parseSourceClasses, type ControlResult, type SourceClass } from '../../core/experiments/controls.ts';
import type { Outcome } from '../../core/experiments/outcome.ts';
import type { Experiment } from '../../core/experiments/types.ts';
import { sealedSecretNames } from '../../core/experiments/configuration.ts';
import type { Json } from '../../core/ledger/entry.ts';
import type { AppDeps } from '../deps.ts';
import type { SignalIngest } from '../signals/ingest.ts';
import type { DetectionMatch, DetectionSource } from './runner/detections.ts';
import { RunJournal, type InjectionRecord } from './runner/journal.ts';
import type { RuleRegression } from './runner/regression.ts';
import { prepareRun, type LocalPolicy } from './runner/prepare-run.ts';
import type { Providers } from './runner/providers.ts';
import { recoverAbandonedRuns, type RecoveredRun } from './recover.ts';
import { newLeaseOwner, newRunId } from './runner/run-id.ts';
import { executeRun } from './runner/run-execution.ts';
import { createLeaseKeeper, createRunWriter, type RunWriter } from './runner/run-writes.ts';
import { StoreTargetLimiter } from './runner/store-target-limiter.ts';
import { TargetLimiter } from './runner/target-limiter.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';

/** Outcomes and times to detect, for /metrics (server/metrics.ts). */
export interface RunMetrics {
  runFinished(r: { experiment: string; outcome: Outcome; ttdMs: number | null }): void;
}

export interface ExperimentDeps extends AppDeps {
  providers: Providers;
  /** Where runs keep file backups (`<stateDir>/backups/<runId>/`): the data directory. */
  stateDir: string;
  /** Newly stored signals (the ingest bus); without it only the store poll sees detections. */
  detections?: DetectionSource;
  /** The ingest use case, for regression signals; without it they are only in the run's result. */
  ingest?: Pick<SignalIngest, 'ingest'>;
  metrics?: RunMetrics;
  /**
   * Where the runs' writes are committed; by default a group commit on this thread over
   * `store`. A server on SQLite passes one whose commits run on a thread of their own
   * (adapters/sqlite-write-thread.ts). Its owner closes it, after the runner's runs have ended.
   */
  runWriter?: RunWriter;
  /** Sealed secrets (the server's `services.secrets`); without it a file that names one cannot run. */
  secrets?: { resolve(name: string): Promise<string> };
}

/**
 * The values of the sealed secrets a file names, opened here, in the process that runs it. A name
 * that is not set (or cannot be opened) is left out: resolving the file then says which and how to set it.
 */
export async function openSealedSecrets(
  deps: Pick<ExperimentDeps, 'secrets'>,
  experiment: Pick<Experiment, 'secrets'>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of sealedSecretNames(experiment)) {
    if (!deps.secrets) break;
    try {
      out[name] = await deps.secrets.resolve(name);
    } catch {
      // Reported by resolveConfiguration, with the fix.
    }
  }
  return out;
}

export interface RunProgress {
  runId: string;
  phase: string;
  message: string;
}

export interface RunnerOptions {
  /** How long a run's lease holds without a heartbeat (default 15 s). */
  leaseMs?: number;
  /** How often the runner renews the leases of its running runs, all in one transaction (default 3 s). */
  heartbeatMs?: number;
  /** Runs at once against one host (default 8); one at a time per file, always. */
  perTargetLimit?: number;
  /**
   * Where that limit holds: 'process' (default) counts this runner's runs; 'database' counts the
   * runs of every process on the store's database (runner/store-target-limiter.ts), slots held
   * in the database and tied to the runs' leases.
   */
  perTargetLimitScope?: 'process' | 'database';
  /** With the 'database' scope, how often a run waiting for a slot tries again (default 200 ms). */
  targetSlotPollMs?: number;
  /** Poll the store for signals every this many ms while waiting (standalone runs: signals ingested elsewhere). */
  pollSignalsMs?: number;
  /** After the last deadline, how long a detection still counts as late rather than missed (default: the longest deadline, at most 10 min). */
  lateGraceMs?: number;
  /** Timeout of an activity that gives none (default 5 min). */
  activityTimeoutMs?: number;
  /** Timeout of a rollback that gives none (default 1 min). */
  rollbackTimeoutMs?: number;
  /** Executables and paths allowed on this host (a server sets them; the CLI does not). */
  policy?: LocalPolicy;
  onProgress?: (p: RunProgress) => void;
}

export type ResolvedRunnerOptions = Required<Pick<RunnerOptions, 'leaseMs' | 'heartbeatMs' | 'activityTimeoutMs' | 'rollbackTimeoutMs'>> &
  Omit<RunnerOptions, 'leaseMs' | 'heartbeatMs' | 'activityTimeoutMs' | 'rollbackTimeoutMs'>;

export interface RunRequest {
  /**
   * Values of the sealed secrets the file names, opened by the caller (openSealedSecrets): the
   * runner registers a run before its first await, so it opens nothing itself.
   */
  sealed?: Readonly<Record<string, string>>;
  experiment: Experiment;
  /** Who starts it, as the ledger writes it (`cli:USER`, `token:ID`, `scheduler`). */
  actor: Actor;
  /** Where `{type: env}` configuration and secrets are read from (the CLI passes its environment). */
  env?: Record<string, string | undefined>;
  /** `--var k=v` overrides. */
  vars?: Record<string, string>;
  /** `--allow HOST`: hosts added to the blast radius. */
  allowHosts?: readonly string[];
  dryRun?: boolean;
  /**
   * When to start (epoch ms). A run given a time ahead is prepared and stored at once (pending,
   * its rollbacks durable) and starts at that time without waiting for a commit: the scheduler
   * passes an occurrence's time, so the occurrence is kept to the millisecond rather than to the next commit.
   */
  startAt?: number;
  /**
   * For a run given a `startAt` ahead: asked shortly before that time (100 ms, so that the
   * answer is in by then), and waited for before anything is sent. A reason
   * means the run must not start: it ends `aborted` with that reason, as a run stopped while it
   * waits for its time does (so does a check that fails). The run manager uses it so that a
   * scheduled run of an experiment deleted meanwhile does not start.
   */
  beforeStart?: () => Promise<string | undefined>;
  /** Stops the run (a person, SIGINT): outcome `aborted`, rollbacks run. */
  signal?: AbortSignal;
}

export interface RunResult {
  runId: string;
  experiment: string;
  dryRun: boolean;
  /** null for a dry run. */
  outcome: Outcome | null;
  reason: string;
  expectationsMet: boolean;
  /** `bulwark run`'s exit code: exitCodeFor(outcome), 0 for a dry run. */
  exitCode: number;
  /** Time to detect of the first matched detection. */
  ttdMs: number | null;
  detections: DetectionMatch[];
  injections: InjectionRecord[];
  plan: string[];
  warnings: string[];
  /** The journal as stored (secrets redacted). */
  journal: Json;
  regression?: { previous: string; previousRun: string; signalId: string; emitted: boolean };
  /** What each control did (core/experiments/controls.ts); absent when nothing was expected or the run says nothing of its controls. */
  controls?: ControlResult[];
  /** A named rule that fired in the last run and not in this one, while the detection was still met: one per rule. */
  ruleRegressions?: RuleRegression[];
}

export interface ActiveRun {
  runId: string;
  experiment: string;
  startedAt: string;
}

export interface ExperimentRunner {
  /** The lease owner name of this runner's runs. */
  readonly owner: string;
  run(req: RunRequest): Promise<RunResult>;
  /** The global stop: abort every active run (their rollbacks run) and refuse new ones until resume(). */
  stopAll(reason: string): string[];
  resume(): void;
  /** Why runs are stopped, while they are. */
  readonly stopped: string | undefined;
  active(): ActiveRun[];
  /** Roll back runs abandoned by dead processes (recover.ts), as this runner. */
  recover(): Promise<RecoveredRun[]>;
}

class RunAborted extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RunAborted';
  }
}

export function createExperimentRunner(deps: ExperimentDeps, opts: RunnerOptions = {}): ExperimentRunner {
  const options: ResolvedRunnerOptions = {
    ...opts,
    leaseMs: opts.leaseMs ?? 15_000,
    heartbeatMs: opts.heartbeatMs ?? 3_000,
    activityTimeoutMs: opts.activityTimeoutMs ?? 300_000,
    rollbackTimeoutMs: opts.rollbackTimeoutMs ?? 60_000,
  };
  if (options.heartbeatMs >= options.leaseMs) throw new Error('heartbeatMs must be shorter than leaseMs');
  const owner = newLeaseOwner();
  // The writes of all this runner's runs share transactions, and their leases one heartbeat.
  const writer = deps.runWriter ?? createRunWriter(deps);
  const leases = createLeaseKeeper({ ...deps, writer }, { owner, leaseMs: options.leaseMs, heartbeatMs: options.heartbeatMs });
  const limiter = new TargetLimiter({ perHost: opts.perTargetLimit });
  const shared =
    opts.perTargetLimitScope === 'database'
      ? new StoreTargetLimiter(deps, {
          leaseMs: options.leaseMs,
          ...(opts.perTargetLimit !== undefined ? { perHost: opts.perTargetLimit } : {}),
          ...(opts.targetSlotPollMs !== undefined ? { pollMs: opts.targetSlotPollMs } : {}),
        })
      : undefined;
  const active = new Map<string, ActiveRun & { abort(reason: string): void }>();
  let stopped: string | undefined;
  const sourceClasses = declaredSourceClasses(deps);

  const run = async (req: RunRequest): Promise<RunResult> => {
    const runId = newRunId();
    const prepared = prepareRun({
      experiment: req.experiment,
      sealed: req.sealed ?? {},
      runId,
      env: req.env ?? {},
      vars: req.vars ?? {},
      allowHosts: req.allowHosts ?? [],
      stateDir: deps.stateDir,
      ...(opts.policy ? { policy: opts.policy } : {}),
    });
    if (req.dryRun || prepared.experiment.safety?.dryRun) return recordDryRun(deps, writer, req, runId, prepared);
    if (stopped !== undefined) throw conflict(`experiments are stopped (${stopped}); resume them before starting a run`);

    const ctl = new AbortController();
    let reason: string | undefined;
    const abort = (why: string) => {
      if (ctl.signal.aborted) return;
      reason = why;
      ctl.abort(new RunAborted(why));
    };
    const external = req.signal;
    const onExternal = () => abort(reasonOf(external?.reason));
    external?.addEventListener('abort', onExternal, { once: true });
    if (external?.aborted) onExternal();
    active.set(runId, { runId, experiment: prepared.experiment.title, startedAt: deps.clock.now().toISOString(), abort });
    try {
      const classes = prepared.experiment.expect?.detected.length ? await sourceClasses() : undefined;
      return await executeRun({
        ...(classes ? { sourceClasses: classes } : {}),
        deps,
        options,
        req,
        prepared,
        runId,
        owner,
        writer,
        leases,
        abort,
        signal: ctl.signal,
        abortReason: () => reason,
        ...(shared
          ? {
              acquire: (keys, signal, onWait) => shared.acquire(runId, keys, signal, onWait),
              targetsBusy: (keys) => shared.busy(keys),
              slotsInStore: true,
            }
          : {
              acquire: (keys, signal) => limiter.acquire(keys, signal),
              targetsBusy: (keys) => limiter.busy(keys),
            }),
      });
    } finally {
      external?.removeEventListener('abort', onExternal);
      active.delete(runId);
    }
  };

  return {
    owner,
    run,
    stopAll(why) {
      stopped = why;
      const ids = [...active.keys()];
      // "stopped by alice (stop all)" says it already; "SIGTERM received" needs the word.
      const reason = /^stopped\b/.test(why) ? why : `stopped: ${why}`;
      for (const r of active.values()) r.abort(reason);
      return ids;
    },
    resume() {
      stopped = undefined;
    },
    get stopped() {
      return stopped;
    },
    active: () => [...active.values()].map(({ runId, experiment, startedAt }) => ({ runId, experiment, startedAt })),
    recover: () =>
      recoverAbandonedRuns(deps, {
        owner,
        leaseMs: options.leaseMs,
        rollbackTimeoutMs: options.rollbackTimeoutMs,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      }),
  };
}

/** How long the declared source classes are reused before they are read again. */
const SOURCE_CLASSES_TTL_MS = 10_000;

/**
 * The sources declared alerting or logs in the coverage settings (`signalSources`), read at most
 * once per SOURCE_CLASSES_TTL_MS of the clock and shared by the runner's runs: one read, not one
 * per run. A failed read gives none declared (the formats' defaults), not a failed run.
 */
function declaredSourceClasses(deps: ExperimentDeps): () => Promise<Readonly<Record<string, SourceClass>>> {
  let cached: { atMs: number; value: Promise<Readonly<Record<string, SourceClass>>> } | undefined;
  return () => {
    const nowMs = deps.clock.now().getTime();
    if (cached && nowMs - cached.atMs < SOURCE_CLASSES_TTL_MS && nowMs >= cached.atMs) return cached.value;
    const value = deps.store.coverageSettings
      .get()
      .then((r) => parseSourceClasses(r?.settings))
      .catch(() => ({}));
    cached = { atMs: nowMs, value };
    return value;
  };
}

/** Run one experiment with a runner of its own (tests, one-off callers). */
export function runExperiment(deps: ExperimentDeps, req: RunRequest, opts: RunnerOptions = {}): Promise<RunResult> {
  return createExperimentRunner(deps, opts).run(req);
}

function reasonOf(v: unknown): string {
  if (v instanceof Error) return v.name === 'AbortError' || v.name === 'TimeoutError' ? `stopped (${v.message})` : v.message;
  if (typeof v === 'string' && v !== '') return v;
  return 'stopped from outside';
}

async function recordDryRun(
  deps: ExperimentDeps,
  writer: RunWriter,
  req: RunRequest,
  runId: string,
  prepared: ReturnType<typeof prepareRun>,
): Promise<RunResult> {
  const exp = prepared.experiment;
  const now = deps.clock.now();
  const journal = new RunJournal(exp.document, now.getTime(), {
    runId,
    actor: actorLabel(req.actor),
    dryRun: true,
    techniques: exp.techniques,
    blastRadius: prepared.radius,
    plan: prepared.plan,
    ...(prepared.warnings.length ? { warnings: prepared.warnings } : {}),
  });
  const reason = 'dry run: nothing was sent';
  journal.end = now.toISOString();
  journal.status = 'completed';
  Object.assign(journal.bulwark, { outcome: null, reason });
  const json = journal.toJson(prepared.secrets);
  await writer.write({
    runId,
    // No rollbacks stored: nothing ran, and they may hold secrets.
    insert: {
      id: runId,
      experiment: exp.title,
      state: 'done',
      outcome: null,
      reason,
      startedAt: now.toISOString(),
      endedAt: now.toISOString(),
      leaseOwner: null,
      leaseUntil: null,
      rollbacks: [],
      journal: json,
      ttdMs: null,
      dryRun: true,
    },
    entries: [{ actor: req.actor, kind: 'run.dry-run', subject: `run:${runId}`, data: { run: runId, experiment: exp.title } }],
  });
  return {
    runId,
    experiment: exp.title,
    dryRun: true,
    outcome: null,
    reason,
    expectationsMet: true,
    exitCode: 0,
    ttdMs: null,
    detections: [],
    injections: [],
    plan: prepared.plan,
    warnings: prepared.warnings,
    journal: json,
  };
}
