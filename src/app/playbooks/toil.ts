/**
 * "Do it once manually, automate it the second time", tracked: the toil report (manual and
 * assisted executions per playbook and step, their outcomes and time spent), the proposals it
 * makes (a step done by hand `automateAfter` times, 2 by default), and promotion of a step to
 * `auto`: asked by one person, approved by another (never the requester), the approval applying
 * the next version of the playbook (the same file with that step's mode changed) in the same
 * transaction as its ledger entry.
 */
import { randomBytes } from 'node:crypto';
import { conflict, DomainError, invalid, notFound } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import { withStepMode } from '../../core/playbooks/playbook-file.ts';
import type { PromotionRecord, ToilRow } from '../../store/playbooks/port.ts';
import { iso, type AppDeps } from '../deps.ts';
import { modelOf, playbookOf, putVersion } from './apply-playbook.ts';

export interface Proposal {
  playbook: string;
  step: string;
  mode: 'manual' | 'assisted';
  manualDone: number;
  threshold: number;
  /** The promotion waiting for approval, if someone asked for it. */
  pending: string | null;
}

export interface ToilReport {
  rows: ToilRow[];
  totals: { executions: number; timeSpentMs: number };
  proposals: Proposal[];
}

/** Manual work per playbook and step, and the steps it is time to automate. */
export async function toilReport(deps: Pick<AppDeps, 'store'>, playbook?: string): Promise<ToilReport> {
  const rows = await deps.store.playbooks.toil(playbook);
  const pending = (await deps.store.playbooks.listPromotions(playbook)).filter((p) => p.state === 'pending');
  const proposals: Proposal[] = [];
  const done = new Map<string, number>();
  for (const r of rows) done.set(`${r.playbook}\u0000${r.stepId}`, (done.get(`${r.playbook}\u0000${r.stepId}`) ?? 0) + r.done);
  for (const rec of await deps.store.playbooks.list()) {
    if (playbook !== undefined && rec.name !== playbook) continue;
    const model = modelOf(rec.file, rec.fileSha256);
    for (const s of model.steps) {
      if (s.mode === 'auto' || s.kind === 'checklist') continue;
      const n = done.get(`${rec.name}\u0000${s.id}`) ?? 0;
      if (n < model.automateAfter) continue;
      proposals.push({
        playbook: rec.name,
        step: s.id,
        mode: s.mode,
        manualDone: n,
        threshold: model.automateAfter,
        pending: pending.find((p) => p.playbook === rec.name && p.stepId === s.id)?.id ?? null,
      });
    }
  }
  return {
    rows,
    totals: { executions: rows.reduce((a, r) => a + r.done + r.failed, 0), timeSpentMs: rows.reduce((a, r) => a + r.timeSpentMs, 0) },
    proposals,
  };
}

/**
 * The toil KRI's count (the SLOs capability's KRI board, `toil-due-for-automation`): the steps
 * done by hand at least their playbook's `automateAfter` times and still not automatic, each named
 * `PLAYBOOK/STEP` with the times done by hand, the time people spent on it, and the playbook's
 * owner (its team) when the file names one.
 */
export async function toilKri(deps: Pick<AppDeps, 'store'>): Promise<{ value: number; items: string[] }> {
  const report = await toilReport(deps);
  const owners = new Map<string, string | undefined>();
  for (const rec of await deps.store.playbooks.list()) owners.set(rec.name, modelOf(rec.file, rec.fileSha256).owner);
  const spent = new Map<string, number>();
  for (const r of report.rows) spent.set(`${r.playbook}/${r.stepId}`, (spent.get(`${r.playbook}/${r.stepId}`) ?? 0) + r.timeSpentMs);
  const items = report.proposals.map((p) => {
    const key = `${p.playbook}/${p.step}`;
    const minutes = Math.round((spent.get(key) ?? 0) / 60_000);
    const owner = owners.get(p.playbook);
    return `${key}: ${p.manualDone}× by hand, ${minutes} min${owner ? `, ${owner}` : ''}`;
  });
  return { value: items.length, items };
}

