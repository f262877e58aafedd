/**
 * Applied experiments (the file as applied, its digest and version, the schedule read from it)
 * and the slots the scheduler claimed: one row per (experiment, minute), inserted before a run
 * starts, so that of several replicas on one database only one runs a scheduled slot.
 */
import type { Kysely, Migration } from 'kysely';
import { columnTypes, type Dialect } from '../../migrations/column-types.ts';

export function experiments(dialect: Dialect): Migration {
  const { bigint } = columnTypes(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('experiments')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('techniques', 'text', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('file_sha256', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('schedule_cron', 'text')
        .addColumn('schedule_jitter_ms', bigint)
        .addColumn('privileged', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('applied_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('experiment_schedule_claims')
        .addColumn('experiment', 'text', (c) => c.notNull())
        .addColumn('scheduled_at', 'text', (c) => c.notNull())
        .addColumn('claimed_by', 'text', (c) => c.notNull())
        .addColumn('claimed_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('experiment_schedule_claims_pk', ['experiment', 'scheduled_at'])
        .execute();
    },
  };
}
