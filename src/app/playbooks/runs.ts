/**
 * Runs of playbooks as a person or a signal starts and steers them: start (the version current
 * then, its steps written with it), pause, resume, cancel, and a person's confirmation of a step
 * that waits for one (a manual step done or failed, with notes and time spent; an assisted step
 * confirmed or declined). Each is one transaction with its ledger entries.
 */
import { randomInt } from 'node:crypto';
import { conflict, DomainError, invalid, notFound } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import { resolveInputs } from '../../core/playbooks/playbook-file.ts';
import { planRun, type PlannedStep } from '../../core/playbooks/rules.ts';
import { FINAL_RUN_STATES, RUN_STATES, type PlaybookRunRecord, type StepExecutionRecord } from '../../store/playbooks/port.ts';
import type { Repos } from '../../store/store.ts';
import { iso, type AppDeps } from '../deps.ts';
import { getPlaybook, modelOf, versionModel } from './apply-playbook.ts';

const forbidden = (m: string) => new DomainError('forbidden', m);

/** How deep `playbook` steps may nest: a run this many calls below one a person, signal or schedule started does not call further. */
export const MAX_CALL_DEPTH = 8;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const newPlaybookRunId = (): string => `pbr_${Array.from({ length: 16 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')}`;

export interface StartOptions {
  inputs?: Record<string, unknown>;
  /**
   * The signal that started it, the schedule's minute (`kind: 'schedule'`), or the parent run's
   * step that calls it (`kind: 'playbook'`): its id is the run's trigger key.
   */
  trigger?: { id: string; kind?: 'schedule' | 'playbook'; [k: string]: unknown };
  /** Instead of starting, say what each step would do. */
  dryRun?: boolean;
  /** Who the run is started for, when not the actor (a called playbook: its parent's starter). */
  startedById?: string | null;
  /**
   * Whether the person starting it holds experiments:privileged. A person's start of a playbook
   * whose steps (or those of the playbooks it calls) start processes needs it, as running an
   * experiment with a process does: the run's inputs are that person's to choose.
   */
  mayPrivileged?: boolean;
}

/** The first playbook, from `name` through the playbooks its steps call, that has a `process` step. */
async function startsProcesses(deps: AppDeps, name: string): Promise<string | undefined> {
  const seen = new Set<string>();
  const queue = [name];
  while (queue.length > 0 && seen.size <= 64) {
    const next = queue.shift()!;
    if (seen.has(next)) continue;
    seen.add(next);
    let model;
    try {
      const rec = await getPlaybook(deps, next);
      model = modelOf(rec.file, rec.fileSha256);
    } catch {
      continue; // a call to a playbook deleted since: the call step fails when it runs
    }
    if (model.steps.some((st) => st.kind === 'process')) return next;
    for (const st of model.steps) if (st.call) queue.push(st.call.name);
  }
  return undefined;
}

export type StartResult = { run: PlaybookRunRecord; started: boolean } | { plan: PlannedStep[] };

/** Start a run of the playbook's current version, or (dry run) plan it. A signal starts at most one run per playbook. */
export async function startRun(deps: AppDeps, actor: Actor, name: string, o: StartOptions = {}): Promise<StartResult> {
  const rec = await getPlaybook(deps, name);
  const model = modelOf(rec.file, rec.fileSha256);
  if (!o.trigger && !model.trigger.manual) throw forbidden(`playbook ${name} starts only from its trigger (trigger.manual is false)`);
  const inputs = resolveInputs(model, o.inputs ?? {});
  if (!inputs.ok) throw invalid(inputs.message);
  if (o.dryRun) return { plan: planRun(model, inputs.values, o.trigger ?? null) };
  if (!o.trigger && o.mayPrivileged !== true) {
    const withProcess = await startsProcesses(deps, name);
    if (withProcess !== undefined)
      throw new DomainError(
        'forbidden',
        `playbook ${withProcess === name ? name : `${withProcess} (called by ${name})`} starts processes on the server's host with inputs you choose; to start it the token needs the permission experiments:privileged`,
        { permission: 'experiments:privileged' },
      );
  }
  const now = iso(deps.clock);
  const id = newPlaybookRunId();
  // The principal an approval step's request names as its requester (so never its approver): the
  // person who started it, or for a signal's or schedule's run the one who applied this version.
  const startedById = o.startedById !== undefined ? o.startedById : o.trigger ? rec.appliedById : actor.id;
  const run: PlaybookRunRecord = {
    id,
    playbook: name,
    version: rec.version,
    state: 'running',
    inputs: inputs.values,
    trigger: o.trigger ?? null,
    triggerKey: o.trigger?.id ?? null,
    cursor: 0,
    wakeAt: null,
    leaseOwner: null,
    leaseUntil: null,
    startedBy: actorLabel(actor),
    startedById,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
    reason: null,
  };
  const steps: StepExecutionRecord[] = model.steps.map((s, idx) => ({
    runId: id,
    idx,
    stepId: s.id,
    kind: s.kind,
    mode: s.mode,
    state: 'pending',
    attempts: 0,
    outputs: null,
    error: null,
    idempotencyKey: null,
    assignee: s.assignee ?? null,
    startedAt: null,
    finishedAt: null,
    notes: null,
    timeSpentMs: null,
    doneBy: null,
    doneById: null,
    updatedAt: now,
  }));
  return deps.store.transaction(async (tx) => {
    if (!(await tx.playbooks.createRun(run, steps))) {
      const existing = (await tx.playbooks.listRuns({ playbook: name, limit: 50 })).find((r) => r.triggerKey === run.triggerKey);
      return { run: existing ?? run, started: false };
    }
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'playbook.run.started',
          subject: `playbook-run:${id}`,
          data: {
            run: id,
            playbook: name,
            version: rec.version,
            trigger: o.trigger ? (o.trigger.kind ?? 'signal') : 'manual',
            signal: o.trigger && o.trigger.kind === undefined ? o.trigger.id : null,
          },
        },
      ],
      now,
    );
    return { run, started: true };
  });
}

