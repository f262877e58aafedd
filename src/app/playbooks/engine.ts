/**
 * The playbook engine: advances runs step by step, writing each step's state before it acts and
 * its outcome after, with the ledger entry, in one transaction each. It holds no run in memory
 * between steps: a run waiting for a person, a wait's deadline or a retry's backoff is only rows,
 * and any engine on the database (a restarted process, another replica) picks it up when due by
 * claiming its lease (store: claimDue). A step that is done is never run again, because the
 * cursor moves in the same transaction that records it done. An `http` step that was being sent
 * when its process died is sent again with the same Idempotency-Key, so the service can tell.
 *
 * Clock and randomness (backoff jitter) are injected; nothing here sleeps: `tick()` does what is
 * due now, and the serve job calls it every second and when a person or a signal makes work.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { DomainError } from '../../core/errors.ts';
import { systemActor, type Actor } from '../../core/ledger/actor.ts';
import { evaluate, render, type ExprContext } from '../../core/playbooks/expressions.ts';
import {
  backoffMs,
  guardsHold,
  prepareProcess,
  prepareRequest,
  renderIncidentOp,
  statusOk,
  type PreparedRequest,
} from '../../core/playbooks/rules.ts';
import { describeProcessRefusal, processRefusals, type ExecutableEntry } from '../../core/experiments/process-policy.ts';
import type { ProcessProvider, ProcessResult } from '../../core/experiments/providers/process.ts';
import type { RunManager } from '../experiments/run-manager.ts';
import type { ProviderContext } from '../experiments/runner/providers.ts';
import { applyIncidentOp, storeIn } from './incident-steps.ts';
import { openSecrets, redactor, type SecretResolver } from './step-secrets.ts';
import type { Playbook, Step } from '../../core/playbooks/types.ts';
import { RUN_STATES, FINAL_RUN_STATES, type PlaybookRunRecord, type StepExecutionRecord } from '../../store/playbooks/port.ts';
import type { Json } from '../../core/ledger/entry.ts';
import type { Repos } from '../../store/store.ts';
import type { AppDeps, Random } from '../deps.ts';
import { approvalService, type ApprovalService } from '../access/approvals.ts';
import { versionModel } from './apply-playbook.ts';
import { MAX_CALL_DEPTH, startRun } from './runs.ts';
import { catchUpSignalWait } from './signal-waits.ts';
import type { HttpTransport } from './transport.ts';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

export interface EngineOptions {
  transport: HttpTransport;
  random: Random;
  /** Who holds the leases this engine takes (`host:pid:nonce` by default). */
  owner?: string;
  /** How long a claim holds beyond a step's timeout before another engine may take the run. */
  leaseMs?: number;
  /** Runs claimed per tick. */
  batch?: number;
  onError?: (err: unknown, runId: string) => void;
  /** Access's multi-party approvals (`services.approvals`); by default the same functions over `deps`. */
  approvals?: ApprovalService;
  /** How often a run waiting for an approval looks at it (10 s by default). */
  approvalPollMs?: number;
  /** How often a run waiting for a child run (a `playbook` step) or an experiment's outcome looks at it (2 s by default). */
  childPollMs?: number;
  /** Sealed secrets (`services.secrets`): opened when a step that names one is executed, and only then. */
  secrets?: SecretResolver;
  /**
   * `process` steps: the server's allow-list (`experiments.allowExecutables`, the experiments'
   * rule) and how a process starts (the experiments' process provider). Absent: refused.
   */
  process?: {
    allowExecutables: readonly ExecutableEntry[];
    run: (p: ProcessProvider, ctx: ProviderContext) => Promise<ProcessResult>;
  };
  /** `run-experiment` steps: the experiments capability's run manager (`services.experiments`). Absent: refused. */
  experiments?: Pick<RunManager, 'start'>;
}

/** What a process step keeps of its output, per stream. */
export const PROCESS_OUTPUT_CHARS = 4000;

/** The approval an `approval` step asks for: what it is about, and the exact parameters it consumes. */
export function approvalRef(run: Pick<PlaybookRunRecord, 'id' | 'playbook' | 'version'>, step: string) {
  return {
    kind: 'playbook.step',
    resource: `playbook-run:${run.id}/${step}`,
    payload: { run: run.id, playbook: run.playbook, version: run.version, step },
  };
}

/** How many calls below its root a run is (0: started by a person, a signal or a schedule). */
function callDepth(run: Pick<PlaybookRunRecord, 'trigger'>): number {
  const t = run.trigger as { kind?: unknown; depth?: unknown } | null;
  if (!t || t.kind !== 'playbook') return 0;
  return typeof t.depth === 'number' && Number.isSafeInteger(t.depth) && t.depth > 0 ? t.depth : 1;
}

/** Thrown inside a write when a compare and set on the step lost (a signal or a person moved it first): the write is undone. */
class StepMoved extends Error {}

const ENGINE: Actor = systemActor('playbooks', 'system');
const ACTIVE_RUN_STATES = RUN_STATES.filter((s) => !FINAL_RUN_STATES.includes(s));
type Entry = Parameters<Repos['ledger']['append']>[0][number];
/**
 * Who an `incident` or `case` step acts as, and how it sees incidents: the playbook itself
 * (`playbook:NAME`), never the engine as a whole, so a restricted incident one playbook opened
 * (the opener is a participant) is out of another playbook's reach.
 */
const playbookActor = (playbook: string): Actor => systemActor(`playbook:${playbook}`.slice(0, 200), 'system');
const playbookViewer = (playbook: string) => ({ id: playbookActor(playbook).id, seesRestricted: false });

