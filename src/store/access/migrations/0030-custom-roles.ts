/**
 * Custom roles (core/access/custom-roles.ts): one row per name with its grants (JSON), its CEL
 * condition's source and a version. A delete keeps the row as a tombstone (`deleted_at`), so that
 * a name applied again goes on counting versions and the ledger never names one version twice.
 */
import type { Kysely, Migration } from 'kysely';

export function customRoles(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('custom_roles')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('grants', 'text', (c) => c.notNull())
        .addColumn('condition', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .execute();
    },
  };
}
