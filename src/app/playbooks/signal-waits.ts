/**
 * Signals resume waiting steps: each new signal (resolutions included) is matched against every
 * `wait` step under way that waits for a signal (`wait: { signal: CEL, timeout }`), in its run's
 * context (`inputs`, `steps`, `trigger`, `run`, and `signal` the new one). A match finishes the
 * step (its outputs: the signal) and makes the run due, in one transaction with its ledger entry;
 * the step moves from running to done by a compare and set, so of two replicas seeing the signal,
 * or a signal and the step's deadline, one wins. Signals received before the wait began do not
 * count. Nothing waits in memory: the waits are rows (store: runningWaits).
 *
 * Signals are matched in passes, one at a time (SignalWaitQueue): the signals that arrived while a
 * pass ran are matched together in the next, the waits are read once per pass (page after page,
 * none left out), and each version's model and each run's context are read once per pass. A wait
 * that begins also looks at the signals received since it began (catchUpSignalWait), so a signal
 * whose pass ran before the waiting row was committed is not lost.
 */
import { systemActor } from '../../core/ledger/actor.ts';
import { evaluate, type ExprContext } from '../../core/playbooks/expressions.ts';
import type { Playbook, Step } from '../../core/playbooks/types.ts';
import type { PlaybookRunRecord, StepExecutionRecord, WaitCursor } from '../../store/playbooks/port.ts';
import type { SignalCursor, SignalRecord } from '../../store/signals/port.ts';
import type { AppDeps } from '../deps.ts';
import { versionModel } from './apply-playbook.ts';

/** Waits read per page of a pass (every page is read). */
export const WAITS_PAGE = 1000;
/** Signals matched in one pass at most (the rest in the next). */
export const MAX_SIGNALS_PER_PASS = 500;
/** Signals queued for the waits at most; past it a signal is counted (overflowed) and found by a catch-up pass instead. */
export const MAX_QUEUED_SIGNALS = 10_000;
/**
 * Signals one catch-up of one wait reads at most; a wait with more since it began goes on from
 * its stored position at the next catch-up pass (the queue runs passes until none is left).
 */
export const MAX_CATCH_UP_SIGNALS = 2000;

const MATCHER = systemActor('playbooks', 'system');

