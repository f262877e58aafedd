/**
 * One run, from the pending row to the decided outcome, as a sequence of phases (executeRun):
 * admit, the gate, the method, the blocked verdict, steady state after, the wait for detections,
 * then rollbacks — always, whatever a phase did — and the outcome. The phases share one
 * RunContext (run-context.ts). Every step that changes the run is written with its ledger entry
 * in one transaction (run-recorder.ts), shared with the writes of the runner's other runs
 * (run-writes.ts). The run's row goes in with its first write: with run.started when its targets
 * have a free slot, or as pending before it waits for one. The runner (../run-experiment.ts) owns
 * what is shared between runs: the concurrency limit, the stop switch, the lease owner and the
 * heartbeat.
 */
import { controlResults, type ControlResult } from '../../../core/experiments/controls.ts';
import { decideOutcome, exitCodeFor, type Outcome, type OutcomeDecision, type RunSummary } from '../../../core/experiments/outcome.ts';
import { formatDuration } from '../../../core/experiments/duration.ts';
import type { Activity, Step } from '../../../core/experiments/types.ts';
import { activityOk, runActivity, type ActivityRun } from './activities.ts';
import { judgeBlocked as blockedVerdict, watchAbortCondition } from './judges.ts';
import type { DetectionMatch } from './detections.ts';
import { journalStatus, type InjectionRecord } from './journal.ts';
import { reportRegression, reportRuleRegressions } from './regression.ts';
import { runRollbacks } from './rollbacks.ts';
import { RunContext, type Execution, type Findings } from './run-context.ts';
import { sleep } from '../../sleep.ts';
import type { RunResult } from '../run-experiment.ts';

export type { Execution } from './run-context.ts';

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
  const run = new RunContext(x);
  // Throws only when the run's row could not be stored: nothing is recorded, nothing was sent.
  const startFailure = await admit(run);
  try {
    if (startFailure !== undefined) throw startFailure;
    startWatching(run);
    await checkGate(run);
    if (run.found.gate !== 'failed') {
      watchAbortConditions(run);
      await runMethod(run);
      await judgeBlocked(run);
      await steadyStateAfter(run);
      await awaitDetections(run);
    }
  } catch (e) {
    // Every failure of a phase ends here, so what follows runs whatever happened.
    if (!x.signal.aborted) run.found.error = messageOf(e);
  }
  const aborted = await stopWatching(run);
  try {
    if (run.recorder.lost) return leaveToNewOwner(run, aborted);
    noteEnd(run, aborted);
    const rollbacks = await rollBack(run);
    return await finish(run, rollbacks, aborted);
  } finally {
    run.unlease();
    run.release?.();
  }
}

/**
 * Store the row and take the target slots, then `running` + run.started. Resolves with why the
 * run could not start once its row is stored (undefined: it started); rejects when the row could
 * not be stored: the run then fails as a whole, as before it started.
 */