interface StartOptions {
  attempt: number;
  idempotencyKey: string | null;
  /** The step's start (the window of a wait): the first start's by default. */
  startedAt?: string;
  /** More of the step's row to write with its start (its key, outputs). */
  step?: Parameters<Repos['playbooks']['updateStep']>[2];
  /** The run's row to write with it (a lease long enough for the call, or a wake time). */
  run?: Parameters<Repos['playbooks']['updateRun']>[1];
}

export class PlaybookEngine {
  readonly owner: string;
  private readonly leaseMs: number;
  private readonly batch: number;
  private readonly approvals: ApprovalService;
  private readonly approvalPollMs: number;
  private readonly childPollMs: number;

  constructor(
    private readonly deps: AppDeps,
    private readonly o: EngineOptions,
  ) {
    this.owner = o.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.leaseMs = o.leaseMs ?? 30_000;
    this.batch = o.batch ?? 20;
    this.approvals = o.approvals ?? approvalService(deps);
    this.approvalPollMs = o.approvalPollMs ?? 10_000;
    this.childPollMs = o.childPollMs ?? 2_000;
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }

  private later(ms: number): string {
    return new Date(this.deps.clock.now().getTime() + ms).toISOString();
  }

  /** Claim what is due and advance each run as far as it goes now; the number of runs advanced. */
  async tick(): Promise<number> {
    let total = 0;
    for (;;) {
      const claimed = await this.deps.store.playbooks.claimDue(this.owner, this.now(), this.later(this.leaseMs), this.batch);
      await Promise.all(
        claimed.map((r) =>
          this.advance(r.id).catch(async (e: unknown) => {
            this.o.onError?.(e, r.id);
            await this.release(r.id).catch(() => {});
          }),
        ),
      );
      total += claimed.length;
      if (claimed.length < this.batch) return total;
    }
  }

  private async release(id: string, wakeAt?: string | null): Promise<void> {
    await this.deps.store.playbooks.updateRun(
      id,
      { leaseOwner: null, leaseUntil: null, ...(wakeAt !== undefined ? { wakeAt } : {}) },
      { owner: this.owner },
    );
  }

  /**
   * One transaction that holds only while this engine owns the run's lease; false when it lost it.
   * It begins with a compare and set on the run (owner is this engine, state not ended), not a
   * plain read: on PostgreSQL the update locks the row and re-checks the condition against what
   * a concurrent cancel or lease taker committed, so neither is written over; the lock is held
   * until this transaction ends.
   */
  private async write(run: PlaybookRunRecord, fn: (tx: Repos, entries: Entry[]) => Promise<void>): Promise<boolean> {
    const now = this.now();
    try {
      return await this.deps.store.transaction(async (tx) => {
        // A run cancelled (or ended) meanwhile keeps its end: a call that was in flight is not recorded over it.
        const held = await tx.playbooks.updateRun(run.id, { updatedAt: now }, { owner: this.owner, from: ACTIVE_RUN_STATES });
        if (!held) return false;
        const entries: Entry[] = [];
        await fn(tx, entries);
        if (entries.length > 0) await tx.ledger.append(entries, now);
        return true;
      });
    } catch (e) {
      if (e instanceof StepMoved) return false;
      throw e;
    }
  }

  private async advance(id: string): Promise<void> {
    for (let guard = 0; guard < 1000; guard++) {
      const run = await this.deps.store.playbooks.getRun(id);
      if (!run || run.leaseOwner !== this.owner) return;
      if (run.state !== 'running') return this.release(id);
      const model = await versionModel(this.deps.store, run.playbook, run.version);
      if (run.cursor >= model.steps.length) return void (await this.finish(run, 'succeeded', `all ${model.steps.length} steps done`));
      const steps = await this.deps.store.playbooks.steps(id);
      const exec = steps[run.cursor]!;
      const step = model.steps[run.cursor]!;
      const go = await this.stepOnce(run, model, step, exec, steps);
      if (!go) return;
    }
  }

  private context(run: PlaybookRunRecord, steps: StepExecutionRecord[]): ExprContext {
    const outputs: Record<string, unknown> = {};
    for (const s of steps) if (s.state === 'done') outputs[s.stepId] = s.outputs;
    return { inputs: run.inputs, steps: outputs, trigger: run.trigger, run: { id: run.id, playbook: run.playbook, version: run.version } };
  }

