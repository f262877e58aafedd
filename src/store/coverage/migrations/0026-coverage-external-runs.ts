/** Runs executed by other tools and imported (ATTiRe logs): one row per procedure, with the outcome matching gave it. */
import type { Kysely, Migration } from 'kysely';

export function coverageExternalRuns(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('coverage_external_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('execution_id', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('procedure', 'text', (c) => c.notNull())
        .addColumn('procedure_id', 'text')
        .addColumn('technique', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('ttd_ms', 'integer')
        .addColumn('signal_id', 'text')
        .addColumn('imported_at', 'text', (c) => c.notNull())
        .addColumn('imported_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('coverage_external_runs_started').on('coverage_external_runs').columns(['started_at', 'id']).execute();
    },
  };
}
