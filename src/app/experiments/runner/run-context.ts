/**
 * One run's state while it executes (run-execution.ts): what it was handed, what its phases
 * found, and what goes on beside them until the run stops watching — the detection tracker fed
 * by the bus or the store poll, the abort-condition watchers, the maxDuration timer. One object
 * handed from phase to phase instead of variables shared by closures.
 */
import { sourceClassOf, type SourceClass } from '../../../core/experiments/controls.ts';
import { formatDuration } from '../../../core/experiments/duration.ts';
import type { Experiment } from '../../../core/experiments/types.ts';
import type { Json } from '../../../core/ledger/entry.ts';
import type { RunRecord } from '../../../store/experiments/port.ts';
import type { ActivityEnv, ActivityRun } from './activities.ts';
import { DetectionTracker, matchEntryData, pollStoredSignals, type DetectionMatch } from './detections.ts';
import { RunJournal } from './journal.ts';
import type { PreparedRun } from './prepare-run.ts';
import { RunRecorder, type LedgerEvent } from './run-recorder.ts';
import type { LeaseKeeper, RunWriter } from './run-writes.ts';
import { sleep } from '../../sleep.ts';
import { sealRollbacks } from '../../access/sealed-rollbacks.ts';
import type { ExperimentDeps, ResolvedRunnerOptions, RunRequest } from '../run-experiment.ts';
import { actorLabel } from '../../../core/ledger/actor.ts';

/** What the runner hands one run: the run itself and what it shares with the runner's other runs. */
export interface Execution {
  deps: ExperimentDeps;
  options: ResolvedRunnerOptions;
  req: RunRequest;
  prepared: PreparedRun;
  runId: string;
  owner: string;
  /** The runner's group commit of run writes, and its heartbeat. */
  writer: RunWriter;
  leases: LeaseKeeper;
  /** Stop the run with a reason; the first reason wins. */
  abort(reason: string): void;
  readonly signal: AbortSignal;
  abortReason(): string | undefined;
  /**
   * Take the run's target slots; the returned function gives them back. `onWait` is awaited
   * once, before the run waits, by the database limiter (slotsInStore) only.
   */
  acquire(keys: readonly string[], signal: AbortSignal, onWait?: () => Promise<void>): Promise<() => void>;
  /** Whether acquiring would wait: exact in-process, best effort with slotsInStore. */
  targetsBusy(keys: readonly string[]): boolean;
  /**
   * The limit holds across processes (slots in the database): a run stored ahead of its time
   * takes its slots as soon as its row is stored, not at its start time, so that the database
   * round trip is not in its start; one that starts now stores itself as pending only if it
   * has to wait.
   */
  slotsInStore?: boolean;
  /** Sources declared alerting or logs (coverage settings, `signalSources`); the rest by their format's default. */
  sourceClasses?: Readonly<Record<string, SourceClass>>;
}

/** What the phases found, for the outcome (see runSummary in run-execution.ts). */
export interface Findings {
  /** The steady state before the method; `skipped` without a hypothesis. */
  gate: 'passed' | 'failed' | 'skipped';
  /** Why the run could not complete (not set when it was stopped). */
  error?: string;
  blocked?: { asked: boolean; held: boolean };
  steadyAfter?: 'held' | 'deviated';
}

type RowInsert = Omit<RunRecord, 'journal'>;

export class RunContext {
  readonly x: Execution;
  readonly deps: ExperimentDeps;
  readonly options: ResolvedRunnerOptions;
  readonly prepared: PreparedRun;
  readonly exp: Experiment;
  readonly runId: string;
  /** Stored ahead of its time (see RunRequest.startAt): it starts at that time. */
  readonly ahead: boolean;
  /** When the run starts, on the clock (epoch ms). */
  readonly startMs: number;
  readonly journal: RunJournal;
  readonly recorder: RunRecorder;
  readonly tracker: DetectionTracker;
  /** The run's row as it goes in while it waits: pending, with its rollbacks and a lease. */
  readonly pendingRow: RowInsert;
  /** What every activity of the run is given besides its signal. */
  readonly activityBase: Pick<ActivityEnv, 'providers' | 'clock' | 'runId'>;

  readonly found: Findings = { gate: 'skipped' };
  /** The method's injections, in the order they ended (for the blocked verdict). */
  readonly injected: ActivityRun[] = [];

  /** Aborted when the run stops watching: the abort conditions and the store poll end. */
  readonly background = new AbortController();
  readonly loopSignal: AbortSignal;
  /** The abort-condition watchers and the store poll, awaited when the run stops watching. */
  readonly loops: Promise<void>[] = [];
  unsubscribe: (() => void) | undefined;
  maxTimer: NodeJS.Timeout | undefined;
  /** When safety.maxDuration stops the run, on the clock. */
  maxEnd: number | undefined;
  private polling = false;