  /** Do what the step at the cursor needs now; whether to go on to the next one. */
  private async stepOnce(
    run: PlaybookRunRecord,
    model: Playbook,
    step: Step,
    exec: StepExecutionRecord,
    steps: StepExecutionRecord[],
  ): Promise<boolean> {
    const now = this.now();
    const ctx = this.context(run, steps);
    const base = { run: run.id, step: step.id, index: exec.idx, mode: exec.mode };
    switch (exec.state) {
      case 'done':
      case 'skipped':
        return this.write(run, async (tx) => void (await tx.playbooks.updateRun(run.id, { cursor: exec.idx + 1, updatedAt: now })));
      case 'failed':
      case 'cancelled':
        await this.finish(run, 'failed', exec.error ?? `step ${step.id} ${exec.state}`);
        return false;
      case 'waiting':
        // A resumed run whose step still waits for a person.
        await this.write(
          run,
          async (tx) =>
            void (await tx.playbooks.updateRun(run.id, { state: 'waiting', leaseOwner: null, leaseUntil: null, updatedAt: now })),
        );
        return false;
      case 'pending':
      case 'running':
      case 'retrying':
      case 'confirmed':
        break;
    }
    if (exec.state === 'pending') {
      const outputs = ctx.steps;
      if (!guardsHold(step, outputs)) {
        return this.write(run, async (tx, entries) => {
          await tx.playbooks.updateStep(run.id, exec.idx, { state: 'skipped', finishedAt: now, updatedAt: now }, ['pending']);
          await tx.playbooks.updateRun(run.id, { cursor: exec.idx + 1, updatedAt: now });
          entries.push(this.entry(run, 'playbook.step.finished', { ...base, outcome: 'skipped', attempt: 0, error: null, retryAt: null }));
        });
      }
      if (exec.mode !== 'auto') {
        await this.write(run, async (tx, entries) => {
          await tx.playbooks.updateStep(run.id, exec.idx, { state: 'waiting', updatedAt: now }, ['pending']);
          await tx.playbooks.updateRun(run.id, { state: 'waiting', leaseOwner: null, leaseUntil: null, wakeAt: null, updatedAt: now });
          entries.push(this.entry(run, 'playbook.step.waiting', { ...base, assignee: exec.assignee }));
        });
        return false;
      }
    }
    switch (step.kind) {
      case 'set': {
        const values: Record<string, unknown> = {};
        for (const [k, e] of Object.entries(step.set!)) {
          const v = evaluate(e, ctx);
          if (!v.ok) return this.fail(run, exec, step, v.message);
          values[k] = v.value;
        }
        return this.done(run, exec, values);
      }
      case 'if': {
        const v = evaluate(step.condition!, ctx);
        if (!v.ok) return this.fail(run, exec, step, v.message);
        if (typeof v.value !== 'boolean')
          return this.fail(run, exec, step, `condition ${step.condition!.source} gave ${JSON.stringify(v.value)}, not a bool`);
        return this.done(run, exec, { result: v.value });
      }
      case 'switch': {
        const v = evaluate(step.switch!.value, ctx);
        if (!v.ok) return this.fail(run, exec, step, v.message);
        const key =
          typeof v.value === 'string' || typeof v.value === 'number' || typeof v.value === 'boolean' ? String(v.value) : undefined;
        const matched = key !== undefined && step.switch!.cases.includes(key) ? key : 'default';
        return this.done(run, exec, { value: v.value, case: matched });
      }
      case 'playbook':
        return this.callPlaybook(run, exec, step, ctx);
      case 'forEach':
        return this.forEach(run, model, exec, step, ctx);
      case 'parallel':
        return this.parallel(run, model, exec, step, ctx);
      case 'wait': {
        if (step.waitSignal) return this.waitForSignal(run, exec, step);
        if (exec.state === 'running' && exec.startedAt) {
          const until = new Date(Date.parse(exec.startedAt) + step.waitMs!).toISOString();
          if (now >= until) return this.done(run, exec, { waitedUntil: until });
          await this.write(
            run,
            async (tx) =>
              void (await tx.playbooks.updateRun(run.id, { wakeAt: until, leaseOwner: null, leaseUntil: null, updatedAt: now })),
          );
          return false;
        }
        await this.markStarted(run, exec, step, {
          attempt: 1,
          idempotencyKey: null,
          startedAt: now,
          run: { wakeAt: this.later(step.waitMs!), leaseOwner: null, leaseUntil: null },
        });
        return false;
      }
      case 'http':
      case 'notify':
        return this.send(run, model, exec, step, ctx);
      case 'checklist':
        // Only a person completes a checklist (runs.ts); a confirmed one cannot reach here.
        return this.fail(run, exec, step, 'a checklist is completed by a person');
      case 'approval':
        return this.approval(run, exec, step, ctx);
      case 'process':
        return this.runProcess(run, exec, step, ctx);
      case 'incident':
      case 'case':
        return this.incidentOp(run, exec, step, ctx);
      case 'run-experiment':
        return this.runExperiment(run, exec, step, ctx);
    }
  }

  /**
   * A step's start, in `tx`: the step running (its attempt, its start, its idempotency key), what
   * else the caller writes with it, and the `playbook.step.started` entry.
   */
  private async startIn(tx: Repos, entries: Entry[], run: PlaybookRunRecord, exec: StepExecutionRecord, step: Step, o: StartOptions) {
    const now = this.now();
    await tx.playbooks.updateStep(run.id, exec.idx, {
      state: 'running',
      attempts: o.attempt,
      startedAt: o.startedAt ?? exec.startedAt ?? now,
      updatedAt: now,
      ...o.step,
    });
    if (o.run) await tx.playbooks.updateRun(run.id, { ...o.run, updatedAt: now });
    entries.push(
      this.entry(run, 'playbook.step.started', {
        run: run.id,
        step: step.id,
        index: exec.idx,
        mode: exec.mode,
        kind: step.kind,
        attempt: o.attempt,
        idempotencyKey: o.idempotencyKey,
      }),
    );
  }

  /** A step's start, persisted before it acts; false when this engine lost the run meanwhile. */
  private markStarted(run: PlaybookRunRecord, exec: StepExecutionRecord, step: Step, o: StartOptions): Promise<boolean> {
    return this.write(run, (tx, entries) => this.startIn(tx, entries, run, exec, step, o));
  }