export async function getRun(deps: Pick<AppDeps, 'store'>, id: string): Promise<PlaybookRunRecord> {
  const r = await deps.store.playbooks.getRun(id);
  if (!r) throw notFound(`no playbook run '${id}'; GET /v1/playbook-runs lists them`);
  return r;
}

/** Pause a running or waiting run: the engine stops after the step it is in; nothing is lost. */
export async function pauseRun(deps: AppDeps, actor: Actor, id: string): Promise<PlaybookRunRecord> {
  return changeState(deps, actor, id, ['running', 'waiting'], 'paused');
}

/** Resume a paused run where it was (a step waiting for a person waits again). */
export async function resumeRun(deps: AppDeps, actor: Actor, id: string): Promise<PlaybookRunRecord> {
  return changeState(deps, actor, id, ['paused'], 'running');
}

async function changeState(
  deps: AppDeps,
  actor: Actor,
  id: string,
  from: PlaybookRunRecord['state'][],
  to: 'paused' | 'running',
): Promise<PlaybookRunRecord> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const run = await tx.playbooks.getRun(id);
    if (!run) throw notFound(`no playbook run '${id}'`);
    if (!from.includes(run.state))
      throw conflict(`run ${id} is ${run.state}; only a ${from.join(' or ')} run can be ${to === 'paused' ? 'paused' : 'resumed'}`);
    await tx.playbooks.updateRun(id, { state: to, updatedAt: now }, { from });
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'playbook.run.changed',
          subject: `playbook-run:${id}`,
          data: { run: id, from: run.state, to, by: actorLabel(actor) },
        },
      ],
      now,
    );
    return (await tx.playbooks.getRun(id))!;
  });
}

/**
 * Cancel a run that has not ended: the steps not done are cancelled; the answer to a request in
 * flight is not recorded over the end. The runs of playbooks it called that have not ended are
 * cancelled with it (and theirs), in the same transaction.
 */
export async function cancelRun(deps: AppDeps, actor: Actor, id: string, reason = 'cancelled by a person'): Promise<PlaybookRunRecord> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const run = await tx.playbooks.getRun(id);
    if (!run) throw notFound(`no playbook run '${id}'`);
    if (FINAL_RUN_STATES.includes(run.state)) throw conflict(`run ${id} has ended (${run.state}); there is nothing to cancel`);
    if (!(await cancelIn(tx, actor, run, reason, now, 0))) throw conflict(`run ${id} ended a moment ago; there is nothing to cancel`);
    return (await tx.playbooks.getRun(id))!;
  });
}

/** Cancel one run in `tx` (compare and set), then the runs its `playbook` steps are waiting for; whether it was cancelled. */
async function cancelIn(tx: Repos, actor: Actor, run: PlaybookRunRecord, reason: string, now: string, depth: number): Promise<boolean> {
  const id = run.id;
  // Compare and set: an end the engine committed meanwhile is kept, not written over.
  const from = RUN_STATES.filter((s) => !FINAL_RUN_STATES.includes(s));
  if (!(await tx.playbooks.updateRun(id, { state: 'cancelled', finishedAt: now, reason, updatedAt: now, wakeAt: null }, { from })))
    return false;
  const steps = await tx.playbooks.steps(id);
  for (const s of steps)
    if (['pending', 'waiting', 'retrying', 'confirmed'].includes(s.state))
      await tx.playbooks.updateStep(id, s.idx, { state: 'cancelled', updatedAt: now }, [s.state]);
  await tx.ledger.append(
    [
      {
        actor,
        kind: 'playbook.run.finished',
        subject: `playbook-run:${id}`,
        data: {
          run: id,
          playbook: run.playbook,
          version: run.version,
          outcome: 'cancelled',
          reason: `${reason} (${actorLabel(actor)})`.slice(0, 1000),
        },
      },
    ],
    now,
  );
  if (depth > MAX_CALL_DEPTH) return true;
  for (const s of steps) {
    const child = s.kind === 'playbook' && s.state === 'running' ? (s.outputs as { run?: unknown } | null)?.run : undefined;
    if (typeof child !== 'string') continue;
    const c = await tx.playbooks.getRun(child);
    if (c && !FINAL_RUN_STATES.includes(c.state)) await cancelIn(tx, actor, c, `its parent run ${id} was cancelled`, now, depth + 1);
  }
  return true;
}

