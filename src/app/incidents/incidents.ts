/**
 * Incidents: declare, read (restricted ones only by participants and who may see them all), change
 * status, assign command roles (a handoff closes one interval and opens the next at the same
 * instant), notes and corrections, participants. Every change is one transaction with its entries.
 */
import { checkImpactStart } from '../../core/incidents/links.ts';
import { conflict, invalid } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import type { NewEntry } from '../../core/ledger/entry.ts';
import { assignRole, statusMove, type IncidentStatus, type Priority, type Role, type RoleInterval } from '../../core/incidents/model.ts';
import type { EvidenceItem, IncidentPatch, IncidentRecord, Viewer } from '../../store/incidents/port.ts';
import type { Repos } from '../../store/store.ts';
import { iso, type AppDeps } from '../deps.ts';
import { linkIn } from './links.ts';
import { currentSettings, entry, record, timelineEvent, visibleIncident, type TimelineEvent } from './record.ts';

export interface DeclareInput {
  title: string;
  severity: string;
  priority: Priority;
  restricted?: boolean;
  impactStartedAt?: string | null;
  /** SLOs the incident affected (by name; each must exist). */
  slos?: readonly string[];
  /** ATT&CK techniques seen in it (`T1110`, `T1110.004`). */
  techniques?: readonly string[];
}

/** Declare inside a transaction: the incident, its declarer as participant, and their entries. */
export async function declareIn(
  deps: Pick<AppDeps, 'store'>,
  tx: Repos,
  actor: Actor,
  input: DeclareInput,
  now: string,
  fromCase: number | null,
  exercise = false,
): Promise<IncidentRecord> {
  const settings = await currentSettings(deps, tx);
  if (!settings.severities.some((s) => s.name === input.severity))
    throw invalid(
      `severity '${input.severity}' is not in the severity model; use one of ${settings.severities.map((s) => s.name).join(', ')}`,
    );
  const impact = input.impactStartedAt ?? null;
  checkImpactStart(impact, now);
  const id = await tx.incidents.nextNumber('incident');
  const incident: IncidentRecord = {
    id,
    title: input.title,
    severity: input.severity,
    priority: input.priority,
    status: 'active',
    restricted: input.restricted ?? false,
    impactStartedAt: impact,
    declaredAt: now,
    declaredBy: actorLabel(actor),
    mitigatedAt: null,
    resolvedAt: null,
    closedAt: null,
    caseId: fromCase,
  };
  await tx.incidents.insertIncident(incident);
  if (exercise) await tx.incidents.markExercise(id); // before its entries, so no webhook is told
  await tx.incidents.addParticipant(id, actor.id, now);
  const subject = `incident:${id}`;
  await record(
    tx,
    [
      entry(actor, 'incident.declared', subject, {
        incident: id,
        title: incident.title,
        severity: incident.severity,
        priority: incident.priority,
        restricted: incident.restricted,
        impactStartedAt: impact,
        fromCase,
      }),
      entry(actor, 'incident.participant.added', subject, { incident: id, participant: actor.id }),
      ...(await linkIn(tx, actor, id, { slos: input.slos ?? [], techniques: input.techniques ?? [] }, now)),
    ],
    now,
  );
  return incident;
}

export async function declareIncident(deps: AppDeps, actor: Actor, input: DeclareInput): Promise<IncidentRecord> {
  const now = iso(deps.clock);
  return deps.store.transaction((tx) => declareIn(deps, tx, actor, input, now, null));
}

export interface IncidentDetail {
  incident: IncidentRecord;
  roles: RoleInterval[];
  participants: string[];
  evidence: EvidenceItem[];
  timeline: TimelineEvent[];
  /** Set when the timeline has more entries after the last one given: pass it as `after`. */
  next: number | null;
}

export async function incidentDetail(
  deps: Pick<AppDeps, 'store'>,
  viewer: Viewer,
  id: number,
  page: { after?: number; limit?: number } = {},
): Promise<IncidentDetail> {
  const incident = await visibleIncident(deps.store, id, viewer);
  const limit = page.limit ?? 500;
  const entries = await deps.store.incidents.timeline(`incident:${id}`, { after: page.after, limit: limit + 1 });
  const timeline = entries.slice(0, limit).map(timelineEvent);
  return {
    incident,
    roles: await deps.store.incidents.roles(id),
    participants: await deps.store.incidents.participants(id),
    evidence: await deps.store.incidents.evidence(id),
    timeline,
    next: entries.length > limit ? timeline[timeline.length - 1]!.seq : null,
  };
}

