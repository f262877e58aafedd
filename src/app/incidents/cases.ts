/** Cases: acknowledge, assign, close with a resolution, escalate into an incident. Each change is a compare and set with its ledger entry, in one transaction. */
import { checkImpactStart } from '../../core/incidents/links.ts';
import { conflict, notFound } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import { closeMove, escalateMove, triageMove } from '../../core/incidents/model.ts';
import type { CaseLink, CaseRecord, IncidentRecord } from '../../store/incidents/port.ts';
import type { Repos } from '../../store/store.ts';
import { iso, type AppDeps } from '../deps.ts';
import { declareIn, type DeclareInput } from './incidents.ts';
import { currentSettings, entry, record } from './record.ts';

async function caseOf(tx: Repos, id: number): Promise<CaseRecord> {
  const c = await tx.incidents.getCase(id);
  if (!c) throw notFound(`no case ${id}; GET /v1/cases lists them`);
  return c;
}

const moved = (id: number) => conflict(`case ${id} changed while this request ran; read it again and retry`);

export async function getCase(deps: Pick<AppDeps, 'store'>, id: number): Promise<{ case: CaseRecord; links: CaseLink[] }> {
  const c = await caseOf(deps.store, id);
  return { case: c, links: await deps.store.incidents.caseLinks(id) };
}

export async function acknowledgeCase(deps: AppDeps, actor: Actor, id: number): Promise<CaseRecord> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const c = await caseOf(tx, id);
    if (c.acknowledgedAt) throw conflict(`case ${id} was acknowledged at ${c.acknowledgedAt} by ${c.acknowledgedBy ?? 'someone'}`);
    const state = triageMove(id, c.state, 'acknowledge');
    const by = actorLabel(actor);
    if (!(await tx.incidents.updateCase(id, c.state, { state, acknowledgedAt: now, acknowledgedBy: by }))) throw moved(id);
    await record(tx, [entry(actor, 'case.acknowledged', `case:${id}`, { case: id, by, from: c.state })], now);
    return (await tx.incidents.getCase(id))!;
  });
}

export async function assignCase(deps: AppDeps, actor: Actor, id: number, assignee: string): Promise<CaseRecord> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const c = await caseOf(tx, id);
    const state = triageMove(id, c.state, 'assign');
    if (c.assignee === assignee) throw conflict(`case ${id} is assigned to ${assignee} already`);
    if (!(await tx.incidents.updateCase(id, c.state, { state, assignee, assignedAt: now }))) throw moved(id);
    await record(tx, [entry(actor, 'case.assigned', `case:${id}`, { case: id, assignee, from: c.state })], now);
    return (await tx.incidents.getCase(id))!;
  });
}

export async function closeCase(deps: AppDeps, actor: Actor, id: number, resolution: string, note: string | null): Promise<CaseRecord> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const settings = await currentSettings(deps, tx);
    const c = await caseOf(tx, id);
    const state = closeMove(id, c.state, resolution, settings.resolutions);
    if (!(await tx.incidents.updateCase(id, c.state, { state, resolution, closedAt: now }))) throw moved(id);
    await record(tx, [entry(actor, 'case.closed', `case:${id}`, { case: id, resolution, note })], now);
    return (await tx.incidents.getCase(id))!;
  });
}

/** Escalate: an incident is declared from the case (its timeline starts with the case's), and the case points at it. */
export async function escalateCase(
  deps: AppDeps,
  actor: Actor,
  id: number,
  input: Omit<DeclareInput, 'title'> & { title?: string },
): Promise<{ case: CaseRecord; incident: IncidentRecord }> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const c = await caseOf(tx, id);
    const state = escalateMove(id, c.state);
    checkImpactStart(input.impactStartedAt, now);
    const incident = await declareIn(deps, tx, actor, { ...input, title: input.title ?? c.title }, now, id);
    if (!(await tx.incidents.updateCase(id, c.state, { state, incidentId: incident.id }))) throw moved(id);
    // The case's history comes first on the incident's timeline: detection, grouping, acknowledgement.
    const history = await tx.incidents.timeline(`case:${id}`, { limit: 100_000 });
    await tx.incidents.addTimeline(
      `incident:${incident.id}`,
      history.map((e) => e.seq),
    );
    await record(tx, [entry(actor, 'case.escalated', `case:${id}`, { case: id, incident: incident.id })], now, [`incident:${incident.id}`]);
    return { case: (await tx.incidents.getCase(id))!, incident };
  });
}