async function admit(run: RunContext): Promise<unknown> {
  const { x, prepared, recorder } = run;
  const started = [
    { kind: 'run.started', data: { run: run.runId, experiment: run.exp.title, techniques: run.exp.techniques, targets: prepared.targets } },
  ];
  try {
    const busy = x.targetsBusy(prepared.targets);
    if (run.ahead) {
      // The row and its rollbacks are durable before the start time; at that time the run
      // sends at once, and `running` with run.started is written behind it (in order: it is
      // committed before any later write of this run).
      await run.insertRow(run.pendingRow);
      // With slots in the database, taken now (the row is stored: they count with its lease),
      // while the run waits for its time.
      const early = x.slotsInStore
        ? x.acquire(prepared.targets, x.signal).then((r) => {
            run.release = r;
          })
        : undefined;
      early?.catch(() => undefined);
      // Asked shortly before the start time, so that the answer is there at that time.
      const verdict = mayStart(run, run.startMs - MAY_START_LEAD_MS);
      await run.sleepUntil(run.startMs, x.signal);
      const refused = await verdict;
      if (refused !== undefined) {
        x.abort(refused);
        throw new Error(refused);
      }
      if (early) await early;
      else run.release = await x.acquire(prepared.targets, x.signal);
      void recorder.write({ state: 'running' }, started, { behind: true }).catch(() => undefined);
    } else if (x.slotsInStore && !x.signal.aborted) {
      // Whether the slots are free is known only once they are taken: the row goes in as
      // pending only when the run has to wait.
      run.release = await x.acquire(prepared.targets, x.signal, async () => {
        await run.insertRow(run.pendingRow);
        run.progress('wait', `waiting for a free slot on ${prepared.targets.join(', ')}`);
      });
      if (recorder.inserted) await recorder.write({ state: 'running' }, started, { soon: true });
      else await run.insertRow({ ...run.pendingRow, state: 'running' }, started);
    } else if (busy || x.signal.aborted) {
      await run.insertRow(run.pendingRow);
      if (busy) run.progress('wait', `waiting for a free slot on ${prepared.targets.join(', ')}`);
      run.release = await x.acquire(prepared.targets, x.signal);
      await recorder.write({ state: 'running' }, started, { soon: true });
    } else {
      run.release = await x.acquire(prepared.targets, x.signal);
      await run.insertRow({ ...run.pendingRow, state: 'running' }, started);
    }
  } catch (e) {
    // One stopped before its row went in is stored as pending, and ends as aborted.
    if (!recorder.inserted && x.signal.aborted) await run.insertRow(run.pendingRow).catch(() => undefined);
    if (!recorder.inserted) {
      run.release?.();
      throw e;
    }
    return e;
  }
  return undefined;
}

/**
 * A run stored ahead: whether it may still start (RunRequest.beforeStart), asked at `atMs`;
 * the reason when it may not. Never rejects: a stop meanwhile is the caller's to see.
 */
async function mayStart(run: RunContext, atMs: number): Promise<string | undefined> {
  const { req, signal } = run.x;
  if (!req.beforeStart) return undefined;
  try {
    await run.sleepUntil(atMs, signal);
  } catch {
    return undefined;
  }
  try {
    return await req.beforeStart();
  } catch (e) {
    return `could not check that the run may start: ${messageOf(e)}`;
  }
}

/** Signals from the bus go to the tracker from now on; safety.maxDuration starts counting. */
function startWatching(run: RunContext): void {
  run.progress('start', `run ${run.runId} started: ${run.exp.title}`);
  run.unsubscribe = run.deps.detections?.subscribe((s) => void run.tracker.offer(s));
  const maxMs = run.exp.safety?.maxDurationMs;
  if (maxMs !== undefined) {
    run.maxEnd = run.clockMs() + maxMs;
    run.maxTimer = setTimeout(() => run.x.abort(`safety.maxDuration of ${formatDuration(maxMs)} reached`), maxMs);
  }
}

/** The steady-state hypothesis before the method: failed, nothing is injected (`not-run`). */
async function checkGate(run: RunContext): Promise<void> {
  const hyp = run.exp.steadyStateHypothesis;
  if (!hyp) return;
  run.journal.steadyBefore = await probe(run, hyp.probes);
  run.found.gate = run.journal.steadyBefore.met ? 'passed' : 'failed';
  run.progress(
    'gate',
    run.found.gate === 'passed' ? 'steady state holds: running the method' : 'steady state does not hold: nothing will be injected',
  );
}

/** safety.abort: each probe every so often until the run stops watching; the first that fails stops the run. */
function watchAbortConditions(run: RunContext): void {
  for (const a of run.exp.safety?.abort ?? []) {
    const env = { ...run.activityBase, signal: run.loopSignal };
    run.loops.push(
      watchAbortCondition(
        a.probe,
        a.everyMs,
        env,
        (r) => run.journal.during.push(r),
        (why) => run.x.abort(why),
      ),
    );
  }
}

/**
 * The method, step by step; background steps run beside the next ones. A failed step stops the
 * method (and the background steps with it), after the steps under way have ended.
 */
async function runMethod(run: RunContext): Promise<void> {
  const methodCtl = new AbortController();
  const signal = AbortSignal.any([run.x.signal, methodCtl.signal]);
  const bg: Promise<void>[] = [];
  let bgFailure: unknown;
  for (const step of run.exp.method) {
    const a = activityOf(step);
    if (a.background) {
      bg.push(
        runStep(run, a, signal).catch((e: unknown) => {
          bgFailure ??= e;
          methodCtl.abort(e);
        }),
      );
      continue;
    }
    try {
      await runStep(run, a, signal);
    } catch (e) {
      methodCtl.abort(e);
      await Promise.allSettled(bg);
      throw e;
    }
    if (bgFailure !== undefined) break;
  }
  await Promise.allSettled(bg);
  if (bgFailure !== undefined) throw bgFailure;
}