export interface SignalWaitResult {
  resumed: { run: string; step: string; signal: string }[];
  /** Waits whose expression failed on a signal (a missing field, a wrong type): not resumed by it. */
  errors: { run: string; step: string; signal: string; message: string }[];
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

type Wait = Pick<StepExecutionRecord, 'runId' | 'idx' | 'mode' | 'attempts' | 'startedAt'>;

export interface PassOptions {
  /** Waits read per page (WAITS_PAGE by default). */
  pageSize?: number;
  /** Signals one catch-up of one wait reads at most (MAX_CATCH_UP_SIGNALS by default). */
  maxCatchUp?: number;
}

/** Match signals (one, or the batch of a pass, in order of receipt) against every wait under way. */
export async function resumeSignalWaits(
  deps: AppDeps,
  signals: SignalRecord | readonly SignalRecord[],
  o: PassOptions = {},
): Promise<SignalWaitResult> {
  const out: SignalWaitResult = { resumed: [], errors: [] };
  const list = (Array.isArray(signals) ? [...(signals as readonly SignalRecord[])] : [signals as SignalRecord]).sort((a, b) =>
    a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  if (list.length === 0) return out;
  const pageSize = o.pageSize ?? WAITS_PAGE;
  const models = new Map<string, Promise<Playbook>>();
  const model = (playbook: string, version: number) => {
    const key = `${playbook}\u0000${version}`;
    let m = models.get(key);
    if (!m) models.set(key, (m = versionModel(deps.store, playbook, version)));
    return m;
  };
  let after: WaitCursor | undefined;
  for (;;) {
    const page = await deps.store.playbooks.runningWaits(pageSize, after);
    for (const w of page) {
      const m = await model(w.playbook, w.version).catch(() => undefined);
      const step = m?.steps[w.idx];
      if (!step?.waitSignal) continue;
      const candidates = list.filter((s) => w.startedAt === null || s.receivedAt >= w.startedAt);
      if (candidates.length === 0) continue;
      await matchOne(deps, w, step, candidates, out);
    }
    if (page.length < pageSize) return out;
    const last = page.at(-1)!;
    after = { startedAt: last.startedAt!, runId: last.runId, idx: last.idx };
  }
}

/**
 * Where a wait's catch-up is, kept in its (running) step's outputs as `catchUp`: the signals are
 * listed newest first, so a scan goes from the newest down to the wait's start, over as many
 * passes as it takes, remembering the oldest match so far; when it reaches the bottom, that match
 * (the first matching signal received since the wait began) finishes the wait. `seen`: everything
 * received at or before it has been looked at by a finished scan (the next one stops there).
 */
interface CatchUp {
  seen?: SignalCursor;
  top?: SignalCursor;
  cursor?: SignalCursor;
  match?: string;
}

const atOrBefore = (s: SignalCursor, c: SignalCursor) => s.receivedAt < c.receivedAt || (s.receivedAt === c.receivedAt && s.id <= c.id);

/**
 * A `wait` for a signal looks at the signals received since it began (its run's context read
 * once): at most `maxCatchUp` of them per call, from its stored position; the oldest that matches
 * finishes it once the scan reaches the wait's start. `resumed`: it did; `more`: the scan is not
 * done (call again: the queue's catch-up passes do).
 */
export async function catchUpSignalWait(
  deps: AppDeps,
  runId: string,
  idx: number,
  o: Pick<PassOptions, 'maxCatchUp'> = {},
): Promise<{ resumed: boolean; more: boolean }> {
  const none = { resumed: false, more: false };
  const run = await deps.store.playbooks.getRun(runId);
  const w = await deps.store.playbooks.getStep(runId, idx);
  if (!run || !w || w.state !== 'running' || !w.startedAt) return none;
  const step = (await versionModel(deps.store, run.playbook, run.version)).steps[idx];
  if (!step?.waitSignal) return none;
  const max = o.maxCatchUp ?? MAX_CATCH_UP_SIGNALS;
  const state: CatchUp = { ...((w.outputs as { catchUp?: CatchUp } | null)?.catchUp ?? {}) };
  const base = await contextOf(deps, run);
  const errors: SignalWaitResult['errors'] = [];
  let read = 0;
  let done = false;
  let cursor = state.cursor;
  let matched: SignalRecord | undefined;
  while (!done && read < max) {
    const page = await deps.store.signals.list({
      since: state.seen?.receivedAt ?? w.startedAt,
      limit: Math.min(500, max - read),
      ...(cursor ? { cursor } : {}),
    });
    read += page.signals.length;
    for (const sig of page.signals) {
      const at = { receivedAt: sig.receivedAt, id: sig.id };
      if (state.seen && atOrBefore(at, state.seen)) {
        done = true;
        break;
      }
      state.top ??= at;
      const m = evaluate(step.waitSignal.match, { ...base, signal: signalView(sig) });
      if (!m.ok) errors.push({ run: run.id, step: step.id, signal: sig.id, message: m.message });
      // Newest first: a later match is an older signal.
      else if (m.value === true) {
        state.match = sig.id;
        matched = sig;
      }
    }
    if (!page.next) done = true;
    else cursor = page.next;
  }
  if (done && state.match) {
    // Found by this call, or by an earlier one of the same scan (read again by its id).
    const sig = matched ?? (await deps.store.signals.get(state.match));
    if (sig) return { resumed: await finish(deps, run, w, step, sig.id, signalView(sig)), more: false };
  }
  const next: CatchUp = done
    ? { ...((state.top ?? state.seen) ? { seen: state.top ?? state.seen } : {}) }
    : { ...state, ...(cursor ? { cursor } : {}) };
  // Kept only while the step still runs (a signal or the deadline may have moved it meanwhile).
  await deps.store.playbooks.updateStep(run.id, idx, { outputs: { catchUp: next }, updatedAt: deps.clock.now().toISOString() }, [
    'running',
  ]);
  return { resumed: false, more: !done };
}

/** A run's context for a wait's expression: inputs, the done steps' outputs, trigger, run. */
async function contextOf(deps: AppDeps, run: PlaybookRunRecord): Promise<Omit<ExprContext, 'signal'>> {
  const outputs: Record<string, unknown> = {};
  for (const s of await deps.store.playbooks.steps(run.id)) if (s.state === 'done') outputs[s.stepId] = s.outputs;
  return { inputs: run.inputs, steps: outputs, trigger: run.trigger, run: { id: run.id, playbook: run.playbook, version: run.version } };
}

/** The first of `signals` (in order) that matches the wait finishes it; the run's context is read once. */
async function matchOne(deps: AppDeps, w: Wait, step: Step, signals: readonly SignalRecord[], out: SignalWaitResult): Promise<void> {
  const run = await deps.store.playbooks.getRun(w.runId);
  if (!run) return;
  const base = await contextOf(deps, run);
  for (const signal of signals) {
    const view = signalView(signal);
    const m = evaluate(step.waitSignal!.match, { ...base, signal: view });
    if (!m.ok) {
      out.errors.push({ run: run.id, step: step.id, signal: signal.id, message: m.message });
      continue;
    }
    if (m.value !== true) continue;
    if (await finish(deps, run, w, step, signal.id, view)) out.resumed.push({ run: run.id, step: step.id, signal: signal.id });
    // Won or lost (the deadline, another replica), the step has moved on: no later signal for it.
    return;
  }
}

async function finish(
  deps: AppDeps,
  run: PlaybookRunRecord,
  w: Wait,
  step: Step,
  signalId: string,
  view: ReturnType<typeof signalView>,
): Promise<boolean> {
  const now = deps.clock.now().toISOString();
  return deps.store
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
            data: { run: run.id, step: step.id, index: w.idx, signal: signalId },
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
}

/** The step was moved on (its deadline, another replica) between the look and the write: undone. */
class Lost extends Error {}

/**
 * Every wait under way looks at the signals received since it began (catchUpSignalWait), page by
 * page: what a pass does for signals the queue could not hold. The number of waits resumed.
 */
export async function catchUpAllWaits(deps: AppDeps, o: PassOptions = {}): Promise<number> {
  return (await catchUpPass(deps, o)).resumed;
}

/** One catch-up pass over every wait under way: the waits resumed, and whether one has more to read. */
async function catchUpPass(deps: AppDeps, o: PassOptions): Promise<{ resumed: number; more: boolean }> {
  const pageSize = o.pageSize ?? WAITS_PAGE;
  let after: WaitCursor | undefined;
  let resumed = 0;
  let more = false;
  for (;;) {
    const page = await deps.store.playbooks.runningWaits(pageSize, after);
    for (const w of page) {
      const r = await catchUpSignalWait(deps, w.runId, w.idx, o);
      if (r.resumed) resumed++;
      if (r.more) more = true;
    }
    if (page.length < pageSize) return { resumed, more };
    const last = page.at(-1)!;
    after = { startedAt: last.startedAt!, runId: last.runId, idx: last.idx };
  }
}

export interface QueueOptions extends PassOptions {
  /** Signals queued at most (MAX_QUEUED_SIGNALS by default). */
  maxQueued?: number;
}

/**
 * New signals for the waits, matched one pass at a time: `push` queues a signal and starts a pass
 * when none runs; a pass takes the queued signals (up to MAX_SIGNALS_PER_PASS) together, and when
 * it ends the next pass takes what came meanwhile. So a burst of signals is a few passes, not one
 * scan of every wait per signal.
 *
 * The queue is bounded (`maxQueued`): a signal that finds it full is not queued but counted
 * (`overflowed`), and once the queue is drained a catch-up pass has every wait under way look at
 * the signals stored since it began, so an overflowed signal still resumes what it matches, only
 * later. Memory stays bounded under a flood; nothing is dropped unseen.
 */
export class SignalWaitQueue {
  private readonly queue: SignalRecord[] = [];
  private running: Promise<void> | undefined;
  private stopped = false;
  private catchUpDue = false;
  /** Signals that found the queue full, since the queue was made. */
  overflowed = 0;

  constructor(
    private readonly deps: AppDeps,
    private readonly report: (r: SignalWaitResult) => void,
    private readonly onError: (e: unknown) => void,
    private readonly o: QueueOptions = {},
    /** Told when a signal overflows (with the count so far) and when a catch-up pass ends (with the waits it resumed). */
    private readonly onOverflow?: (e: { overflowed: number } | { caughtUp: number }) => void,
  ) {}

  /** Signals waiting for a pass. */
  get queued(): number {
    return this.queue.length;
  }

  push(signal: SignalRecord): void {
    if (this.stopped) return;
    if (this.queue.length >= (this.o.maxQueued ?? MAX_QUEUED_SIGNALS)) {
      this.overflowed++;
      this.catchUpDue = true;
      this.onOverflow?.({ overflowed: this.overflowed });
      this.next();
      return;
    }
    this.queue.push(signal);
    this.next();
  }

  /** Resolves when no pass runs and nothing is queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    await this.idle();
  }

  private next(): void {
    if (this.running) return;
    if (this.queue.length === 0) {
      if (!this.catchUpDue || this.stopped) return;
      this.catchUpDue = false;
      this.running = catchUpPass(this.deps, this.o)
        .then((r) => {
          // A wait with more to read than a pass reads goes on from its stored position in the next pass.
          if (r.more) this.catchUpDue = true;
          this.onOverflow?.({ caughtUp: r.resumed });
        }, this.onError)
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.next();
        });
      return;
    }
    const batch = this.queue.splice(0, MAX_SIGNALS_PER_PASS);
    this.running = resumeSignalWaits(this.deps, batch, this.o)
      .then(this.report, this.onError)
      .finally(() => {
        this.running = undefined;
        if (!this.stopped) this.next();
      });
  }
}