  /**
   * A `process` step: the command with its expressions evaluated and its sealed secrets opened,
   * judged by the server's allow-list exactly as an experiment's process is (an executable not
   * listed, a variable or arguments its entry does not allow: the step fails, naming the config
   * key), then started by the experiments' process provider with `BULWARK_RUN` set to the step's
   * idempotency key (`RUN.STEP`: a process started again after a crash can tell). Done when it
   * exits with a status of `expectStatus` (0 by default); its outputs are the status and the
   * first PROCESS_OUTPUT_CHARS of stdout and stderr, secrets' values masked.
   */
  private async runProcess(run: PlaybookRunRecord, exec: StepExecutionRecord, step: Step, ctx: ExprContext): Promise<boolean> {
    const pr = this.o.process;
    if (!pr) return this.fail(run, exec, step, 'this engine starts no processes (process steps run in bulwark serve)');
    const prepared = prepareProcess(step, ctx);
    if (!prepared.ok) return this.fail(run, exec, step, prepared.message);
    const opened = await openSecrets(this.o.secrets, prepared.process.secretEnv);
    if (!opened.ok) return this.fail(run, exec, step, opened.message);
    const mask = redactor(opened.values);
    const provider: ProcessProvider = {
      type: 'process',
      ...prepared.process.provider,
      env: { ...prepared.process.provider.env, ...opened.byKey },
      timeoutMs: step.timeoutMs,
      secrets: [],
    };
    const refused = processRefusals(provider, pr.allowExecutables);
    if (refused.length > 0) return this.fail(run, exec, step, `this step ${describeProcessRefusal(refused[0]!, pr.allowExecutables)}`);
    const attempt = exec.attempts + 1;
    const key = exec.idempotencyKey ?? `${run.id}.${step.id}`;
    const began = await this.markStarted(run, exec, step, {
      attempt,
      idempotencyKey: key,
      step: { idempotencyKey: key },
      run: { leaseUntil: this.later(step.timeoutMs + this.leaseMs) },
    });
    if (!began) return false;
    let res: ProcessResult;
    // Cancelling the run (a row's state, from any replica) stops the process: looked at every childPollMs.
    const stop = new AbortController();
    const watch = setInterval(() => {
      void this.deps.store.playbooks.getRun(run.id).then(
        (r) => {
          if (!r || FINAL_RUN_STATES.includes(r.state)) stop.abort(new Error(`run ${run.id} was ${r?.state ?? 'removed'}`));
        },
        () => {},
      );
    }, this.childPollMs);
    try {
      res = await pr.run(provider, { runId: key, signal: stop.signal, sent: () => {} });
    } catch (e) {
      return this.retryOrFail(run, exec, step, attempt, mask((e as Error).message ?? String(e)), undefined);
    } finally {
      clearInterval(watch);
    }
    const outputs = {
      status: res.status,
      // Masked whole, then cut: a value straddling the cut leaves none of itself behind.
      stdout: mask(res.stdout).slice(0, PROCESS_OUTPUT_CHARS),
      stderr: mask(res.stderr).slice(0, PROCESS_OUTPUT_CHARS),
    };
    if (step.process!.expectStatus.includes(res.status)) return this.done(run, { ...exec, attempts: attempt }, outputs);
    const tail = outputs.stderr.trim().slice(-300);
    return this.retryOrFail(
      run,
      exec,
      step,
      attempt,
      `${provider.path} exited with status ${res.status}${tail ? `: ${tail}` : ''}`,
      undefined,
    );
  }

  /**
   * An `incident` or `case` step: the incidents capability's use case runs in this engine's
   * transaction, with the step's start and its end, so it happens once or not at all. A refusal
   * (an unknown incident, a status move its model forbids) is the step's failure, retried as its
   * retry policy says.
   */
  private async incidentOp(run: PlaybookRunRecord, exec: StepExecutionRecord, step: Step, ctx: ExprContext): Promise<boolean> {
    const op = step.incidentOp!;
    const fields = renderIncidentOp(op, ctx);
    if (!fields.ok) return this.fail(run, exec, step, fields.message);
    const attempt = exec.attempts + 1;
    const now = this.now();
    try {
      return await this.write(run, async (tx, entries) => {
        await this.startIn(tx, entries, run, exec, step, { attempt, idempotencyKey: null });
        const outputs = await applyIncidentOp(
          { ...this.deps, store: storeIn(tx) },
          playbookActor(run.playbook),
          playbookViewer(run.playbook),
          op.op,
          fields.value,
        );
        await this.doneIn(tx, entries, run, { ...exec, attempts: attempt }, outputs, now);
      });
    } catch (e) {
      if (e instanceof DomainError) return this.retryOrFail(run, exec, step, attempt, e.message, undefined);
      throw e;
    }
  }

  /**
   * A `run-experiment` step: start a run of the applied experiment through the experiments' run
   * manager (never privileged: an experiment with process or file activities is refused), record
   * its id on the step, and look at it every `childPollMs` until it has an outcome. Outputs:
   * `run`, `outcome`, `ttdMs`. With `expect`, another outcome fails the step; no outcome within
   * `within` fails it too (the experiment run goes on; its rollbacks are its own).
   */
  private async runExperiment(run: PlaybookRunRecord, exec: StepExecutionRecord, step: Step, ctx: ExprContext): Promise<boolean> {
    const e = step.experiment!;
    const recorded = (exec.outputs as { run?: unknown } | null)?.run;
    const now = this.now();
    if (typeof recorded !== 'string') {
      if (!this.o.experiments)
        return this.fail(run, exec, step, 'this engine runs no experiments (run-experiment steps run in bulwark serve)');
      const vars: Record<string, string> = {};
      for (const [k, t] of Object.entries(e.vars)) {
        const v = render(t, ctx);
        if (!v.ok) return this.fail(run, exec, step, `vars.${k}: ${v.message}`);
        vars[k] = typeof v.value === 'string' ? v.value : JSON.stringify(v.value);
      }
      // The intent first, in its own commit: a crash after the experiment run started and before its id is
      // recorded leaves it, and the step is then failed (naming where to look) rather than started twice.
      const intent = (exec.outputs as { starting?: unknown } | null)?.starting;
      if (typeof intent === 'string')
        return this.fail(
          run,
          exec,
          step,
          `experiment ${e.name} may have been started at ${intent} without its run being recorded (the server stopped in between); ` +
            `it is not started again: look for its run with bulwark runs list --experiment ${e.name}, and start the playbook again if none ran`,
        );
      const began = await this.markStarted(run, exec, step, {
        attempt: 1,
        idempotencyKey: null,
        step: { outputs: { experiment: e.name, starting: now } },
      });
      if (!began) return false;
      let started: { id: string; state: string };
      try {
        started = await this.o.experiments.start({ name: e.name, actor: ENGINE, vars, mayPrivileged: false });
      } catch (err) {
        return this.fail(run, exec, step, `experiment ${e.name} did not start: ${(err as Error).message}`);
      }
      // The step's start was recorded with the intent: this records the run it started.
      await this.write(run, async (tx) => {
        await tx.playbooks.updateStep(run.id, exec.idx, {
          idempotencyKey: started.id,
          outputs: { run: started.id, experiment: e.name, state: started.state },
          updatedAt: this.now(),
        });
        await tx.playbooks.updateRun(run.id, {
          wakeAt: this.later(this.childPollMs),
          leaseOwner: null,
          leaseUntil: null,
          updatedAt: this.now(),
        });
      });
      return false;
    }
    const r = await this.deps.store.runs.get(recorded);
    if (!r) return this.fail(run, exec, step, `experiment run ${recorded} is gone`);
    if (r.state === 'done' && r.outcome !== null) {
      if (e.expect.length > 0 && !e.expect.includes(r.outcome))
        return this.fail(
          run,
          exec,
          step,
          `experiment ${e.name} run ${r.id} ended ${r.outcome}; this step expects ${e.expect.join(' or ')}`,
        );
      return this.done(run, exec, { run: r.id, experiment: e.name, outcome: r.outcome, ttdMs: r.ttdMs, reason: r.reason });
    }
    const deadline = new Date(Date.parse(exec.startedAt ?? now) + e.withinMs).toISOString();
    if (now >= deadline)
      return this.fail(run, exec, step, `experiment ${e.name} run ${r.id} had no outcome within ${e.withinMs / 1000}s (it is ${r.state})`);
    const poll = this.later(this.childPollMs);
    await this.write(run, async (tx) => {
      await tx.playbooks.updateStep(run.id, exec.idx, { outputs: { run: r.id, experiment: e.name, state: r.state }, updatedAt: now });
      await tx.playbooks.updateRun(run.id, {
        wakeAt: poll < deadline ? poll : deadline,
        leaseOwner: null,
        leaseUntil: null,
        updatedAt: now,
      });
    });
    return false;
  }