/** One step of the method; an injection is recorded (run.injected) before its pause. */
async function runStep(run: RunContext, a: Activity, signal: AbortSignal): Promise<void> {
  const { options, journal } = run;
  const injection = run.prepared.injections.has(a);
  const r = await runActivity(a, {
    ...run.activityBase,
    signal,
    defaultTimeoutMs: options.activityTimeoutMs,
    // The injection's time is stamped where the provider says it left: nothing may sit between.
    ...(injection ? { onSent: run.onInjected } : {}),
    pauseAfter: false,
  });
  journal.run.push(r);
  const status = statusOf(r.output);
  const what = `${a.type} '${a.name}': ${r.status}${status !== undefined ? `, status ${status}` : ''}${r.exception ? ` (${r.exception})` : ''}`;
  if (injection) {
    const at = r.sentAtMs ?? r.startMs;
    run.onInjected(at);
    run.injected.push(r);
    const rec: InjectionRecord = {
      activity: a.name,
      at: new Date(at).toISOString(),
      ok: r.status === 'succeeded',
      ...(status !== undefined ? { status } : {}),
      ...(r.exception ? { error: r.exception } : {}),
    };
    journal.bulwark.injections.push(rec);
    run.progress('inject', `injected ${what}`);
    await run.recorder.write({}, [{ kind: 'run.injected', data: { run: run.runId, ...rec } }]);
  } else {
    run.progress('activity', what);
  }
  if (r.status === 'failed') throw new StepFailed(`${a.type} '${a.name}' failed: ${r.exception}`);
  // Paused only now that the step is recorded: a stop during the pause keeps what was sent.
  if (a.pauses.afterMs) await sleep(a.pauses.afterMs, signal);
}

/** `expect.blocked`, judged over each injection's result. */
async function judgeBlocked(run: RunContext): Promise<void> {
  const asked = run.exp.expect?.blocked;
  if (!asked) return;
  const v = await blockedVerdict(run.injected, asked, { ...run.activityBase, signal: run.x.signal });
  run.journal.bulwark.blocked = { asked: true, ...v };
  run.found.blocked = { asked: true, held: v.held };
  const why = v.results.find((r) => !r.ok)?.reason ?? 'nothing was injected';
  run.progress('blocked', v.held ? 'blocked: every injection met the tolerance' : `not blocked: ${why}`);
}

/** The steady-state hypothesis again, after the method. */
async function steadyStateAfter(run: RunContext): Promise<void> {
  const hyp = run.exp.steadyStateHypothesis;
  if (!hyp) return;
  run.journal.steadyAfter = await probe(run, hyp.probes);
  run.found.steadyAfter = run.journal.steadyAfter.met ? 'held' : 'deviated';
  run.journal.deviated = run.found.steadyAfter === 'deviated';
}

/**
 * Until every detection is matched, or the last deadline plus the grace for late ones (cut short
 * by safety.maxDuration) has passed; rejects when the run is stopped.
 */
async function awaitDetections(run: RunContext): Promise<void> {
  const { tracker, x } = run;
  const last = tracker.lastDeadline();
  if (!tracker.asked || last === undefined || tracker.allMatched()) return;
  const grace = run.options.lateGraceMs ?? Math.min(tracker.longestDeadlineMs(), 600_000);
  let end = last + grace;
  if (run.maxEnd !== undefined) end = Math.max(last, Math.min(end, run.maxEnd - 25));
  run.progress(
    'wait',
    `waiting for detections: deadline in ${Math.max(0, last - run.clockMs())} ms, late ones counted for ${grace} ms more`,
  );
  await new Promise<void>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      x.signal.removeEventListener('abort', onAbort);
      run.wake = () => {};
      resolve();
    };
    const onAbort = () => {
      clearTimeout(timer);
      run.wake = () => {};
      reject(x.signal.reason as Error);
    };
    const timer = setTimeout(done, Math.max(0, end - run.clockMs()));
    run.wake = () => {
      if (tracker.allMatched()) done();
    };
    x.signal.addEventListener('abort', onAbort, { once: true });
    if (x.signal.aborted) onAbort();
  });
}

