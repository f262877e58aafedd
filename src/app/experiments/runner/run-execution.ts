/**
 * One run, from the pending row to the decided outcome: gate, method, the blocked verdict,
 * steady state after, the wait for detections, then rollbacks — always, in the `finally` of it
 * all — and the outcome from decideOutcome. Every step that changes the run is written with its
 * ledger entry in one transaction (run-recorder.ts), shared with the writes of the runner's other
 * runs (run-writes.ts). The run's row goes in with its first write: with run.started when its
 * targets have a free slot, or as pending before it waits for one. The runner (run-experiment.ts)
 * owns what is shared between runs: the concurrency limit, the stop switch, the lease owner and
 * the heartbeat.
 */
import { decideOutcome, exitCodeFor } from '../../../core/experiments/outcome.ts';
import { formatDuration } from '../../../core/experiments/duration.ts';
import type { Activity, Step } from '../../../core/experiments/types.ts';
import type { Json } from '../../../core/ledger/entry.ts';
import { activityOk, runActivity, type ActivityRun } from './activities.ts';
import { judgeBlocked, watchAbortCondition } from './judges.ts';
import { DetectionTracker, matchEntryData, pollStoredSignals } from './detections.ts';
import { RunJournal, journalStatus, type InjectionRecord } from './journal.ts';
import type { PreparedRun } from './prepare-run.ts';
import { reportRegression } from './regression.ts';
import { runRollbacks } from './rollbacks.ts';
import { RunRecorder } from './run-recorder.ts';
import type { LeaseKeeper, RunWriter } from './run-writes.ts';
import { sleep } from '../../sleep.ts';
import type { ExperimentDeps, ResolvedRunnerOptions, RunRequest, RunResult } from '../run-experiment.ts';

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
}

const activityOf = (s: Step): Activity => ('ref' in s ? s.activity : s);
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));
const statusOf = (output: unknown): number | undefined =>
  output !== null && typeof output === 'object' && typeof (output as { status?: unknown }).status === 'number'
    ? (output as { status: number }).status
    : undefined;

class StepFailed extends Error {}

/**
 * How long before its start time a run stored ahead asks whether it may still start (its
 * experiment deleted meanwhile): the database read is then done by the start time, not in it.
 */
const MAY_START_LEAD_MS = 100;