  /**
   * A `wait` for a signal: the step runs (its start is the window's start) and the run sleeps until
   * the timeout, holding nothing; a matching signal (signal-waits.ts) finishes the step before
   * then and wakes the run. At the deadline the step fails, or with `onTimeout: continue` is done
   * with `timedOut: true`. Both ends are compare and sets on the running step: of a signal and
   * the deadline, the first to commit wins.
   */
  private async waitForSignal(run: PlaybookRunRecord, exec: StepExecutionRecord, step: Step): Promise<boolean> {
    const w = step.waitSignal!;
    const now = this.now();
    if (exec.state !== 'running' || !exec.startedAt) {
      const began = await this.markStarted(run, exec, step, {
        attempt: 1,
        idempotencyKey: null,
        startedAt: now,
        run: { wakeAt: this.later(w.timeoutMs), leaseOwner: null, leaseUntil: null },
      });
      // A signal received since the step began, whose pass looked before this row was committed, counts too.
      if (began) await catchUpSignalWait(this.deps, run.id, exec.idx).catch((e: unknown) => this.o.onError?.(e, run.id));
      return false;
    }
    const until = new Date(Date.parse(exec.startedAt) + w.timeoutMs).toISOString();
    if (now < until) {
      await this.write(run, async (tx) => {
        // A signal that matched meanwhile moved the step on: then the run is due now, not at the deadline.
        const cur = await tx.playbooks.getStep(run.id, exec.idx);
        await tx.playbooks.updateRun(run.id, {
          wakeAt: cur?.state === 'running' ? until : null,
          leaseOwner: null,
          leaseUntil: null,
          updatedAt: now,
        });
      });
      return false;
    }
    const message = `no signal matched ${w.match.source} within ${w.timeoutMs / 1000}s`;
    if (w.onTimeout === 'continue') return this.done(run, exec, { timedOut: true, signal: null }, ['running']);
    return this.fail(run, exec, step, message, ['running']);
  }