/** Ask that a step become automatic; a second person decides. */
export async function requestPromotion(deps: AppDeps, actor: Actor, name: string, stepId: string): Promise<PromotionRecord> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const rec = await tx.playbooks.get(name);
    if (!rec) throw notFound(`no playbook '${name}'`);
    const model = modelOf(rec.file, rec.fileSha256);
    const step = model.steps.find((s) => s.id === stepId);
    if (!step) throw notFound(`playbook ${name} has no step '${stepId}'; its steps are ${model.steps.map((s) => s.id).join(', ')}`);
    if (step.kind === 'checklist')
      throw invalid(
        `step ${stepId} is a checklist: a person does it, it cannot run by itself; replace it with an http step to automate it`,
      );
    if (step.mode === 'auto') throw conflict(`step ${stepId} is automatic already (version ${rec.version})`);
    const open = (await tx.playbooks.listPromotions(name)).find((p) => p.stepId === stepId && p.state === 'pending');
    if (open) throw conflict(`promotion ${open.id} of step ${stepId} is waiting for approval already`);
    const manualDone = (await tx.playbooks.toil(name)).filter((r) => r.stepId === stepId).reduce((a, r) => a + r.done, 0);
    const p: PromotionRecord = {
      id: `pbp_${randomBytes(8).toString('hex')}`,
      playbook: name,
      stepId,
      fromVersion: rec.version,
      fromMode: step.mode,
      state: 'pending',
      requestedBy: actorLabel(actor),
      requestedById: actor.id,
      requestedAt: now,
      decidedBy: null,
      decidedAt: null,
      newVersion: null,
    };
    await tx.playbooks.createPromotion(p);
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'playbook.promotion.requested',
          subject: `playbook:${name}`,
          data: { id: p.id, playbook: name, step: stepId, fromVersion: rec.version, from: step.mode, manualDone, by: p.requestedBy },
        },
      ],
      now,
    );
    return p;
  });
}

/**
 * Approve or reject a promotion. The approver is never the requester (a two-person rule kept
 * here, in the ledger, until Access's multi-party approvals take it over). Approval applies the
 * version the promotion was requested on with the step's mode set to `auto`, and is refused
 * (409) when the playbook has moved to another version since: the next runs do the step by themselves.
 */
export async function decidePromotion(
  deps: AppDeps,
  actor: Actor,
  id: string,
  decision: 'approved' | 'rejected',
): Promise<{ promotion: PromotionRecord; version: number | null }> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const p = await tx.playbooks.getPromotion(id);
    if (!p) throw notFound(`no promotion '${id}'; GET /v1/playbooks/promotions lists them`);
    if (p.state !== 'pending') throw conflict(`promotion ${id} was ${p.state} already by ${p.decidedBy ?? 'someone'}`);
    if (p.requestedById === actor.id)
      throw new DomainError(
        'forbidden',
        `promotion ${id} was requested by ${p.requestedBy}; a second person approves or rejects it, never the requester`,
      );
    let newVersion: number | null = null;
    if (decision === 'approved') {
      const rec = await tx.playbooks.get(p.playbook);
      if (!rec) throw notFound(`playbook ${p.playbook} is gone`);
      // What the requester asked for is this step in that version; a newer file was never asked about.
      if (rec.version !== p.fromVersion)
        throw conflict(
          `promotion ${id} was requested on version ${p.fromVersion} of ${p.playbook}, which is now at version ${rec.version}; ` +
            `reject this promotion and request it again on the current version (bulwark playbooks promote ${p.playbook} ${p.stepId})`,
        );
      const model = modelOf(rec.file, rec.fileSha256);
      const step = model.steps.find((s) => s.id === p.stepId);
      if (!step) throw conflict(`version ${rec.version} of ${p.playbook} has no step ${p.stepId} any more; reject this promotion`);
      if (step.mode === 'auto') throw conflict(`step ${p.stepId} is automatic already in version ${rec.version}; reject this promotion`);
      const file = withStepMode(rec.file, step.path, 'auto');
      const next = playbookOf(file);
      newVersion = (await putVersion(tx, actor, file, next, now)).version;
    }
    if (!(await tx.playbooks.decidePromotion(id, { state: decision, decidedBy: actorLabel(actor), decidedAt: now, newVersion })))
      throw conflict(`promotion ${id} was decided by someone else a moment ago`);
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'playbook.promotion.decided',
          subject: `playbook:${p.playbook}`,
          data: { id, playbook: p.playbook, step: p.stepId, decision, by: actorLabel(actor), newVersion },
        },
      ],
      now,
    );
    return { promotion: (await tx.playbooks.getPromotion(id))!, version: newVersion };
  });
}
