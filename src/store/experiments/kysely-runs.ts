/** Experiment runs: state, heartbeat lease, stored rollbacks and journal. */
import type { Json } from '../../core/ledger/entry.ts';
import type { Database } from '../schema.ts';
import type { RunCursor, RunPatch, RunQuery, RunRecord, RunRepo, RunState } from './port.ts';
import type { Db } from '../kysely/util.ts';

export class KyselyRuns implements RunRepo {
  constructor(private readonly db: Db) {}

  async insert(run: RunRecord): Promise<void> {
    await this.db.insertInto('experiment_runs').values(toRow(run)).execute();
  }

  async get(id: string): Promise<RunRecord | undefined> {
    const r = await this.db.selectFrom('experiment_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? fromRow(r) : undefined;
  }

  async list(q: RunQuery): Promise<{ runs: RunRecord[]; next?: RunCursor }> {
    let query = this.db.selectFrom('experiment_runs').selectAll();
    if (q.experiment !== undefined) query = query.where('experiment', '=', q.experiment);
    if (q.state !== undefined) query = query.where('state', '=', q.state);
    const c = q.cursor;
    if (c !== undefined) {
      query = query.where((eb) =>
        eb.or([eb('started_at', '<', c.startedAt), eb.and([eb('started_at', '=', c.startedAt), eb('id', '<', c.id)])]),
      );
    }
    const rows = await query
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(q.limit + 1)
      .execute();
    const runs = rows.slice(0, q.limit).map(fromRow);
    const last = runs.at(-1);
    return rows.length > q.limit && last ? { runs, next: { startedAt: last.startedAt, id: last.id } } : { runs };
  }

  async unfinished(): Promise<RunRecord[]> {
    const rows = await this.db
      .selectFrom('experiment_runs')
      .selectAll()
      .where('state', '<>', 'done')
      .orderBy('started_at', 'asc')
      .orderBy('id', 'asc')
      .execute();
    return rows.map(fromRow);
  }

  async update(id: string, owner: string, patch: RunPatch): Promise<boolean> {
    const set = patchRow(patch);
    if (Object.keys(set).length === 0) return (await this.get(id))?.leaseOwner === owner;
    const r = await this.db
      .updateTable('experiment_runs')
      .set(set)
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async renewLease(id: string, owner: string, until: string): Promise<boolean> {
    const r = await this.db
      .updateTable('experiment_runs')
      .set({ lease_until: until })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('state', '<>', 'done')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async claimAbandoned(owner: string, now: string, until: string, only?: readonly string[]): Promise<RunRecord[]> {
    if (only && only.length === 0) return [];
    // One statement: on PostgreSQL a concurrent claimer blocks on the row lock and then re-checks
    // the WHERE clause against the new lease (READ COMMITTED), so it skips what was just taken;
    // on SQLite writers are serialized. RETURNING works on both (SQLite ≥ 3.35).
    let q = this.db
      .updateTable('experiment_runs')
      .set({ lease_owner: owner, lease_until: until, state: 'rolling-back' })
      .where('state', '<>', 'done')
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]));
    if (only) q = q.where('id', 'in', [...only]);
    const rows = await q.returningAll().execute();
    return rows.map(fromRow).sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : a.id < b.id ? -1 : 1));
  }

  async claimFrom(id: string, from: string, owner: string, until: string): Promise<RunRecord | undefined> {
    const row = await this.db
      .updateTable('experiment_runs')
      .set({ lease_owner: owner, lease_until: until, state: 'rolling-back' })
      .where('id', '=', id)
      .where('lease_owner', '=', from)
      .where('state', '<>', 'done')
      .returningAll()
      .executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }
}

function toRow(r: RunRecord): Database['experiment_runs'] {
  return {
    id: r.id,
    experiment: r.experiment,
    state: r.state,
    outcome: r.outcome,
    reason: r.reason,
    started_at: r.startedAt,
    ended_at: r.endedAt,
    lease_owner: r.leaseOwner,
    lease_until: r.leaseUntil,
    rollbacks: JSON.stringify(r.rollbacks),
    journal: JSON.stringify(r.journal),
    ttd_ms: r.ttdMs,
    dry_run: r.dryRun ? 1 : 0,
  };
}

function patchRow(p: RunPatch): Partial<Database['experiment_runs']> {
  const out: Partial<Database['experiment_runs']> = {};
  if (p.state !== undefined) out.state = p.state;
  if (p.outcome !== undefined) out.outcome = p.outcome;
  if (p.reason !== undefined) out.reason = p.reason;
  if (p.endedAt !== undefined) out.ended_at = p.endedAt;
  if (p.leaseOwner !== undefined) out.lease_owner = p.leaseOwner;
  if (p.leaseUntil !== undefined) out.lease_until = p.leaseUntil;
  if (p.journal !== undefined) out.journal = JSON.stringify(p.journal);
  if (p.ttdMs !== undefined) out.ttd_ms = p.ttdMs;
  return out;
}

function fromRow(r: Database['experiment_runs']): RunRecord {
  return {
    id: r.id,
    experiment: r.experiment,
    state: r.state as RunState,
    outcome: r.outcome,
    reason: r.reason,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    leaseOwner: r.lease_owner,
    leaseUntil: r.lease_until,
    rollbacks: JSON.parse(r.rollbacks) as Json,
    journal: JSON.parse(r.journal) as Json,
    ttdMs: r.ttd_ms === null ? null : Number(r.ttd_ms),
    dryRun: Number(r.dry_run) === 1,
  };
}