async function change(
  deps: AppDeps,
  viewer: Viewer,
  id: number,
  fn: (tx: Repos, incident: IncidentRecord, now: string) => Promise<NewEntry[]>,
): Promise<IncidentRecord> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const incident = await visibleIncident(tx, id, viewer);
    const entries = await fn(tx, incident, now);
    await record(tx, entries, now);
    return (await tx.incidents.getIncident(id))!;
  });
}

export function setIncidentStatus(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
  to: IncidentStatus,
  note: string | null,
): Promise<IncidentRecord> {
  return change(deps, viewer, id, async (tx, i, now) => {
    statusMove(id, i.status, to);
    const patch: IncidentPatch = { status: to };
    if (to === 'active') Object.assign(patch, { mitigatedAt: null, resolvedAt: null });
    if (to === 'mitigated') patch.mitigatedAt = now;
    if (to === 'resolved') Object.assign(patch, { resolvedAt: now, mitigatedAt: i.mitigatedAt ?? now });
    if (to === 'closed') Object.assign(patch, { closedAt: now, resolvedAt: i.resolvedAt ?? now, mitigatedAt: i.mitigatedAt ?? now });
    if (!(await tx.incidents.updateIncident(id, i.status, patch)))
      throw conflict(`incident ${id} changed while this request ran; read it again and retry`);
    return [entry(actor, 'incident.status.changed', `incident:${id}`, { incident: id, from: i.status, to, note })];
  });
}

/** Change the severity, to one of the severity model. */
export function setIncidentSeverity(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
  to: string,
  note: string | null,
): Promise<IncidentRecord> {
  return change(deps, viewer, id, async (tx, i) => {
    const settings = await currentSettings(deps, tx);
    if (!settings.severities.some((s) => s.name === to))
      throw invalid(`severity '${to}' is not in the severity model; use one of ${settings.severities.map((s) => s.name).join(', ')}`);
    if (i.severity === to) throw conflict(`incident ${id} is ${to} already`);
    if (i.status === 'closed') throw conflict(`incident ${id} is closed; its severity stays as it was`);
    if (!(await tx.incidents.updateIncident(id, i.status, { severity: to })))
      throw conflict(`incident ${id} changed while this request ran; read it again and retry`);
    return [entry(actor, 'incident.severity.changed', `incident:${id}`, { incident: id, from: i.severity, to, note })];
  });
}

/** Assign a command role; the holder becomes a participant (so they see a restricted incident). */
export function assignIncidentRole(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
  role: Role,
  holder: string,
): Promise<IncidentRecord> {
  return change(deps, viewer, id, async (tx, i, now) => {
    if (i.status === 'closed') throw conflict(`incident ${id} is closed; its roles are kept as they were`);
    const r = assignRole(await tx.incidents.roles(id), role, holder, now);
    if (r.close && !(await tx.incidents.closeRole(id, role, r.close.holder, now)))
      throw conflict(`the ${role} role changed while this request ran; retry`);
    if (!(await tx.incidents.openRole(id, role, holder, now))) throw conflict(`the ${role} role is held; hand it off instead`);
    const out = [
      entry(actor, 'incident.role.assigned', `incident:${id}`, {
        incident: id,
        role,
        holder,
        from: now,
        previous: r.close ? { holder: r.close.holder, from: r.close.from } : null,
      }),
    ];
    if (await tx.incidents.addParticipant(id, holder, now))
      out.push(entry(actor, 'incident.participant.added', `incident:${id}`, { incident: id, participant: holder }));
    return out;
  });
}

export function addParticipant(deps: AppDeps, actor: Actor, viewer: Viewer, id: number, participant: string): Promise<IncidentRecord> {
  return change(deps, viewer, id, async (tx, _i, now) => {
    if (!(await tx.incidents.addParticipant(id, participant, now)))
      throw conflict(`${participant} is a participant of incident ${id} already`);
    return [entry(actor, 'incident.participant.added', `incident:${id}`, { incident: id, participant })];
  });
}

/** A note; a correction names the timeline entry it corrects (nothing is ever edited). */
export function addNote(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
  text: string,
  corrects: number | null,
): Promise<IncidentRecord> {
  return change(deps, viewer, id, async (tx) => {
    if (corrects !== null) {
      const [e] = await tx.incidents.timeline(`incident:${id}`, { after: corrects - 1, limit: 1 });
      if (!e || e.seq !== corrects) throw invalid(`entry ${corrects} is not on incident ${id}'s timeline; correct one of its entries`);
    }
    return [entry(actor, 'incident.note', `incident:${id}`, { incident: id, text, corrects })];
  });
}