export interface Completion {
  /** A manual step: done or failed. An assisted step: confirmed (it runs now) or declined (the run fails). */
  outcome: 'done' | 'failed' | 'confirmed' | 'declined';
  notes?: string;
  timeSpentMs?: number;
  /** A manual step's outputs for the steps after it (`steps.ID.NAME`). */
  outputs?: Record<string, unknown>;
}

/** A person's confirmation of the step a run waits at. */
export async function completeStep(deps: AppDeps, actor: Actor, runId: string, stepId: string, c: Completion): Promise<PlaybookRunRecord> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const run = await tx.playbooks.getRun(runId);
    if (!run) throw notFound(`no playbook run '${runId}'`);
    const steps = await tx.playbooks.steps(runId);
    const step = steps.find((s) => s.stepId === stepId);
    if (!step) throw notFound(`run ${runId} has no step '${stepId}'; its steps are ${steps.map((s) => s.stepId).join(', ')}`);
    if (run.state !== 'waiting' || step.state !== 'waiting' || run.cursor !== step.idx)
      throw conflict(
        `step ${stepId} of run ${runId} is ${step.state} (the run is ${run.state}); only a step waiting for a person can be completed`,
      );
    const model = await versionModel(tx, run.playbook, run.version);
    const def = model.steps[step.idx]!;
    const manual = step.mode === 'manual';
    if (manual && (c.outcome === 'confirmed' || c.outcome === 'declined'))
      throw invalid(`step ${stepId} is manual: record it done or failed (a person does it), not ${c.outcome}`);
    if (!manual && (c.outcome === 'done' || c.outcome === 'failed'))
      throw invalid(`step ${stepId} is assisted: confirm it (Bulwark then runs it) or decline it, not ${c.outcome}`);
    if (def.assignee && def.assignee !== actor.id && actor.kind !== 'system')
      throw forbidden(`step ${stepId} is assigned to ${def.assignee}; they record it`);
    const by = actorLabel(actor);
    const notes = (c.notes ?? '').slice(0, 2000);
    const timeSpentMs = c.timeSpentMs === undefined ? null : Math.max(0, Math.round(c.timeSpentMs));
    const common = { notes, timeSpentMs, doneBy: by, doneById: actor.id, updatedAt: now };
    const entries: Parameters<typeof tx.ledger.append>[0][number][] = [
      {
        actor,
        kind: 'playbook.step.confirmed',
        subject: `playbook-run:${runId}`,
        data: { run: runId, step: stepId, index: step.idx, mode: step.mode, outcome: c.outcome, notes, timeSpentMs, by },
      },
    ];
    if (c.outcome === 'done') {
      await tx.playbooks.updateStep(
        runId,
        step.idx,
        { ...common, state: 'done', finishedAt: now, outputs: { outcome: 'done', notes, ...(c.outputs ?? {}) } },
        ['waiting'],
      );
      await tx.playbooks.updateRun(runId, { state: 'running', cursor: step.idx + 1, wakeAt: null, updatedAt: now }, { from: ['waiting'] });
    } else if (c.outcome === 'confirmed') {
      await tx.playbooks.updateStep(runId, step.idx, { ...common, state: 'confirmed' }, ['waiting']);
      await tx.playbooks.updateRun(runId, { state: 'running', wakeAt: null, updatedAt: now }, { from: ['waiting'] });
    } else {
      const reason = `step ${stepId} ${c.outcome} by ${by}${notes ? `: ${notes}` : ''}`.slice(0, 1000);
      await tx.playbooks.updateStep(runId, step.idx, { ...common, state: 'failed', finishedAt: now, error: reason }, ['waiting']);
      await tx.playbooks.updateRun(runId, { state: 'failed', finishedAt: now, reason, updatedAt: now }, { from: ['waiting'] });
      entries.push({
        actor,
        kind: 'playbook.run.finished',
        subject: `playbook-run:${runId}`,
        data: { run: runId, playbook: run.playbook, version: run.version, outcome: 'failed', reason },
      });
    }
    await tx.ledger.append(entries, now);
    return (await tx.playbooks.getRun(runId))!;
  });
}