/** Stop what went on beside the phases; resolves with why the run was stopped, if it was. */
async function stopWatching(run: RunContext): Promise<string | undefined> {
  run.background.abort();
  clearTimeout(run.maxTimer);
  run.unsubscribe?.();
  run.tracker.close();
  await Promise.allSettled(run.loops);
  return run.x.signal.aborted ? (run.x.abortReason() ?? 'stopped') : undefined;
}

/** Why the run ended early, into the journal, before its rollbacks. */
function noteEnd(run: RunContext, aborted: string | undefined): void {
  if (aborted !== undefined) {
    run.journal.bulwark.aborted = aborted;
    run.progress('abort', `aborted: ${aborted}`);
  }
  if (run.found.error !== undefined) run.journal.bulwark.error = run.found.error;
}

/** Every rollback, to the end (automatic restores first): `rolling-back`, then run.rollback each. */
async function rollBack(run: RunContext): Promise<{ ok: boolean; name: string }[]> {
  const { prepared, recorder } = run;
  run.progress('rollback', prepared.rollbacks.length ? `rolling back (${prepared.rollbacks.length})` : 'no rollbacks');
  // With no rollbacks to run, the run goes straight to done.
  if (prepared.rollbacks.length > 0) await recorder.write({ state: 'rolling-back' }).catch(() => undefined);
  return runRollbacks(
    prepared.rollbacks,
    { providers: run.deps.providers, clock: run.deps.clock, runId: run.runId, timeoutMs: run.options.rollbackTimeoutMs },
    async (r, ok) => {
      run.journal.rollbacks.push(r);
      const why = r.exception ?? (r.tolerance_met === false ? r.tolerance_reason : undefined);
      run.progress('rollback', `rollback '${r.activity.name}': ${ok ? 'ok' : `FAILED${why ? ` (${why})` : ''}`}`);
      await recorder.write({}, [
        { kind: 'run.rollback', data: { run: run.runId, rollback: r.activity.name, ok, ...(why ? { reason: why } : {}) } },
      ]);
    },
  );
}

/** The outcome, `done` + run.finished, metrics, and a regression reported as a signal. */
async function finish(run: RunContext, rollbacks: RunSummary['rollbacks'], aborted: string | undefined): Promise<RunResult> {
  const { deps, exp, journal, recorder, runId } = run;
  await recorder.flush();
  if (recorder.failure !== undefined && run.found.error === undefined && aborted === undefined)
    run.found.error = `recording the run failed: ${messageOf(recorder.failure)}`;
  const decision = decideOutcome(runSummary(run.found, rollbacks, aborted, run.tracker.summary()));
  const matches = run.tracker.matches();
  const ttdMs = firstTtd(matches);
  const controls = controlsOf(run, decision.outcome);
  const endedAt = deps.clock.now().toISOString();
  // Done: no more heartbeats (a beat after the last write would find the run done, not held).
  run.unlease();
  journal.end = endedAt;
  journal.status = journalStatus(decision.outcome);
  Object.assign(journal.bulwark, {
    outcome: decision.outcome,
    reason: decision.reason,
    expectationsMet: decision.expectationsMet,
    timeToDetectMs: ttdMs,
    detections: run.tracker.report(),
    ...(controls ? { controls } : {}),
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
        ...(controls ? { controls: controls.map((c) => ({ control: c.control, results: c.results, findings: c.findings })) } : {}),
      },
    },
  ]);
  run.progress('finish', `${decision.outcome}: ${decision.reason}`);
  deps.metrics?.runFinished({ experiment: exp.title, outcome: decision.outcome, ttdMs });
  const regression = await reportRegression(
    deps,
    {
      id: runId,
      experiment: exp.title,
      startedAt: new Date(run.startMs).toISOString(),
      outcome: decision.outcome,
      reason: decision.reason,
    },
    (message) => run.progress(message.startsWith('could not') ? 'warn' : 'regression', message),
  );
  const ruleRegressions = await reportRuleRegressions(
    deps,
    { id: runId, experiment: exp.title, startedAt: new Date(run.startMs).toISOString(), outcome: decision.outcome },
    run.tracker.report(),
    (message) => run.progress(message.startsWith('could not') ? 'warn' : 'regression', message),
  );
  return {
    ...resultOf(run, decision, ttdMs, matches),
    ...(controls ? { controls } : {}),
    ...(regression ? { regression } : {}),
    ...(ruleRegressions.length ? { ruleRegressions } : {}),
  };
}

