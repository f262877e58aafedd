/** Incidents over kysely, the same queries on SQLite and PostgreSQL. */
import { sql } from 'kysely';
import type { StoredEntry } from '../../core/ledger/entry.ts';
import type { CaseState, IncidentStatus, Role, RoleInterval } from '../../core/incidents/model.ts';
import type { Database } from '../schema.ts';
import { toBuf, type Db } from '../kysely/util.ts';
import type {
  CaseLink,
  CasePatch,
  CaseRecord,
  EvidenceBlob,
  EvidenceItem,
  IncidentLink,
  IncidentPatch,
  IncidentRecord,
  IncidentRepo,
  OutboxItem,
  PostmortemVersion,
  RecoveryTask,
  ReportVersion,
  SettingsRecord,
  TaskPatch,
  TaskRecord,
  Viewer,
} from './port.ts';
import type { TaskStatus } from '../../core/incidents/tasks.ts';

const flag = (b: boolean) => (b ? 1 : 0);

export class KyselyIncidents implements IncidentRepo {
  constructor(private readonly db: Db) {}

  async nextNumber(name: 'case' | 'incident' | 'outbox' | `task:${number}` | `report:${number}`): Promise<number> {
    await this.db
      .insertInto('incident_counters')
      .values({ name, value: 0 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const r = await this.db
      .updateTable('incident_counters')
      .set({ value: sql<number>`value + 1` })
      .where('name', '=', name)
      .returning('value')
      .executeTakeFirstOrThrow();
    return Number(r.value);
  }

  async position(name: string): Promise<number> {
    const r = await this.db.selectFrom('incident_counters').select('value').where('name', '=', `position:${name}`).executeTakeFirst();
    return r ? Number(r.value) : 0;
  }

  async advance(name: string, from: number, to: number): Promise<boolean> {
    const key = `position:${name}`;
    if (from === 0) {
      const ins = await this.db
        .insertInto('incident_counters')
        .values({ name: key, value: to })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      if (Number(ins.numInsertedOrUpdatedRows ?? 0) > 0) return true;
    }
    const r = await this.db
      .updateTable('incident_counters')
      .set({ value: to })
      .where('name', '=', key)
      .where('value', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async getSettings(): Promise<SettingsRecord | undefined> {
    const r = await this.db.selectFrom('incident_settings').selectAll().where('id', '=', 1).executeTakeFirst();
    return r
      ? { file: r.file, fileSha256: r.file_sha256, version: Number(r.version), updatedAt: r.updated_at, updatedBy: r.updated_by }
      : undefined;
  }

  async putSettings(file: string, sha256: string, by: string, now: string): Promise<SettingsRecord> {
    const r = await this.db
      .insertInto('incident_settings')
      .values({ id: 1, file, file_sha256: sha256, version: 1, updated_at: now, updated_by: by })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          file: (eb) => eb.ref('excluded.file'),
          file_sha256: (eb) => eb.ref('excluded.file_sha256'),
          updated_at: (eb) => eb.ref('excluded.updated_at'),
          updated_by: (eb) => eb.ref('excluded.updated_by'),
          version: sql<number>`incident_settings.version + 1`,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return { file: r.file, fileSha256: r.file_sha256, version: Number(r.version), updatedAt: r.updated_at, updatedBy: r.updated_by };
  }

  async insertCase(c: CaseRecord): Promise<void> {
    await this.db.insertInto('incident_cases').values(caseRow(c)).execute();
  }

  async getCase(id: number): Promise<CaseRecord | undefined> {
    const r = await this.db.selectFrom('incident_cases').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? fromCase(r) : undefined;
  }

  async listCases(q: { state?: CaseState; limit: number }): Promise<CaseRecord[]> {
    let query = this.db.selectFrom('incident_cases').selectAll();
    if (q.state) query = query.where('state', '=', q.state);
    return (await query.orderBy('id', 'desc').limit(q.limit).execute()).map(fromCase);
  }

  async openCases(): Promise<CaseRecord[]> {
    const rows = await this.db
      .selectFrom('incident_cases')
      .selectAll()
      .where('state', 'in', ['new', 'triage'])
      .orderBy('id', 'asc')
      .execute();
    return rows.map(fromCase);
  }

  async updateCase(id: number, expect: CaseState, patch: CasePatch): Promise<boolean> {
    const set: Partial<Database['incident_cases']> = {};
    if (patch.state !== undefined) set.state = patch.state;
    if (patch.assignee !== undefined) set.assignee = patch.assignee;
    if (patch.assignedAt !== undefined) set.assigned_at = patch.assignedAt;
    if (patch.acknowledgedAt !== undefined) set.acknowledged_at = patch.acknowledgedAt;
    if (patch.acknowledgedBy !== undefined) set.acknowledged_by = patch.acknowledgedBy;
    if (patch.closedAt !== undefined) set.closed_at = patch.closedAt;
    if (patch.resolution !== undefined) set.resolution = patch.resolution;
    if (patch.incidentId !== undefined) set.incident_id = patch.incidentId;
    const r = await this.db.updateTable('incident_cases').set(set).where('id', '=', id).where('state', '=', expect).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async linkCase(caseId: number, link: CaseLink): Promise<boolean> {
    const ins = await this.db
      .insertInto('incident_case_links')
      .values({ case_id: caseId, kind: link.kind, ref: link.ref, at: link.at, resolved: flag(link.resolved) })
      .onConflict((oc) => oc.columns(['case_id', 'kind', 'ref']).doNothing())
      .executeTakeFirst();
    if (Number(ins.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    await this.db
      .updateTable('incident_cases')
      .set({
        items: sql<number>`items + 1`,
        last_seen_at: sql<string>`case when last_seen_at < ${link.at} then ${link.at} else last_seen_at end`,
      })
      .where('id', '=', caseId)
      .execute();
    return true;
  }

  async caseLinks(caseId: number): Promise<CaseLink[]> {
    const rows = await this.db
      .selectFrom('incident_case_links')
      .selectAll()
      .where('case_id', '=', caseId)
      .orderBy('at', 'asc')
      .orderBy('ref', 'asc')
      .execute();
    return rows.map((r) => ({ kind: r.kind as CaseLink['kind'], ref: r.ref, at: r.at, resolved: Number(r.resolved) === 1 }));
  }

  async insertIncident(i: IncidentRecord): Promise<void> {
    await this.db
      .insertInto('incidents')
      .values({
        id: i.id,
        title: i.title,
        severity: i.severity,
        priority: i.priority,
        status: i.status,
        restricted: flag(i.restricted),
        impact_started_at: i.impactStartedAt,
        declared_at: i.declaredAt,
        declared_by: i.declaredBy,
        mitigated_at: i.mitigatedAt,
        resolved_at: i.resolvedAt,
        closed_at: i.closedAt,
        case_id: i.caseId,
      })
      .execute();
  }

  private visible(viewer: Viewer) {
    return this.db
      .selectFrom('incidents')
      .where((eb) =>
        viewer.seesRestricted
          ? eb.lit(true)
          : eb.or([
              eb('restricted', '=', 0),
              eb.exists(
                eb
                  .selectFrom('incident_participants as p')
                  .select('p.participant')
                  .whereRef('p.incident_id', '=', 'incidents.id')
                  .where('p.participant', '=', viewer.id),
              ),
            ]),
      );
  }

  async getIncident(id: number, viewer?: Viewer): Promise<IncidentRecord | undefined> {
    const base = viewer ? this.visible(viewer) : this.db.selectFrom('incidents');
    const r = await base.selectAll().where('id', '=', id).executeTakeFirst();
    return r ? fromIncident(r) : undefined;
  }

  async listIncidents(q: {
    viewer: Viewer;
    status?: IncidentStatus;
    limit: number;
  }): Promise<{ incidents: IncidentRecord[]; total: number }> {
    let base = this.visible(q.viewer);
    if (q.status) base = base.where('status', '=', q.status);
    const rows = await base.selectAll().orderBy('id', 'desc').limit(q.limit).execute();
    const count = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { incidents: rows.map(fromIncident), total: Number(count.n) };
  }

  async hiddenIncidents(viewer: Viewer): Promise<number[]> {
    if (viewer.seesRestricted) return [];
    const rows = await this.db
      .selectFrom('incidents')
      .select('id')
      .where('restricted', '=', 1)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('incident_participants as p')
              .select('p.participant')
              .whereRef('p.incident_id', '=', 'incidents.id')
              .where('p.participant', '=', viewer.id),
          ),
        ),
      )
      .orderBy('id', 'asc')
      .execute();
    return rows.map((r) => Number(r.id));
  }

  async updateIncident(id: number, expect: IncidentStatus, patch: IncidentPatch): Promise<boolean> {
    const set: Partial<Database['incidents']> = {};
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.severity !== undefined) set.severity = patch.severity;
    if (patch.mitigatedAt !== undefined) set.mitigated_at = patch.mitigatedAt;
    if (patch.resolvedAt !== undefined) set.resolved_at = patch.resolvedAt;
    if (patch.closedAt !== undefined) set.closed_at = patch.closedAt;
    const r = await this.db.updateTable('incidents').set(set).where('id', '=', id).where('status', '=', expect).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async roles(incidentId: number): Promise<RoleInterval[]> {
    const rows = await this.db
      .selectFrom('incident_roles')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .orderBy('from_at', 'asc')
      .orderBy('role', 'asc')
      .execute();
    return rows.map((r) => ({ role: r.role as Role, holder: r.holder, from: r.from_at, to: r.to_at }));
  }

  async openRole(incidentId: number, role: Role, holder: string, from: string): Promise<boolean> {
    const r = await this.db
      .insertInto('incident_roles')
      .values({ incident_id: incidentId, role, holder, from_at: from, to_at: null })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async closeRole(incidentId: number, role: Role, holder: string, to: string): Promise<boolean> {
    const r = await this.db
      .updateTable('incident_roles')
      .set({ to_at: to })
      .where('incident_id', '=', incidentId)
      .where('role', '=', role)
      .where('holder', '=', holder)
      .where('to_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async addParticipant(incidentId: number, participant: string, now: string): Promise<boolean> {
    const r = await this.db
      .insertInto('incident_participants')
      .values({ incident_id: incidentId, participant, added_at: now })
      .onConflict((oc) => oc.columns(['incident_id', 'participant']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async participants(incidentId: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('incident_participants')
      .select('participant')
      .where('incident_id', '=', incidentId)
      .orderBy('added_at')
      .orderBy('participant')
      .execute();
    return rows.map((r) => r.participant);
  }

  async addTimeline(subject: string, seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.db
      .insertInto('incident_timeline')
      .values(seqs.map((seq) => ({ subject, seq })))
      .onConflict((oc) => oc.columns(['subject', 'seq']).doNothing())
      .execute();
  }

  async timeline(subject: string, q: { after?: number; limit: number }): Promise<StoredEntry[]> {
    let query = this.db
      .selectFrom('incident_timeline as t')
      .innerJoin('ledger_entries as l', 'l.seq', 't.seq')
      .select(['l.seq', 'l.time', 'l.actor', 'l.kind', 'l.subject', 'l.data'])
      .where('t.subject', '=', subject);
    if (q.after !== undefined) query = query.where('t.seq', '>', q.after);
    const rows = await query.orderBy('t.seq', 'asc').limit(q.limit).execute();
    return rows.map((r) => ({ seq: Number(r.seq), time: r.time, actor: r.actor, kind: r.kind, subject: r.subject, dataJson: r.data }));
  }

  async putBlob(b: EvidenceBlob): Promise<void> {
    await this.db
      .insertInto('incident_evidence_blobs')
      .values({ sha256: b.sha256, media_type: b.mediaType, size: b.size, bytes: b.bytes })
      .onConflict((oc) => oc.column('sha256').doNothing())
      .execute();
  }

  async getBlob(sha256: string): Promise<EvidenceBlob | undefined> {
    const r = await this.db.selectFrom('incident_evidence_blobs').selectAll().where('sha256', '=', sha256).executeTakeFirst();
    return r ? { sha256: r.sha256, mediaType: r.media_type, size: Number(r.size), bytes: toBuf(r.bytes) } : undefined;
  }

  async addEvidence(e: Omit<EvidenceItem, 'mediaType' | 'size'>): Promise<boolean> {
    const r = await this.db
      .insertInto('incident_evidence')
      .values({
        incident_id: e.incidentId,
        sha256: e.sha256,
        name: e.name,
        origin: e.origin,
        collected_by: e.collectedBy,
        collected_at: e.collectedAt,
      })
      .onConflict((oc) => oc.columns(['incident_id', 'sha256']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async evidence(incidentId: number): Promise<EvidenceItem[]> {
    const rows = await this.db
      .selectFrom('incident_evidence as e')
      .innerJoin('incident_evidence_blobs as b', 'b.sha256', 'e.sha256')
      .select(['e.incident_id', 'e.sha256', 'e.name', 'e.origin', 'e.collected_by', 'e.collected_at', 'b.media_type', 'b.size'])
      .where('e.incident_id', '=', incidentId)
      .orderBy('e.collected_at', 'asc')
      .orderBy('e.sha256', 'asc')
      .execute();
    return rows.map((r) => ({
      incidentId: Number(r.incident_id),
      sha256: r.sha256,
      name: r.name,
      origin: r.origin,
      collectedBy: r.collected_by,
      collectedAt: r.collected_at,
      mediaType: r.media_type,
      size: Number(r.size),
    }));
  }

  async insertTask(t: TaskRecord): Promise<void> {
    await this.db
      .insertInto('incident_tasks')
      .values({
        incident_id: t.incidentId,
        id: t.id,
        title: t.title,
        owner: t.owner,
        due_at: t.dueAt,
        status: t.status,
        checklist: t.checklist,
        created_at: t.createdAt,
        created_by: t.createdBy,
        updated_at: t.updatedAt,
        done_at: t.doneAt,
      })
      .execute();
  }

  async getTask(incidentId: number, id: number): Promise<TaskRecord | undefined> {
    const r = await this.db
      .selectFrom('incident_tasks')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? fromTask(r) : undefined;
  }

  async tasks(incidentId: number, q: { status?: TaskStatus } = {}): Promise<TaskRecord[]> {
    let query = this.db.selectFrom('incident_tasks').selectAll().where('incident_id', '=', incidentId);
    if (q.status) query = query.where('status', '=', q.status);
    return (await query.orderBy('id', 'asc').execute()).map(fromTask);
  }

  async updateTask(incidentId: number, id: number, expect: TaskStatus, patch: TaskPatch): Promise<boolean> {
    const set: Partial<Database['incident_tasks']> = { updated_at: patch.updatedAt };
    if (patch.title !== undefined) set.title = patch.title;
    if (patch.owner !== undefined) set.owner = patch.owner;
    if (patch.dueAt !== undefined) set.due_at = patch.dueAt;
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.doneAt !== undefined) set.done_at = patch.doneAt;
    const r = await this.db
      .updateTable('incident_tasks')
      .set(set)
      .where('incident_id', '=', incidentId)
      .where('id', '=', id)
      .where('status', '=', expect)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async addReportVersion(v: ReportVersion): Promise<boolean> {
    const r = await this.db
      .insertInto('incident_status_reports')
      .values({
        incident_id: v.incidentId,
        report: v.report,
        version: v.version,
        kind: v.kind,
        state: v.state,
        body: v.body,
        next_update_at: v.nextUpdateAt,
        at: v.at,
        by: v.by,
      })
      .onConflict((oc) => oc.columns(['incident_id', 'report', 'version']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async reports(incidentId: number): Promise<ReportVersion[]> {
    const rows = await this.db
      .selectFrom('incident_status_reports as r')
      .selectAll('r')
      .where('r.incident_id', '=', incidentId)
      .where((eb) =>
        eb(
          'r.version',
          '=',
          eb
            .selectFrom('incident_status_reports as s')
            .select((e) => e.fn.max('s.version').as('v'))
            .whereRef('s.incident_id', '=', 'r.incident_id')
            .whereRef('s.report', '=', 'r.report'),
        ),
      )
      .orderBy('r.report', 'desc')
      .execute();
    return rows.map(fromReport);
  }

  async reportVersions(incidentId: number, report: number): Promise<ReportVersion[]> {
    const rows = await this.db
      .selectFrom('incident_status_reports')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .where('report', '=', report)
      .orderBy('version', 'asc')
      .execute();
    return rows.map(fromReport);
  }

  async recoveryTasks(): Promise<RecoveryTask[]> {
    const rows = await this.db
      .selectFrom('incident_tasks')
      .select(['incident_id', 'status', 'done_at'])
      .where('checklist', 'is not', null)
      .orderBy('incident_id', 'asc')
      .orderBy('id', 'asc')
      .execute();
    return rows.map((r) => ({ incidentId: Number(r.incident_id), status: r.status as TaskStatus, doneAt: r.done_at }));
  }

  async addLink(incidentId: number, link: IncidentLink): Promise<boolean> {
    const r = await this.db
      .insertInto('incident_links')
      .values({ incident_id: incidentId, kind: link.kind, ref: link.ref, added_at: link.addedAt, added_by: link.addedBy })
      .onConflict((oc) => oc.columns(['incident_id', 'kind', 'ref']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async links(incidentId: number): Promise<IncidentLink[]> {
    const rows = await this.db
      .selectFrom('incident_links')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .orderBy('kind', 'asc')
      .orderBy('ref', 'asc')
      .execute();
    return rows.map((r) => ({ kind: r.kind as IncidentLink['kind'], ref: r.ref, addedAt: r.added_at, addedBy: r.added_by }));
  }

  async addPostmortemVersion(v: PostmortemVersion): Promise<boolean> {
    const r = await this.db
      .insertInto('incident_postmortems')
      .values({ incident_id: v.incidentId, version: v.version, source: v.source, body: v.body, sha256: v.sha256, at: v.at, by: v.by })
      .onConflict((oc) => oc.columns(['incident_id', 'version']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async postmortemVersions(incidentId: number): Promise<PostmortemVersion[]> {
    const rows = await this.db
      .selectFrom('incident_postmortems')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .orderBy('version', 'asc')
      .execute();
    return rows.map((r) => ({
      incidentId: Number(r.incident_id),
      version: Number(r.version),
      source: r.source as PostmortemVersion['source'],
      body: r.body,
      sha256: r.sha256,
      at: r.at,
      by: r.by,
    }));
  }

  async markExercise(incidentId: number): Promise<void> {
    await this.db
      .insertInto('incident_exercises')
      .values({ incident_id: incidentId, state: 'running' })
      .onConflict((oc) => oc.column('incident_id').doNothing())
      .execute();
  }

  async markExerciseEnded(incidentId: number): Promise<void> {
    await this.db.updateTable('incident_exercises').set({ state: 'ended' }).where('incident_id', '=', incidentId).execute();
  }

  async exerciseIds(q: { running?: boolean } = {}): Promise<number[]> {
    let query = this.db.selectFrom('incident_exercises').select('incident_id').orderBy('incident_id', 'asc');
    if (q.running) query = query.where('state', '=', 'running');
    return (await query.execute()).map((r) => Number(r.incident_id));
  }

  async enqueue(item: Omit<OutboxItem, 'id'>): Promise<number> {
    const id = await this.nextNumber('outbox');
    await this.db
      .insertInto('incident_outbox')
      .values({
        id,
        webhook: item.webhook,
        event: item.event,
        incident_id: item.incidentId,
        body: item.body,
        created_at: item.createdAt,
        state: item.state,
        attempts: item.attempts,
        next_attempt_at: item.nextAttemptAt,
        delivered_at: item.deliveredAt,
        last_error: item.lastError,
      })
      .execute();
    return id;
  }

  async dueNotifications(now: string, limit: number): Promise<OutboxItem[]> {
    const rows = await this.db
      .selectFrom('incident_outbox')
      .selectAll()
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('id', 'asc')
      .limit(limit)
      .execute();
    return rows.map(fromOutbox);
  }

  async settleNotification(
    id: number,
    attemptsBefore: number,
    patch: Pick<OutboxItem, 'state' | 'attempts' | 'nextAttemptAt' | 'deliveredAt' | 'lastError'>,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('incident_outbox')
      .set({
        state: patch.state,
        attempts: patch.attempts,
        next_attempt_at: patch.nextAttemptAt,
        delivered_at: patch.deliveredAt,
        last_error: patch.lastError,
      })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .where('attempts', '=', attemptsBefore)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async notifications(q: { incidentId?: number; limit: number }): Promise<OutboxItem[]> {
    let query = this.db.selectFrom('incident_outbox').selectAll();
    if (q.incidentId !== undefined) query = query.where('incident_id', '=', q.incidentId);
    return (await query.orderBy('id', 'desc').limit(q.limit).execute()).map(fromOutbox);
  }
}

function fromOutbox(r: Database['incident_outbox']): OutboxItem {
  return {
    id: Number(r.id),
    webhook: r.webhook,
    event: r.event,
    incidentId: Number(r.incident_id),
    body: r.body,
    createdAt: r.created_at,
    state: r.state as OutboxItem['state'],
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at,
    deliveredAt: r.delivered_at,
    lastError: r.last_error,
  };
}

function fromTask(r: Database['incident_tasks']): TaskRecord {
  return {
    incidentId: Number(r.incident_id),
    id: Number(r.id),
    title: r.title,
    owner: r.owner,
    dueAt: r.due_at,
    status: r.status as TaskRecord['status'],
    checklist: r.checklist,
    createdAt: r.created_at,
    createdBy: r.created_by,
    updatedAt: r.updated_at,
    doneAt: r.done_at,
  };
}

function fromReport(r: Database['incident_status_reports']): ReportVersion {
  return {
    incidentId: Number(r.incident_id),
    report: Number(r.report),
    version: Number(r.version),
    kind: r.kind as ReportVersion['kind'],
    state: r.state as ReportVersion['state'],
    body: r.body,
    nextUpdateAt: r.next_update_at,
    at: r.at,
    by: r.by,
  };
}

function caseRow(c: CaseRecord): Database['incident_cases'] {
  return {
    id: c.id,
    title: c.title,
    state: c.state,
    severity: c.severity,
    rule: c.rule,
    group_key: c.groupKey,
    opened_at: c.openedAt,
    last_seen_at: c.lastSeenAt,
    items: c.items,
    assignee: c.assignee,
    assigned_at: c.assignedAt,
    acknowledged_at: c.acknowledgedAt,
    acknowledged_by: c.acknowledgedBy,
    closed_at: c.closedAt,
    resolution: c.resolution,
    incident_id: c.incidentId,
  };
}

function fromCase(r: Database['incident_cases']): CaseRecord {
  return {
    id: Number(r.id),
    title: r.title,
    state: r.state as CaseRecord['state'],
    severity: r.severity as CaseRecord['severity'],
    rule: r.rule,
    groupKey: r.group_key,
    openedAt: r.opened_at,
    lastSeenAt: r.last_seen_at,
    items: Number(r.items),
    assignee: r.assignee,
    assignedAt: r.assigned_at,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
    closedAt: r.closed_at,
    resolution: r.resolution,
    incidentId: r.incident_id === null ? null : Number(r.incident_id),
  };
}

function fromIncident(r: Database['incidents']): IncidentRecord {
  return {
    id: Number(r.id),
    title: r.title,
    severity: r.severity,
    priority: r.priority as IncidentRecord['priority'],
    status: r.status as IncidentRecord['status'],
    restricted: Number(r.restricted) === 1,
    impactStartedAt: r.impact_started_at,
    declaredAt: r.declared_at,
    declaredBy: r.declared_by,
    mitigatedAt: r.mitigated_at,
    resolvedAt: r.resolved_at,
    closedAt: r.closed_at,
    caseId: r.case_id === null ? null : Number(r.case_id),
  };
}
