/**
 * Experiment runs: their state machine (pending → running → rolling-back → done), the heartbeat
 * lease that tells a live run from an abandoned one, the rollbacks to run after a crash, and the
 * journal.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes, type Dialect } from '../../migrations/column-types.ts';

export function experimentRuns(dialect: Dialect): Migration {
  const { bigint } = columnTypes(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('experiment_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('experiment', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'running', 'rolling-back', 'done')`))
        .addColumn('outcome', 'text')
        .addColumn('reason', 'text')
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('rollbacks', 'text', (c) => c.notNull())
        .addColumn('journal', 'text', (c) => c.notNull())
        .addColumn('ttd_ms', bigint)
        .addColumn('dry_run', 'integer', (c) => c.notNull())
        .execute();
      // History of one experiment, newest first (the dashboard, the regression check).
      await db.schema.createIndex('experiment_runs_experiment').on('experiment_runs').columns(['experiment', 'started_at', 'id']).execute();
      await db.schema.createIndex('experiment_runs_started').on('experiment_runs').columns(['started_at', 'id']).execute();
      // Recovery looks for unfinished runs whose lease expired.
      await db.schema.createIndex('experiment_runs_lease').on('experiment_runs').columns(['state', 'lease_until']).execute();
    },
  };
}