  /**
   * An `approval` step: ask Access for a multi-party approval with the step's rules, record the
   * request on the step, and sleep; every `approvalPollMs` (and at the expiry) look at it again.
   * Approved: the approval is consumed (approved → executed) in the transaction that records the
   * step done, so it counts once. Denied or expired: the step fails. Nothing is held in memory
   * meanwhile, so the wait survives restarts and moves between replicas.
   */
  private async approval(run: PlaybookRunRecord, exec: StepExecutionRecord, step: Step, ctx: ExprContext): Promise<boolean> {
    const a = step.approval!;
    const ref = approvalRef(run, step.id);
    const recorded = (exec.outputs as { approval?: unknown } | null)?.approval;
    const now = this.now();
    if (typeof recorded !== 'string') {
      // The intent first, then the request, then its id on the step. A crash between the last two
      // leaves one pending request nobody consumes (it expires); the next attempt asks again.
      if (exec.state !== 'running') {
        const began = await this.markStarted(run, exec, step, { attempt: 1, idempotencyKey: null, startedAt: now });
        if (!began) return false;
      }
      const summary = render(a.summary, ctx);
      // The run's starter is the requester, so Access never lets them approve their own run's step.
      const req = await this.approvals.request({ id: run.startedById ?? `playbook-run:${run.id}` }, ENGINE, {
        ...ref,
        summary: (summary.ok ? String(summary.value) : a.summary.source).slice(0, 500) || step.title,
        reason: `playbook ${run.playbook} (version ${run.version}), run ${run.id}, step ${step.id}`,
        policy: a.policy,
      });
      const at = this.now();
      await this.write(run, async (tx, entries) => {
        await tx.playbooks.updateStep(run.id, exec.idx, {
          outputs: { approval: req.id, state: req.state, expiresAt: req.expiresAt, missing: req.missing },
          updatedAt: at,
        });
        await tx.playbooks.updateRun(run.id, {
          wakeAt: this.nextLook(req.expiresAt),
          leaseOwner: null,
          leaseUntil: null,
          updatedAt: at,
        });
        entries.push(
          this.entry(run, 'playbook.step.approval-requested', {
            run: run.id,
            step: step.id,
            index: exec.idx,
            approval: req.id,
            expiresAt: req.expiresAt,
          }),
        );
      });
      return false;
    }
    const view = await this.approvals.status(recorded);
    switch (view.state) {
      case 'approved': {
        let refused: string | undefined;
        const approvedBy = view.decisions.filter((d) => d.decision === 'approve').map((d) => d.principal);
        const ok = await this.write(run, async (tx, entries) => {
          const r = await this.approvals.consume(ENGINE, { id: recorded, ...ref }, tx);
          if (!r.ok) {
            refused = r.reason;
            return;
          }
          await this.doneIn(tx, entries, run, exec, { approval: recorded, state: 'executed', approvedBy }, now);
        });
        if (!ok) return false;
        if (refused !== undefined) return this.fail(run, exec, step, refused);
        return true;
      }
      case 'pending':
        await this.write(run, async (tx) => {
          await tx.playbooks.updateStep(run.id, exec.idx, {
            outputs: { approval: recorded, state: 'pending', expiresAt: view.expiresAt, missing: view.missing },
            updatedAt: now,
          });
          await tx.playbooks.updateRun(run.id, {
            wakeAt: this.nextLook(view.expiresAt),
            leaseOwner: null,
            leaseUntil: null,
            updatedAt: now,
          });
        });
        return false;
      case 'denied': {
        const d = view.decisions.filter((x) => x.decision === 'deny').map((x) => `${x.principal} (${x.reason})`);
        return this.fail(run, exec, step, `approval ${recorded} was denied by ${d.join(', ') || 'its approvers'}`);
      }
      case 'expired':
        return this.fail(run, exec, step, `approval ${recorded} expired at ${view.expiresAt} without enough approvals`);
      case 'executed':
        return this.fail(run, exec, step, `approval ${recorded} was used already; it counts once`);
    }
  }

