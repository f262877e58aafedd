/**
 * Applied experiments and the scheduler's claimed slots. A deleted experiment stays as a
 * tombstone row (`deleted_at` set, the file emptied): every read leaves it out, and a re-apply of
 * its name revives the row as the next version.
 */
import { sql } from 'kysely';
import type { Database } from '../schema.ts';
import type { DeletedExperimentRecord, ExperimentInput, ExperimentRecord, ExperimentRepo } from './port.ts';
import type { Db } from '../kysely/util.ts';

export class KyselyExperiments implements ExperimentRepo {
  constructor(private readonly db: Db) {}

  async put(e: ExperimentInput, now: string): Promise<ExperimentRecord> {
    const row = toRow(e, now);
    // One statement on both databases (SQLite ≥ 3.35 for RETURNING): a concurrent apply of the
    // same name waits on the row and then bumps the version it finds.
    const stored = await this.db
      .insertInto('experiments')
      .values(row)
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({
          title: (eb) => eb.ref('excluded.title'),
          description: (eb) => eb.ref('excluded.description'),
          techniques: (eb) => eb.ref('excluded.techniques'),
          file: (eb) => eb.ref('excluded.file'),
          file_sha256: (eb) => eb.ref('excluded.file_sha256'),
          schedule_cron: (eb) => eb.ref('excluded.schedule_cron'),
          schedule_jitter_ms: (eb) => eb.ref('excluded.schedule_jitter_ms'),
          privileged: (eb) => eb.ref('excluded.privileged'),
          updated_at: (eb) => eb.ref('excluded.updated_at'),
          applied_by: (eb) => eb.ref('excluded.applied_by'),
          version: sql<number>`experiments.version + 1`,
          // A deleted name comes back as a new experiment that continues the old one's versions.
          created_at: sql<string>`case when experiments.deleted_at is null then experiments.created_at else excluded.created_at end`,
          deleted_at: null,
          deleted_by: null,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return fromRow(stored);
  }

  async get(name: string): Promise<ExperimentRecord | undefined> {
    const r = await this.db
      .selectFrom('experiments')
      .selectAll()
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return r ? fromRow(r) : undefined;
  }

  async list(): Promise<ExperimentRecord[]> {
    const rows = await this.db.selectFrom('experiments').selectAll().where('deleted_at', 'is', null).orderBy('name', 'asc').execute();
    return rows.map(fromRow);
  }

  async scheduled(): Promise<ExperimentRecord[]> {
    const rows = await this.db
      .selectFrom('experiments')
      .selectAll()
      .where('schedule_cron', 'is not', null)
      .where('deleted_at', 'is', null)
      .orderBy('name', 'asc')
      .execute();
    return rows.map(fromRow);
  }

  async delete(name: string, by: string, now: string): Promise<DeletedExperimentRecord | undefined> {
    // One statement: of two concurrent deletes (or a delete and an apply) of one name, the row
    // lock orders them, and only the first delete finds the row still live.
    const r = await this.db
      .updateTable('experiments')
      .set({ deleted_at: now, deleted_by: by, file: '' })
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    return r ? { ...withoutFile(r), deletedAt: now, deletedBy: by } : undefined;
  }

  async claimOccurrence(experiment: string, scheduledAt: string, claimedBy: string, now: string): Promise<boolean> {
    const r = await this.db
      .insertInto('experiment_schedule_claims')
      .values({ experiment, scheduled_at: scheduledAt, claimed_by: claimedBy, claimed_at: now })
      .onConflict((oc) => oc.columns(['experiment', 'scheduled_at']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}

function toRow(e: ExperimentInput, now: string): Database['experiments'] {
  return {
    name: e.name,
    title: e.title,
    description: e.description,
    techniques: JSON.stringify(e.techniques),
    file: e.file,
    file_sha256: e.fileSha256,
    version: 1,
    schedule_cron: e.schedule?.cron ?? null,
    schedule_jitter_ms: e.schedule?.jitterMs ?? null,
    privileged: e.privileged ? 1 : 0,
    created_at: now,
    updated_at: now,
    applied_by: e.appliedBy,
    deleted_at: null,
    deleted_by: null,
  };
}

function fromRow(r: Database['experiments']): ExperimentRecord {
  return { ...withoutFile(r), file: r.file };
}

function withoutFile(r: Database['experiments']): Omit<ExperimentRecord, 'file'> {
  return {
    name: r.name,
    title: r.title,
    description: r.description,
    techniques: JSON.parse(r.techniques) as string[],
    fileSha256: r.file_sha256,
    version: Number(r.version),
    schedule: r.schedule_cron === null ? null : { cron: r.schedule_cron, jitterMs: Number(r.schedule_jitter_ms ?? 0) },
    privileged: Number(r.privileged) === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    appliedBy: r.applied_by,
  };
}
