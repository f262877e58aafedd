/**
 * Applied SLOs: the file as applied, its digest and version, and the budget policy state last
 * recorded. A deleted SLO stays as a tombstone row, so a re-apply continues its versions.
 */
import type { Kysely, Migration } from 'kysely';

export function slos(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('slos')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('file_sha256', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('applied_by', 'text', (c) => c.notNull())
        .addColumn('policy_state', 'text')
        .addColumn('deleted_at', 'text')
        .addColumn('deleted_by', 'text')
        .execute();
    },
  };
}