export async function executeRun(x: Execution): Promise<RunResult> {
  const { deps, options, prepared, runId, owner } = x;
  const exp = prepared.experiment;
  const secrets = prepared.secrets;
  const progress = (phase: string, message: string) => options.onProgress?.({ runId, phase, message });
  /** The run's times are the clock's (deps.clock); the timers that wait for them are real. */
  const clockMs = () => deps.clock.now().getTime();
  /** Resolve at `atMs` (the clock's epoch ms), or reject with the signal's reason when it aborts first. */
  const sleepUntil = (atMs: number, signal: AbortSignal): Promise<void> => sleep(atMs - clockMs(), signal);
  const nowMs = clockMs();
  // Stored ahead of its time (see RunRequest.startAt): it starts at that time.
  const ahead = x.req.startAt !== undefined && x.req.startAt > nowMs;
  const startMs = ahead ? x.req.startAt! : nowMs;
  const journal = new RunJournal(exp.document, startMs, {
    runId,
    actor: x.req.actor,
    dryRun: false,
    techniques: exp.techniques,
    blastRadius: prepared.radius,
    plan: prepared.plan,
    ...(prepared.warnings.length ? { warnings: prepared.warnings } : {}),
  });
  const leaseUntil = () => new Date(clockMs() + options.leaseMs).toISOString();
  const row = {
    id: runId,
    experiment: exp.title,
    state: 'pending' as const,
    outcome: null,
    reason: null,
    startedAt: new Date(startMs).toISOString(),
    endedAt: null,
    leaseOwner: owner,
    leaseUntil: leaseUntil(),
    rollbacks: JSON.parse(JSON.stringify(prepared.rollbacks)) as Json,
    ttdMs: null,
    dryRun: false,
  };
  const recorder = new RunRecorder(x.writer, runId, owner, x.req.actor, secrets, journal);
  // The runner's heartbeat renews the lease from when the row is stored until the last write.
  let unlease = () => {};
  const insertRow = async (row: Parameters<RunRecorder['insert']>[0], events: Parameters<RunRecorder['insert']>[1] = []) => {
    await recorder.insert(row, events);
    unlease = x.leases.hold(runId, () => {
      recorder.lost = true;
      x.abort('another process took the run over after its lease expired');
    });
  };

  let wake = () => {};
  const tracker = new DetectionTracker(runId, exp.expect?.detected ?? [], (m) => {
    journal.bulwark.detections = tracker.report();
    progress(
      'detect',
      `detected '${m.name}' (${m.by === 'run-id' ? 'by run id' : 'by expression'}, signal ${m.signalId} from ${m.source}) ${m.ttdMs} ms after the injection${m.late ? `, after its deadline of ${formatDuration(m.deadlineMs)}` : ''}`,
    );
    recorder.writeLater({}, [{ kind: 'run.detected', data: { run: runId, detection: m.name, ...matchEntryData(m) } }]);
    wake();
  });
  journal.bulwark.detections = tracker.report();

  let gate: 'passed' | 'failed' | 'skipped' = 'skipped';
  let error: string | undefined;
  let steadyAfter: 'held' | 'deviated' | undefined;
  let blocked: { asked: boolean; held: boolean } | undefined;
  const injected: ActivityRun[] = [];
  const background = new AbortController();
  const loopSignal = AbortSignal.any([x.signal, background.signal]);
  const loops: Promise<void>[] = [];
  let release: (() => void) | undefined;
  let unsubscribe: (() => void) | undefined;
  let maxTimer: NodeJS.Timeout | undefined;
  let maxEnd: number | undefined;
  let polling = false;

  const onInjected = (at: number) => {
    if (tracker.injectedAt !== undefined) return;
    tracker.injected(at);
    if (options.pollSignalsMs !== undefined && tracker.asked && !polling) {
      polling = true;
      loops.push(
        pollStoredSignals(deps.store, new Date(at).toISOString(), options.pollSignalsMs, (s) => void tracker.offer(s), loopSignal),
      );
    }
  };

  const activityBase = { providers: deps.providers, clock: deps.clock, runId };
  const probes = async (list: readonly Activity[]) => {
    const runs: ActivityRun[] = [];
    for (const a of list) {
      const r = await runActivity(a, { ...activityBase, signal: x.signal, defaultTimeoutMs: options.activityTimeoutMs });
      runs.push(r);
      progress(
        'probe',
        `probe '${a.name}': ${activityOk(r) ? 'ok' : 'failed'}${r.exception ? ` (${r.exception})` : r.tolerance_reason ? ` (${r.tolerance_reason})` : ''}`,
      );
    }
    return { met: runs.every(activityOk), probes: runs };
  };

  const methodCtl = new AbortController();
  const methodSignal = AbortSignal.any([x.signal, methodCtl.signal]);
  const runStep = async (a: Activity) => {
    const injection = prepared.injections.has(a);
    const r = await runActivity(a, {
      ...activityBase,
      signal: methodSignal,
      defaultTimeoutMs: options.activityTimeoutMs,
      ...(injection ? { onSent: onInjected } : {}),
      pauseAfter: false,
    });
    journal.run.push(r);
    const status = statusOf(r.output);
    const what = `${a.type} '${a.name}': ${r.status}${status !== undefined ? `, status ${status}` : ''}${r.exception ? ` (${r.exception})` : ''}`;
    if (injection) {
      const at = r.sentAtMs ?? r.startMs;
      onInjected(at);
      injected.push(r);
      const rec: InjectionRecord = {
        activity: a.name,
        at: new Date(at).toISOString(),
        ok: r.status === 'succeeded',
        ...(status !== undefined ? { status } : {}),
        ...(r.exception ? { error: r.exception } : {}),
      };
      journal.bulwark.injections.push(rec);
      progress('inject', `injected ${what}`);
      await recorder.write({}, [{ kind: 'run.injected', data: { run: runId, ...rec } }]);
    } else {
      progress('activity', what);
    }
    if (r.status === 'failed') throw new StepFailed(`${a.type} '${a.name}' failed: ${r.exception}`);
    // Paused only now that the step is recorded: a stop during the pause keeps what was sent.
    if (a.pauses.afterMs) await sleep(a.pauses.afterMs, methodSignal);
  };

  const started = [
    { kind: 'run.started', data: { run: runId, experiment: exp.title, techniques: exp.techniques, targets: prepared.targets } },
  ];
  let startFailure: unknown;
  try {
    const busy = x.targetsBusy(prepared.targets);
    if (ahead) {
      // The row and its rollbacks are durable before the start time; at that time the run
      // sends at once, and `running` with run.started is written behind it (in order: it is
      // committed before any later write of this run).
      await insertRow(row);
      // With slots in the database, taken now (the row is stored: they count with its lease),
      // while the run waits for its time.
      const early = x.slotsInStore
        ? x.acquire(prepared.targets, x.signal).then((r) => {
            release = r;
          })
        : undefined;
      early?.catch(() => undefined);
      // Asked shortly before the start time, so that the answer is there at that time.
      const verdict = mayStart(startMs - MAY_START_LEAD_MS);
      await sleepUntil(startMs, x.signal);
      const refused = await verdict;
      if (refused !== undefined) {
        x.abort(refused);
        throw new Error(refused);
      }
      if (early) await early;
      else release = await x.acquire(prepared.targets, x.signal);
      void recorder.write({ state: 'running' }, started, { behind: true }).catch(() => undefined);
    } else if (x.slotsInStore && !x.signal.aborted) {
      // Whether the slots are free is known only once they are taken: the row goes in as
      // pending only when the run has to wait.
      release = await x.acquire(prepared.targets, x.signal, async () => {
        await insertRow(row);
        progress('wait', `waiting for a free slot on ${prepared.targets.join(', ')}`);
      });
      if (recorder.inserted) await recorder.write({ state: 'running' }, started, { soon: true });
      else await insertRow({ ...row, state: 'running' }, started);
    } else if (busy || x.signal.aborted) {
      await insertRow(row);
      if (busy) progress('wait', `waiting for a free slot on ${prepared.targets.join(', ')}`);
      release = await x.acquire(prepared.targets, x.signal);
      await recorder.write({ state: 'running' }, started, { soon: true });
    } else {
      release = await x.acquire(prepared.targets, x.signal);
      await insertRow({ ...row, state: 'running' }, started);
    }
  } catch (e) {
    // A run whose row could not be stored fails as a whole, as before it started. One stopped
    // before its row went in is stored as pending, and ends as aborted below.
    if (!recorder.inserted && x.signal.aborted) await insertRow(row).catch(() => undefined);
    if (!recorder.inserted) {
      release?.();
      throw e;
    }
    startFailure = e;
  }

  try {
    if (startFailure !== undefined) throw startFailure;
    progress('start', `run ${runId} started: ${exp.title}`);
    unsubscribe = deps.detections?.subscribe((s) => void tracker.offer(s));
    const maxMs = exp.safety?.maxDurationMs;
    if (maxMs !== undefined) {
      maxEnd = clockMs() + maxMs;
      maxTimer = setTimeout(() => x.abort(`safety.maxDuration of ${formatDuration(maxMs)} reached`), maxMs);
    }

    const hyp = exp.steadyStateHypothesis;
    if (hyp) {
      journal.steadyBefore = await probes(hyp.probes);
      gate = journal.steadyBefore.met ? 'passed' : 'failed';
      progress(
        'gate',
        gate === 'passed' ? 'steady state holds: running the method' : 'steady state does not hold: nothing will be injected',
      );
    }
    if (gate !== 'failed') {
      for (const a of exp.safety?.abort ?? []) {
        const env = { ...activityBase, signal: loopSignal };
        loops.push(
          watchAbortCondition(
            a.probe,
            a.everyMs,
            env,
            (r) => journal.during.push(r),
            (why) => x.abort(why),
          ),
        );
      }
      const bg: Promise<void>[] = [];
      let bgFailure: unknown;
      for (const step of exp.method) {
        const a = activityOf(step);
        if (a.background) {
          bg.push(
            runStep(a).catch((e: unknown) => {
              bgFailure ??= e;
              methodCtl.abort(e);
            }),
          );
          continue;
        }
        try {
          await runStep(a);
        } catch (e) {
          methodCtl.abort(e);
          await Promise.allSettled(bg);
          throw e;
        }
        if (bgFailure !== undefined) break;
      }
      await Promise.allSettled(bg);
      if (bgFailure !== undefined) throw bgFailure;
      if (exp.expect?.blocked) {
        const v = await judgeBlocked(injected, exp.expect.blocked, { ...activityBase, signal: x.signal });
        journal.bulwark.blocked = { asked: true, ...v };
        blocked = { asked: true, held: v.held };
        const why = v.results.find((r) => !r.ok)?.reason ?? 'nothing was injected';
        progress('blocked', v.held ? 'blocked: every injection met the tolerance' : `not blocked: ${why}`);
      }
      if (hyp) {
        journal.steadyAfter = await probes(hyp.probes);
        steadyAfter = journal.steadyAfter.met ? 'held' : 'deviated';
        journal.deviated = steadyAfter === 'deviated';
      }
      await waitForDetections();
    }
  } catch (e) {
    if (!x.signal.aborted) error = messageOf(e);
  }

  // Whatever happened: stop watching, then roll back.
  background.abort();
  clearTimeout(maxTimer);
  unsubscribe?.();
  tracker.close();
  await Promise.allSettled(loops);
  const aborted = x.signal.aborted ? (x.abortReason() ?? 'stopped') : undefined;
  try {
    if (recorder.lost) {
      progress('abort', `${aborted ?? 'lease lost'}; leaving the rollbacks to that process`);
      return lostResult(aborted ?? 'lease lost');
    }
    return await finish(aborted);
  } finally {
    unlease();
    release?.();
  }

  /**
   * A run stored ahead: whether it may still start (RunRequest.beforeStart), asked at `atMs`;
   * the reason when it may not. Never rejects: a stop meanwhile is the caller's to see.
   */
  async function mayStart(atMs: number): Promise<string | undefined> {
    if (!x.req.beforeStart) return undefined;
    try {
      await sleepUntil(atMs, x.signal);
    } catch {
      return undefined;
    }
    try {
      return await x.req.beforeStart();
    } catch (e) {
      return `could not check that the run may start: ${messageOf(e)}`;
    }
  }

  async function waitForDetections(): Promise<void> {
    const last = tracker.lastDeadline();
    if (!tracker.asked || last === undefined || tracker.allMatched()) return;
    const grace = options.lateGraceMs ?? Math.min(tracker.longestDeadlineMs(), 600_000);
    let end = last + grace;
    if (maxEnd !== undefined) end = Math.max(last, Math.min(end, maxEnd - 25));
    progress('wait', `waiting for detections: deadline in ${Math.max(0, last - clockMs())} ms, late ones counted for ${grace} ms more`);
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        x.signal.removeEventListener('abort', onAbort);
        wake = () => {};
        resolve();
      };
      const onAbort = () => {
        clearTimeout(timer);
        wake = () => {};
        reject(x.signal.reason as Error);
      };
      const timer = setTimeout(done, Math.max(0, end - clockMs()));
      wake = () => {
        if (tracker.allMatched()) done();
      };
      x.signal.addEventListener('abort', onAbort, { once: true });
      if (x.signal.aborted) onAbort();
    });
  }

  async function finish(aborted: string | undefined): Promise<RunResult> {
    if (aborted !== undefined) {
      journal.bulwark.aborted = aborted;
      progress('abort', `aborted: ${aborted}`);
    }
    if (error !== undefined) journal.bulwark.error = error;
    progress('rollback', prepared.rollbacks.length ? `rolling back (${prepared.rollbacks.length})` : 'no rollbacks');
    // With no rollbacks to run, the run goes straight to done.
    if (prepared.rollbacks.length > 0) await recorder.write({ state: 'rolling-back' }).catch(() => undefined);
    const rollbacks = await runRollbacks(
      prepared.rollbacks,
      { providers: deps.providers, clock: deps.clock, runId, timeoutMs: options.rollbackTimeoutMs },
      async (r, ok) => {
        journal.rollbacks.push(r);
        const why = r.exception ?? (r.tolerance_met === false ? r.tolerance_reason : undefined);
        progress('rollback', `rollback '${r.activity.name}': ${ok ? 'ok' : `FAILED${why ? ` (${why})` : ''}`}`);
        await recorder.write({}, [
          { kind: 'run.rollback', data: { run: runId, rollback: r.activity.name, ok, ...(why ? { reason: why } : {}) } },
        ]);
      },
    );
    await recorder.flush();
    if (recorder.failure !== undefined && error === undefined && aborted === undefined)
      error = `recording the run failed: ${messageOf(recorder.failure)}`;
    const decision = decideOutcome({
      rollbacks,
      gate,
      ...(aborted !== undefined ? { aborted: { reason: aborted } } : {}),
      ...(error !== undefined ? { error } : {}),
      ...(blocked ? { blocked } : {}),
      detections: tracker.summary(),
      ...(steadyAfter ? { steadyStateAfter: steadyAfter } : {}),
    });
    const matches = tracker.matches();
    const ttdMs = matches.length ? Math.min(...matches.map((m) => m.ttdMs)) : null;
    const endedAt = deps.clock.now().toISOString();
    // Done: no more heartbeats (a beat after the last write would find the run done, not held).
    unlease();
    journal.end = endedAt;
    journal.status = journalStatus(decision.outcome);
    Object.assign(journal.bulwark, {
      outcome: decision.outcome,
      reason: decision.reason,
      expectationsMet: decision.expectationsMet,
      timeToDetectMs: ttdMs,
    });
    await recorder.write({ state: 'done', outcome: decision.outcome, reason: decision.reason, endedAt, ttdMs, leaseUntil: null }, [
      {
        kind: 'run.finished',
        data: {
          run: runId,
          experiment: exp.title,
          outcome: decision.outcome,
          reason: decision.reason,
          expectationsMet: decision.expectationsMet,
          ttdMs,
          injections: journal.bulwark.injections.length,
          detections: matches.length,
        },
      },
    ]);
    progress('finish', `${decision.outcome}: ${decision.reason}`);
    deps.metrics?.runFinished({ experiment: exp.title, outcome: decision.outcome, ttdMs });
    const regression = await reportRegression(
      deps,
      { id: runId, experiment: exp.title, startedAt: new Date(startMs).toISOString(), outcome: decision.outcome, reason: decision.reason },
      (message) => progress(message.startsWith('could not') ? 'warn' : 'regression', message),
    );
    return {
      runId,
      experiment: exp.title,
      dryRun: false,
      outcome: decision.outcome,
      reason: decision.reason,
      expectationsMet: decision.expectationsMet,
      exitCode: exitCodeFor(decision),
      ttdMs,
      detections: matches,
      injections: journal.bulwark.injections,
      plan: prepared.plan,
      warnings: prepared.warnings,
      journal: journal.toJson(secrets),
      ...(regression ? { regression } : {}),
    };
  }

  function lostResult(reason: string): RunResult {
    return {
      runId,
      experiment: exp.title,
      dryRun: false,
      outcome: 'aborted',
      reason: `aborted: ${reason}`,
      expectationsMet: false,
      exitCode: exitCodeFor({ outcome: 'aborted', reason, expectationsMet: false }),
      ttdMs: null,
      detections: tracker.matches(),
      injections: journal.bulwark.injections,
      plan: prepared.plan,
      warnings: prepared.warnings,
      journal: journal.toJson(secrets),
    };
  }
}