/**
 * The lease was lost: another process took the run over and runs its rollbacks; this one
 * touches it no more.
 */
function leaveToNewOwner(run: RunContext, aborted: string | undefined): RunResult {
  const reason = aborted ?? 'lease lost';
  run.progress('abort', `${reason}; leaving the rollbacks to that process`);
  return resultOf(run, { outcome: 'aborted', reason: `aborted: ${reason}`, expectationsMet: false }, null, run.tracker.matches());
}

/** What decideOutcome is given: what the phases found, the rollbacks, a stop, the detections. */
export function runSummary(
  found: Findings,
  rollbacks: RunSummary['rollbacks'],
  aborted: string | undefined,
  detections: RunSummary['detections'],
): RunSummary {
  return {
    rollbacks,
    gate: found.gate,
    ...(aborted !== undefined ? { aborted: { reason: aborted } } : {}),
    ...(found.error !== undefined ? { error: found.error } : {}),
    ...(found.blocked ? { blocked: found.blocked } : {}),
    detections,
    ...(found.steadyAfter ? { steadyStateAfter: found.steadyAfter } : {}),
  };
}

/**
 * What each control did, for a run whose outcome speaks of its controls (not a run that did not
 * run, was stopped, errored or failed its rollbacks); none when nothing was expected. A block
 * that held while the steady state deviated did not hold, as in decideOutcome.
 */
function controlsOf(run: RunContext, outcome: Outcome): ControlResult[] | undefined {
  if (!SPEAKS_OF_CONTROLS.includes(outcome)) return undefined;
  const expect = run.exp.expect;
  if (!expect || (!expect.blocked && expect.detected.length === 0)) return undefined;
  const blocked = expect.blocked
    ? {
        ...(expect.blocked.control !== undefined ? { control: expect.blocked.control } : {}),
        held: (run.found.blocked?.held ?? false) && run.found.steadyAfter !== 'deviated',
      }
    : undefined;
  return controlResults({ ...(blocked ? { blocked } : {}), detections: run.tracker.evidence() });
}

const SPEAKS_OF_CONTROLS: readonly Outcome[] = ['prevented', 'detected', 'detected-late', 'missed'];

/** Time to detect of the run: that of its first match; null without one. */
export function firstTtd(matches: readonly DetectionMatch[]): number | null {
  return matches.length ? Math.min(...matches.map((m) => m.ttdMs)) : null;
}

function resultOf(run: RunContext, decision: OutcomeDecision, ttdMs: number | null, matches: DetectionMatch[]): RunResult {
  return {
    runId: run.runId,
    experiment: run.exp.title,
    dryRun: false,
    outcome: decision.outcome,
    reason: decision.reason,
    expectationsMet: decision.expectationsMet,
    exitCode: exitCodeFor(decision),
    ttdMs,
    detections: matches,
    injections: run.journal.bulwark.injections,
    plan: run.prepared.plan,
    warnings: run.prepared.warnings,
    journal: run.journal.toJson(run.prepared.secrets),
  };
}

async function probe(run: RunContext, list: readonly Activity[]): Promise<{ met: boolean; probes: ActivityRun[] }> {
  const runs: ActivityRun[] = [];
  for (const a of list) {
    const r = await runActivity(a, { ...run.activityBase, signal: run.x.signal, defaultTimeoutMs: run.options.activityTimeoutMs });
    runs.push(r);
    run.progress(
      'probe',
      `probe '${a.name}': ${activityOk(r) ? 'ok' : 'failed'}${r.exception ? ` (${r.exception})` : r.tolerance_reason ? ` (${r.tolerance_reason})` : ''}`,
    );
  }
  return { met: runs.every(activityOk), probes: runs };
}