  /** One http, notify or set action of a forEach or parallel step, sent with its own idempotency key. */
  private async action(
    model: Playbook,
    sub: Step,
    ctx: ExprContext,
    key: string,
  ): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> {
    if (sub.kind === 'set') {
      const values: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(sub.set!)) {
        const v = evaluate(e, ctx);
        if (!v.ok) return { ok: false, error: v.message };
        values[k] = v.value;
      }
      return { ok: true, value: values };
    }
    const prepared = prepareRequest(sub, ctx, model.allowHosts);
    if (!prepared.ok) return { ok: false, error: prepared.message };
    const opened = await this.withSecrets(prepared.request);
    if (!opened.ok) return { ok: false, error: opened.message };
    const req = { ...opened.request, headers: { ...opened.request.headers, [IDEMPOTENCY_HEADER]: key } };
    const res = await this.o.transport.send(req, sub.timeoutMs);
    if (res.ok && statusOk(sub, res.status)) return { ok: true, value: { status: res.status, body: opened.mask(res.body) } };
    return { ok: false, error: res.ok ? `${req.method} ${req.url} answered ${res.status}` : opened.mask(res.error) };
  }

  /** The attempt of a forEach or parallel step begins: persisted, with a lease long enough for `ms` of calls. */
  private begin(run: PlaybookRunRecord, exec: StepExecutionRecord, step: Step, attempt: number, ms: number): Promise<boolean> {
    return this.markStarted(run, exec, step, {
      attempt,
      idempotencyKey: `${run.id}.${step.id}`,
      run: { leaseUntil: this.later(ms + this.leaseMs) },
    });
  }

  /** An attempt failed: retried after its backoff (what is done so far kept in the outputs), or the step fails. */
  private async retryOrFail(
    run: PlaybookRunRecord,
    exec: StepExecutionRecord,
    step: Step,
    attempt: number,
    error: string,
    progress: unknown,
  ): Promise<false> {
    if (attempt >= step.retry.attempts) return this.fail(run, { ...exec, attempts: attempt }, step, error);
    const retryAt = this.later(backoffMs(step.retry, attempt, this.o.random()));
    const at = this.now();
    await this.write(run, async (tx, entries) => {
      await tx.playbooks.updateStep(run.id, exec.idx, {
        state: 'retrying',
        error: error.slice(0, 1000),
        ...(progress !== undefined && { outputs: progress }),
        updatedAt: at,
      });
      await tx.playbooks.updateRun(run.id, { wakeAt: retryAt, leaseOwner: null, leaseUntil: null, updatedAt: at });
      entries.push(
        this.entry(run, 'playbook.step.finished', {
          run: run.id,
          step: step.id,
          index: exec.idx,
          mode: exec.mode,
          outcome: 'retrying',
          attempt,
          error: error.slice(0, 1000),
          retryAt,
        }),
      );
    });
    return false;
  }

  /**
   * A `forEach` step: its body for each item, one after another, each with the idempotency key
   * `RUN.STEP.INDEX`; the results so far are persisted after each item, so a restart or a retry
   * goes on from the first item not done. More items than `max` fails the step before anything is sent.
   */
  private async forEach(
    run: PlaybookRunRecord,
    model: Playbook,
    exec: StepExecutionRecord,
    step: Step,
    ctx: ExprContext,
  ): Promise<boolean> {
    const fe = step.forEach!;
    const list = evaluate(fe.items, ctx);
    if (!list.ok) return this.fail(run, exec, step, list.message);
    if (!Array.isArray(list.value))
      return this.fail(run, exec, step, `${fe.items.source} gave ${JSON.stringify(list.value)?.slice(0, 100)}, not a list`);
    const items = list.value as unknown[];
    if (items.length > fe.max)
      return this.fail(run, exec, step, `${fe.items.source} has ${items.length} items; this forEach takes at most ${fe.max}`);
    const results = [...((exec.outputs as { results?: unknown[] } | null)?.results ?? [])];
    const attempt = exec.attempts + 1;
    if (!(await this.begin(run, exec, step, attempt, fe.body.timeoutMs))) return false;
    for (let i = results.length; i < items.length; i++) {
      const r = await this.action(model, fe.body, { ...ctx, item: items[i], index: i }, `${run.id}.${step.id}.${i}`);
      if (!r.ok) return this.retryOrFail(run, exec, step, attempt, `item ${i}: ${r.error}`, { results });
      results.push(r.value);
      const at = this.now();
      const kept = await this.write(run, async (tx) => {
        await tx.playbooks.updateStep(run.id, exec.idx, { outputs: { results }, updatedAt: at });
        await tx.playbooks.updateRun(run.id, { leaseUntil: this.later(fe.body.timeoutMs + this.leaseMs), updatedAt: at });
      });
      if (!kept) return false;
    }
    return this.done(run, { ...exec, attempts: attempt }, { results, count: items.length });
  }

  /**
   * A `parallel` step: its branches at once, each with the idempotency key `RUN.STEP.BRANCH`.
   * Done when all are; the branches done are kept when another fails, and a retry sends only the
   * others. Its outputs are each branch's, by branch id.
   */
  private async parallel(
    run: PlaybookRunRecord,
    model: Playbook,
    exec: StepExecutionRecord,
    step: Step,
    ctx: ExprContext,
  ): Promise<boolean> {
    const branches = step.parallel!;
    const results: Record<string, unknown> = { ...((exec.outputs as { partial?: Record<string, unknown> } | null)?.partial ?? {}) };
    const attempt = exec.attempts + 1;
    if (!(await this.begin(run, exec, step, attempt, Math.max(...branches.map((b) => b.timeoutMs))))) return false;
    // Own keys only: a branch named `constructor` is not "done" because every object has one.
    const todo = branches.filter((b) => !Object.hasOwn(results, b.id));
    const settled = await Promise.all(todo.map((b) => this.action(model, b, ctx, `${run.id}.${step.id}.${b.id}`)));
    const failures: string[] = [];
    todo.forEach((b, i) => {
      const r = settled[i]!;
      if (r.ok) results[b.id] = r.value;
      else failures.push(`${b.id}: ${r.error}`);
    });
    if (failures.length > 0) return this.retryOrFail(run, exec, step, attempt, failures.join('; '), { partial: results });
    return this.done(run, { ...exec, attempts: attempt }, results);
  }

  /**
   * A `playbook` step: start a child run of the called playbook (its trigger key names this run
   * and step, so asking twice, after a crash, finds the same child), record the child on the
   * step, and look at it every `childPollMs` until it ends. The child succeeded: the step is done
   * with the child's step outputs; it failed or was cancelled: the step fails.
   */
  private async callPlaybook(run: PlaybookRunRecord, exec: StepExecutionRecord, step: Step, ctx: ExprContext): Promise<boolean> {
    const call = step.call!;
    const recorded = (exec.outputs as { run?: unknown } | null)?.run;
    const now = this.now();
    if (typeof recorded !== 'string') {
      // However applies raced, calls never nest without end: a run at the deepest level may not call.
      const depth = callDepth(run) + 1;
      if (depth > MAX_CALL_DEPTH)
        return this.fail(
          run,
          exec,
          step,
          `playbook calls nest ${depth} deep here (${run.playbook} calling ${call.name}); at most ${MAX_CALL_DEPTH} levels are run, so a cycle of calls ends`,
        );
      const inputs: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(call.inputs)) {
        const v = evaluate(e, ctx);
        if (!v.ok) return this.fail(run, exec, step, `input ${k}: ${v.message}`);
        inputs[k] = v.value;
      }
      let child: PlaybookRunRecord;
      try {
        const r = await startRun(this.deps, ENGINE, call.name, {
          inputs,
          startedById: run.startedById,
          trigger: { id: `run:${run.id}/${step.id}`, kind: 'playbook', parent: run.id, step: step.id, playbook: run.playbook, depth },
        });
        if (!('run' in r)) throw new Error('a dry run');
        child = r.run;
      } catch (e) {
        return this.fail(run, exec, step, `playbook ${call.name} did not start: ${(e as Error).message}`);
      }
      await this.markStarted(run, exec, step, {
        attempt: 1,
        idempotencyKey: child.id,
        step: { outputs: { run: child.id, playbook: call.name, state: child.state } },
        run: { wakeAt: this.later(this.childPollMs), leaseOwner: null, leaseUntil: null },
      });
      return false;
    }
    const child = await this.deps.store.playbooks.getRun(recorded);
    if (!child) return this.fail(run, exec, step, `child run ${recorded} is gone`);
    if (child.state === 'succeeded') {
      const outputs: Record<string, unknown> = {};
      for (const s of await this.deps.store.playbooks.steps(child.id)) if (s.state === 'done') outputs[s.stepId] = s.outputs;
      return this.done(run, exec, { run: child.id, playbook: call.name, state: child.state, outputs });
    }
    if (child.state === 'failed' || child.state === 'cancelled')
      return this.fail(run, exec, step, `child run ${child.id} of ${call.name} ${child.state}: ${child.reason ?? ''}`.trim());
    await this.write(run, async (tx) => {
      await tx.playbooks.updateStep(run.id, exec.idx, {
        outputs: { run: child.id, playbook: call.name, state: child.state },
        updatedAt: now,
      });
      await tx.playbooks.updateRun(run.id, { wakeAt: this.later(this.childPollMs), leaseOwner: null, leaseUntil: null, updatedAt: now });
    });
    return false;
  }

  /** When a run waiting for an approval looks again: after the poll interval, or at the expiry if sooner. */
  private nextLook(expiresAt: string): string {
    const poll = this.later(this.approvalPollMs);
    return expiresAt < poll ? expiresAt : poll;
  }

  private async send(run: PlaybookRunRecord, model: Playbook, exec: StepExecutionRecord, step: Step, ctx: ExprContext): Promise<boolean> {
    const prepared = prepareRequest(step, ctx, model.allowHosts);
    if (!prepared.ok) return this.fail(run, exec, step, prepared.message);
    const attempt = exec.attempts + 1;
    const key = exec.idempotencyKey ?? `${run.id}.${step.id}`;
    const opened = await this.withSecrets(prepared.request);
    if (!opened.ok) return this.fail(run, exec, step, opened.message);
    // Persist before acting: the attempt, its key, and a lease long enough for the call.
    const began = await this.markStarted(run, exec, step, {
      attempt,
      idempotencyKey: key,
      step: { idempotencyKey: key },
      run: { leaseUntil: this.later(step.timeoutMs + this.leaseMs) },
    });
    if (!began) return false;
    const req = { ...opened.request, headers: { ...opened.request.headers, [IDEMPOTENCY_HEADER]: key } };
    const res = await this.o.transport.send(req, step.timeoutMs);
    if (res.ok && statusOk(step, res.status))
      return this.done(run, { ...exec, attempts: attempt }, { status: res.status, body: opened.mask(res.body) });
    const error = res.ok ? `${req.method} ${req.url} answered ${res.status}` : opened.mask(res.error);
    return this.retryOrFail(run, exec, step, attempt, error, undefined);
  }

  /**
   * The request with its secret headers opened (just before it is sent, never stored), and a mask
   * that hides their values in what comes back (an echoing service, an error quoting a header).
   */
  private async withSecrets(
    r: PreparedRequest,
  ): Promise<{ ok: true; request: PreparedRequest; mask: <T>(v: T) => T } | { ok: false; message: string }> {
    const { secretHeaders, ...request } = r;
    if (!secretHeaders) return { ok: true, request, mask: (v) => v };
    const opened = await openSecrets(this.o.secrets, secretHeaders);
    if (!opened.ok) return opened;
    return { ok: true, request: { ...request, headers: { ...request.headers, ...opened.byKey } }, mask: redactor(opened.values) };
  }

  private async done(
    run: PlaybookRunRecord,
    exec: StepExecutionRecord,
    outputs: unknown,
    from?: readonly StepExecutionRecord['state'][],
  ): Promise<boolean> {
    const now = this.now();
    return this.write(run, (tx, entries) => this.doneIn(tx, entries, run, exec, outputs, now, from));
  }

  private async doneIn(
    tx: Repos,
    entries: Entry[],
    run: PlaybookRunRecord,
    exec: StepExecutionRecord,
    outputs: unknown,
    now: string,
    from?: readonly StepExecutionRecord['state'][],
  ): Promise<void> {
    const moved = !(await tx.playbooks.updateStep(
      run.id,
      exec.idx,
      { state: 'done', outputs, error: null, finishedAt: now, attempts: Math.max(exec.attempts, 1), updatedAt: now },
      from,
    ));
    if (moved) throw new StepMoved();
    await tx.playbooks.updateRun(run.id, { cursor: exec.idx + 1, wakeAt: null, updatedAt: now });
    entries.push(
      this.entry(run, 'playbook.step.finished', {
        run: run.id,
        step: exec.stepId,
        index: exec.idx,
        mode: exec.mode,
        outcome: 'done',
        attempt: Math.max(exec.attempts, 1),
        error: null,
        retryAt: null,
      }),
    );
  }

  private async fail(
    run: PlaybookRunRecord,
    exec: StepExecutionRecord,
    step: Step,
    error: string,
    from?: readonly StepExecutionRecord['state'][],
  ): Promise<false> {
    const now = this.now();
    const reason = `step ${step.id} failed: ${error}`.slice(0, 1000);
    await this.write(run, async (tx, entries) => {
      const moved = !(await tx.playbooks.updateStep(
        run.id,
        exec.idx,
        { state: 'failed', error: error.slice(0, 1000), finishedAt: now, attempts: Math.max(exec.attempts, 1), updatedAt: now },
        from,
      ));
      if (moved) throw new StepMoved();
      await tx.playbooks.updateRun(run.id, {
        state: 'failed',
        finishedAt: now,
        reason,
        leaseOwner: null,
        leaseUntil: null,
        wakeAt: null,
        updatedAt: now,
      });
      entries.push(
        this.entry(run, 'playbook.step.finished', {
          run: run.id,
          step: step.id,
          index: exec.idx,
          mode: exec.mode,
          outcome: 'failed',
          attempt: Math.max(exec.attempts, 1),
          error: error.slice(0, 1000),
          retryAt: null,
        }),
      );
      entries.push(
        this.entry(run, 'playbook.run.finished', { run: run.id, playbook: run.playbook, version: run.version, outcome: 'failed', reason }),
      );
    });
    return false;
  }

  private async finish(run: PlaybookRunRecord, outcome: 'succeeded' | 'failed', reason: string): Promise<boolean> {
    const now = this.now();
    return this.write(run, async (tx, entries) => {
      await tx.playbooks.updateRun(run.id, {
        state: outcome,
        finishedAt: now,
        reason,
        leaseOwner: null,
        leaseUntil: null,
        wakeAt: null,
        updatedAt: now,
      });
      entries.push(
        this.entry(run, 'playbook.run.finished', { run: run.id, playbook: run.playbook, version: run.version, outcome, reason }),
      );
    });
  }

  private entry(run: PlaybookRunRecord, kind: string, data: { [k: string]: Json }): Entry {
    return { actor: ENGINE, kind, subject: `playbook-run:${run.id}`, data };
  }
}
