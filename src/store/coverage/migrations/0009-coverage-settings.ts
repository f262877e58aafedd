/** Coverage's settings: one row holding the document (scope, profiles, ages), versioned. */
import type { Kysely, Migration } from 'kysely';

export function coverageSettings(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('coverage_settings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