  /** Gives the target slots back; set once they are taken. */
  release: (() => void) | undefined;
  /** Ends the heartbeat of the run's lease, which runs from when the row is stored. */
  unlease: () => void = () => {};
  /** Called on each match: the wait for detections ends once all are matched. */
  wake: () => void = () => {};

  constructor(x: Execution) {
    this.x = x;
    this.deps = x.deps;
    this.options = x.options;
    this.prepared = x.prepared;
    this.exp = x.prepared.experiment;
    this.runId = x.runId;
    const nowMs = this.clockMs();
    this.ahead = x.req.startAt !== undefined && x.req.startAt > nowMs;
    this.startMs = this.ahead ? x.req.startAt! : nowMs;
    this.journal = new RunJournal(this.exp.document, this.startMs, {
      runId: x.runId,
      actor: actorLabel(x.req.actor),
      dryRun: false,
      techniques: this.exp.techniques,
      blastRadius: x.prepared.radius,
      plan: x.prepared.plan,
      ...(x.prepared.warnings.length ? { warnings: x.prepared.warnings } : {}),
    });
    this.pendingRow = {
      id: x.runId,
      experiment: this.exp.title,
      state: 'pending',
      outcome: null,
      reason: null,
      startedAt: new Date(this.startMs).toISOString(),
      endedAt: null,
      leaseOwner: x.owner,
      leaseUntil: new Date(this.clockMs() + x.options.leaseMs).toISOString(),
      // Resolved, so they may hold secret values: sealed when this process has the key (app/access/sealed-rollbacks.ts).
      rollbacks: sealRollbacks(x.deps.secretKeys, x.runId, JSON.parse(JSON.stringify(x.prepared.rollbacks)) as Json),
      ttdMs: null,
      dryRun: false,
    };
    this.recorder = new RunRecorder(x.writer, x.runId, x.owner, x.req.actor, x.prepared.secrets, this.journal);
    const declared = x.sourceClasses ?? {};
    this.tracker = new DetectionTracker(
      x.runId,
      this.exp.expect?.detected ?? [],
      (m) => this.detected(m),
      (source) => sourceClassOf(source, declared),
    );
    this.journal.bulwark.detections = this.tracker.report();
    this.loopSignal = AbortSignal.any([x.signal, this.background.signal]);
    this.activityBase = { providers: x.deps.providers, clock: x.deps.clock, runId: x.runId };
  }

  progress(phase: string, message: string): void {
    this.options.onProgress?.({ runId: this.runId, phase, message });
  }

  /** The run's times are the clock's (deps.clock); the timers that wait for them are real. */
  clockMs(): number {
    return this.x.deps.clock.now().getTime();
  }

  /** Resolve at `atMs` (the clock's epoch ms), or reject with the signal's reason when it aborts first. */
  sleepUntil(atMs: number, signal: AbortSignal): Promise<void> {
    return sleep(atMs - this.clockMs(), signal);
  }

  /** The run's first write; from then on the runner's heartbeat renews its lease. */
  async insertRow(row: RowInsert, events: readonly LedgerEvent[] = []): Promise<void> {
    await this.recorder.insert(row, events);
    this.unlease = this.x.leases.hold(this.runId, () => {
      this.recorder.lost = true;
      this.x.abort('another process took the run over after its lease expired');
    });
  }

  /**
   * When the first injection left (the providers' `onSent`, then again when its step ends): the
   * detection window opens, and the store poll starts if the run polls. Kept to what is
   * synchronous and cheap: it runs right where the injection's time is stamped.
   */
  readonly onInjected = (at: number): void => {
    if (this.tracker.injectedAt !== undefined) return;
    this.tracker.injected(at);
    if (this.options.pollSignalsMs !== undefined && this.tracker.asked && !this.polling) {
      this.polling = true;
      this.loops.push(
        pollStoredSignals(
          this.deps.store,
          new Date(at).toISOString(),
          this.options.pollSignalsMs,
          (s) => void this.tracker.offer(s),
          this.loopSignal,
        ),
      );
    }
  };

  /** A detection matched: into the journal and the ledger (without waiting), and the wait is told. */
  private detected(m: DetectionMatch): void {
    this.journal.bulwark.detections = this.tracker.report();
    this.progress(
      'detect',
      `detected '${m.name}' (${m.by === 'run-id' ? 'by run id' : 'by expression'}, signal ${m.signalId} from ${m.source}) ${m.ttdMs} ms after the injection${m.late ? `, after its deadline of ${formatDuration(m.deadlineMs)}` : ''}`,
    );
    this.recorder.writeLater({}, [{ kind: 'run.detected', data: { run: this.runId, detection: m.name, ...matchEntryData(m) } }]);
    this.wake();
  }
}
