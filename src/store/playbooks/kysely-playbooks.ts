/** Playbooks over kysely, the same queries on SQLite and PostgreSQL (the claim locks rows on PostgreSQL only). */
import { sql } from 'kysely';
import type { Database } from '../schema.ts';
import type { Db } from '../kysely/util.ts';
import type { Dialect } from '../store.ts';
import type {
  PlaybookRecord,
  PlaybookRepo,
  PlaybookRunRecord,
  PlaybookVersionRecord,
  PromotionRecord,
  RunPatch,
  RunState,
  StepExecutionRecord,
  StepState,
  ToilRow,
  WaitCursor,
} from './port.ts';

type RunRow = Database['playbook_runs'];
type StepRow = Database['playbook_steps'];

/** The advisory lock space of applies with calls ("BWPC"). */
const CALLS_LOCK_SPACE = 0x42575043;

export class KyselyPlaybooks implements PlaybookRepo {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {}

  async putVersion(
    p: { name: string; title: string; file: string; fileSha256: string; appliedBy: string; appliedById?: string },
    now: string,
  ): Promise<PlaybookRecord> {
    const stored = await this.db
      .insertInto('playbooks')
      .values({
        name: p.name,
        version: 1,
        title: p.title,
        file: p.file,
        file_sha256: p.fileSha256,
        created_at: now,
        updated_at: now,
        applied_by: p.appliedBy,
        applied_by_id: p.appliedById ?? null,
      })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({
          title: (eb) => eb.ref('excluded.title'),
          file: (eb) => eb.ref('excluded.file'),
          file_sha256: (eb) => eb.ref('excluded.file_sha256'),
          updated_at: (eb) => eb.ref('excluded.updated_at'),
          applied_by: (eb) => eb.ref('excluded.applied_by'),
          applied_by_id: (eb) => eb.ref('excluded.applied_by_id'),
          version: sql<number>`playbooks.version + 1`,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    await this.db
      .insertInto('playbook_versions')
      .values({
        name: p.name,
        version: Number(stored.version),
        file: p.file,
        file_sha256: p.fileSha256,
        applied_at: now,
        applied_by: p.appliedBy,
        applied_by_id: p.appliedById ?? null,
      })
      .execute();
    return fromPlaybook(stored);
  }

  async lockCalls(): Promise<void> {
    if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${sql.lit(CALLS_LOCK_SPACE)}, 0)`.execute(this.db);
  }

  async get(name: string): Promise<PlaybookRecord | undefined> {
    const r = await this.db.selectFrom('playbooks').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? fromPlaybook(r) : undefined;
  }

  async list(): Promise<PlaybookRecord[]> {
    return (await this.db.selectFrom('playbooks').selectAll().orderBy('name', 'asc').execute()).map(fromPlaybook);
  }

  async getVersion(name: string, version: number): Promise<PlaybookVersionRecord | undefined> {
    const r = await this.db
      .selectFrom('playbook_versions')
      .selectAll()
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst();
    return r ? fromVersion(r) : undefined;
  }

  async versions(name: string): Promise<PlaybookVersionRecord[]> {
    return (await this.db.selectFrom('playbook_versions').selectAll().where('name', '=', name).orderBy('version', 'desc').execute()).map(
      fromVersion,
    );
  }

  async createRun(run: PlaybookRunRecord, steps: StepExecutionRecord[]): Promise<boolean> {
    const r = await this.db
      .insertInto('playbook_runs')
      .values(toRunRow(run))
      .onConflict((oc) => oc.columns(['playbook', 'trigger_key']).doNothing())
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    if (steps.length > 0) await this.db.insertInto('playbook_steps').values(steps.map(toStepRow)).execute();
    return true;
  }

  async getRun(id: string): Promise<PlaybookRunRecord | undefined> {
    const r = await this.db.selectFrom('playbook_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? fromRun(r) : undefined;
  }

  async listRuns(q: { playbook?: string; state?: RunState; limit: number }): Promise<PlaybookRunRecord[]> {
    let s = this.db.selectFrom('playbook_runs').selectAll();
    if (q.playbook !== undefined) s = s.where('playbook', '=', q.playbook);
    if (q.state !== undefined) s = s.where('state', '=', q.state);
    return (await s.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute()).map(fromRun);
  }

  async updateRun(id: string, patch: RunPatch, cond: { owner?: string; from?: readonly RunState[] } = {}): Promise<boolean> {
    const set: Partial<RunRow> = {};
    if (patch.state !== undefined) set.state = patch.state;
    if (patch.cursor !== undefined) set.cursor = patch.cursor;
    if (patch.wakeAt !== undefined) set.wake_at = patch.wakeAt;
    if (patch.leaseOwner !== undefined) set.lease_owner = patch.leaseOwner;
    if (patch.leaseUntil !== undefined) set.lease_until = patch.leaseUntil;
    if (patch.finishedAt !== undefined) set.finished_at = patch.finishedAt;
    if (patch.reason !== undefined) set.reason = patch.reason;
    if (patch.updatedAt !== undefined) set.updated_at = patch.updatedAt;
    let q = this.db.updateTable('playbook_runs').set(set).where('id', '=', id);
    if (cond.owner !== undefined) q = q.where('lease_owner', '=', cond.owner);
    if (cond.from !== undefined) q = q.where('state', 'in', [...cond.from]);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async claimDue(owner: string, now: string, until: string, limit: number): Promise<PlaybookRunRecord[]> {
    const rows = await this.db
      .updateTable('playbook_runs')
      .set({ lease_owner: owner, lease_until: until })
      .where('id', 'in', (eb) => {
        const candidates = eb
          .selectFrom('playbook_runs as c')
          .select('c.id')
          .where('c.state', '=', 'running')
          .where((w) => w.or([w('c.wake_at', 'is', null), w('c.wake_at', '<=', now)]))
          .where((w) => w.or([w('c.lease_until', 'is', null), w('c.lease_until', '<', now)]))
          .orderBy('c.wake_at', 'asc')
          .limit(limit);
        return this.dialect === 'postgres' ? candidates.forUpdate().skipLocked() : candidates;
      })
      // Again on the row itself: on SQLite the subquery and the update are one statement under the
      // write lock; on PostgreSQL this re-check after a lock wait keeps a run with one owner.
      .where('state', '=', 'running')
      .where((w) => w.or([w('lease_until', 'is', null), w('lease_until', '<', now)]))
      .returningAll()
      .execute();
    return rows.map(fromRun);
  }

  async nextWake(): Promise<string | null> {
    const r = await this.db
      .selectFrom('playbook_runs')
      .select((eb) => eb.fn.min('wake_at').as('at'))
      .where('state', '=', 'running')
      .executeTakeFirst();
    return r?.at ?? null;
  }

  async steps(runId: string): Promise<StepExecutionRecord[]> {
    return (await this.db.selectFrom('playbook_steps').selectAll().where('run_id', '=', runId).orderBy('idx', 'asc').execute()).map(
      fromStep,
    );
  }

  async getStep(runId: string, idx: number): Promise<StepExecutionRecord | undefined> {
    const r = await this.db.selectFrom('playbook_steps').selectAll().where('run_id', '=', runId).where('idx', '=', idx).executeTakeFirst();
    return r ? fromStep(r) : undefined;
  }

  async updateStep(
    runId: string,
    idx: number,
    patch: Partial<Omit<StepExecutionRecord, 'runId' | 'idx' | 'stepId' | 'kind'>>,
    from?: readonly StepState[],
  ): Promise<boolean> {
    const full = toStepRow({ ...({} as StepExecutionRecord), ...patch });
    const set: Partial<StepRow> = {};
    const map: [keyof typeof patch, keyof StepRow][] = [
      ['mode', 'mode'],
      ['state', 'state'],
      ['attempts', 'attempts'],
      ['outputs', 'outputs'],
      ['error', 'error'],
      ['idempotencyKey', 'idempotency_key'],
      ['assignee', 'assignee'],
      ['startedAt', 'started_at'],
      ['finishedAt', 'finished_at'],
      ['notes', 'notes'],
      ['timeSpentMs', 'time_spent_ms'],
      ['doneBy', 'done_by'],
      ['doneById', 'done_by_id'],
      ['updatedAt', 'updated_at'],
    ];
    for (const [k, col] of map) if (k in patch) (set as Record<string, unknown>)[col] = full[col];
    let q = this.db.updateTable('playbook_steps').set(set).where('run_id', '=', runId).where('idx', '=', idx);
    if (from !== undefined) q = q.where('state', 'in', [...from]);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async waitingSteps(limit: number): Promise<(StepExecutionRecord & { playbook: string; version: number })[]> {
    const rows = await this.db
      .selectFrom('playbook_steps as s')
      .innerJoin('playbook_runs as r', 'r.id', 's.run_id')
      .selectAll('s')
      .select(['r.playbook as playbook', 'r.version as version'])
      .where('s.state', '=', 'waiting')
      .where('r.state', '=', 'waiting')
      .orderBy('s.updated_at', 'asc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...fromStep(r), playbook: r.playbook, version: Number(r.version) }));
  }

  async runningWaits(limit: number, after?: WaitCursor): Promise<(StepExecutionRecord & { playbook: string; version: number })[]> {
    let q = this.db
      .selectFrom('playbook_steps as s')
      .innerJoin('playbook_runs as r', 'r.id', 's.run_id')
      .selectAll('s')
      .select(['r.playbook as playbook', 'r.version as version'])
      .where('s.kind', '=', 'wait')
      .where('s.state', '=', 'running')
      // A wait under way has begun; a row without a start is not one (and would page differently on each database).
      .where('s.started_at', 'is not', null)
      .where('r.state', 'in', ['running', 'paused']);
    if (after)
      q = q.where((eb) =>
        eb.or([
          eb('s.started_at', '>', after.startedAt),
          eb.and([
            eb('s.started_at', '=', after.startedAt),
            eb.or([eb('s.run_id', '>', after.runId), eb.and([eb('s.run_id', '=', after.runId), eb('s.idx', '>', after.idx)])]),
          ]),
        ]),
      );
    const rows = await q.orderBy('s.started_at', 'asc').orderBy('s.run_id', 'asc').orderBy('s.idx', 'asc').limit(limit).execute();
    return rows.map((r) => ({ ...fromStep(r), playbook: r.playbook, version: Number(r.version) }));
  }

  async toil(playbook?: string): Promise<ToilRow[]> {
    let q = this.db
      .selectFrom('playbook_steps as s')
      .innerJoin('playbook_runs as r', 'r.id', 's.run_id')
      .select((eb) => [
        'r.playbook as playbook',
        's.step_id as step_id',
        's.mode as mode',
        eb.fn.sum<number>(sql`case when s.state = 'done' then 1 else 0 end`).as('done'),
        eb.fn.sum<number>(sql`case when s.state = 'failed' then 1 else 0 end`).as('failed'),
        eb.fn.sum<number>(sql`coalesce(s.time_spent_ms, 0)`).as('time_spent'),
        eb.fn.max('s.finished_at').as('last_at'),
      ])
      .where('s.mode', 'in', ['manual', 'assisted'])
      .where('s.state', 'in', ['done', 'failed'])
      .where('s.done_by', 'is not', null);
    if (playbook !== undefined) q = q.where('r.playbook', '=', playbook);
    const rows = await q
      .groupBy(['r.playbook', 's.step_id', 's.mode'])
      .orderBy('r.playbook')
      .orderBy('s.step_id')
      .orderBy('s.mode')
      .execute();
    return rows.map((r) => ({
      playbook: r.playbook,
      stepId: r.step_id,
      mode: r.mode as ToilRow['mode'],
      done: Number(r.done),
      failed: Number(r.failed),
      timeSpentMs: Number(r.time_spent),
      lastAt: r.last_at ?? null,
    }));
  }

  async createPromotion(p: PromotionRecord): Promise<void> {
    await this.db
      .insertInto('playbook_promotions')
      .values({
        id: p.id,
        playbook: p.playbook,
        step_id: p.stepId,
        from_version: p.fromVersion,
        from_mode: p.fromMode,
        state: p.state,
        requested_by: p.requestedBy,
        requested_by_id: p.requestedById,
        requested_at: p.requestedAt,
        decided_by: p.decidedBy,
        decided_at: p.decidedAt,
        new_version: p.newVersion,
      })
      .execute();
  }

  async getPromotion(id: string): Promise<PromotionRecord | undefined> {
    const r = await this.db.selectFrom('playbook_promotions').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? fromPromotion(r) : undefined;
  }

  async listPromotions(playbook?: string): Promise<PromotionRecord[]> {
    let q = this.db.selectFrom('playbook_promotions').selectAll();
    if (playbook !== undefined) q = q.where('playbook', '=', playbook);
    return (await q.orderBy('requested_at', 'desc').orderBy('id', 'desc').execute()).map(fromPromotion);
  }

  async decidePromotion(
    id: string,
    d: { state: 'approved' | 'rejected'; decidedBy: string; decidedAt: string; newVersion: number | null },
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('playbook_promotions')
      .set({ state: d.state, decided_by: d.decidedBy, decided_at: d.decidedAt, new_version: d.newVersion })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

const json = (v: unknown): string => JSON.stringify(v ?? null);
const unjson = (s: string | null): unknown => (s === null ? null : JSON.parse(s));

function fromPlaybook(r: Database['playbooks']): PlaybookRecord {
  return {
    name: r.name,
    version: Number(r.version),
    title: r.title,
    file: r.file,
    fileSha256: r.file_sha256,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    appliedBy: r.applied_by,
    appliedById: r.applied_by_id ?? null,
  };
}

function fromVersion(r: Database['playbook_versions']): PlaybookVersionRecord {
  return {
    name: r.name,
    version: Number(r.version),
    file: r.file,
    fileSha256: r.file_sha256,
    appliedAt: r.applied_at,
    appliedBy: r.applied_by,
    appliedById: r.applied_by_id ?? null,
  };
}

function toRunRow(r: PlaybookRunRecord): RunRow {
  return {
    id: r.id,
    playbook: r.playbook,
    version: r.version,
    state: r.state,
    inputs: json(r.inputs),
    trigger: r.trigger === null || r.trigger === undefined ? null : json(r.trigger),
    trigger_key: r.triggerKey,
    cursor: r.cursor,
    wake_at: r.wakeAt,
    lease_owner: r.leaseOwner,
    lease_until: r.leaseUntil,
    started_by: r.startedBy,
    started_by_id: r.startedById,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    finished_at: r.finishedAt,
    reason: r.reason,
  };
}

function fromRun(r: RunRow): PlaybookRunRecord {
  return {
    id: r.id,
    playbook: r.playbook,
    version: Number(r.version),
    state: r.state as RunState,
    inputs: unjson(r.inputs) as Record<string, unknown>,
    trigger: unjson(r.trigger),
    triggerKey: r.trigger_key,
    cursor: Number(r.cursor),
    wakeAt: r.wake_at,
    leaseOwner: r.lease_owner,
    leaseUntil: r.lease_until,
    startedBy: r.started_by,
    startedById: r.started_by_id ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    reason: r.reason,
  };
}

function toStepRow(s: StepExecutionRecord): StepRow {
  return {
    run_id: s.runId,
    idx: s.idx,
    step_id: s.stepId,
    kind: s.kind,
    mode: s.mode,
    state: s.state,
    attempts: s.attempts,
    outputs: s.outputs === undefined || s.outputs === null ? null : json(s.outputs),
    error: s.error,
    idempotency_key: s.idempotencyKey,
    assignee: s.assignee,
    started_at: s.startedAt,
    finished_at: s.finishedAt,
    notes: s.notes,
    time_spent_ms: s.timeSpentMs,
    done_by: s.doneBy,
    done_by_id: s.doneById,
    updated_at: s.updatedAt,
  };
}

function fromStep(r: StepRow): StepExecutionRecord {
  return {
    runId: r.run_id,
    idx: Number(r.idx),
    stepId: r.step_id,
    kind: r.kind,
    mode: r.mode as StepExecutionRecord['mode'],
    state: r.state as StepState,
    attempts: Number(r.attempts),
    outputs: unjson(r.outputs),
    error: r.error,
    idempotencyKey: r.idempotency_key,
    assignee: r.assignee,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    notes: r.notes,
    timeSpentMs: r.time_spent_ms === null ? null : Number(r.time_spent_ms),
    doneBy: r.done_by,
    doneById: r.done_by_id,
    updatedAt: r.updated_at,
  };
}

function fromPromotion(r: Database['playbook_promotions']): PromotionRecord {
  return {
    id: r.id,
    playbook: r.playbook,
    stepId: r.step_id,
    fromVersion: Number(r.from_version),
    fromMode: r.from_mode as PromotionRecord['fromMode'],
    state: r.state as PromotionRecord['state'],
    requestedBy: r.requested_by,
    requestedById: r.requested_by_id,
    requestedAt: r.requested_at,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    newVersion: r.new_version === null ? null : Number(r.new_version),
  };
}
