/**
 * Principals: people and service accounts, with their groups (for approval rules) and roles. A
 * token names its principal by id (`tokens.principal_id`); tokens of a principal without a row
 * here (made before principals existed) keep their scopes alone.
 */
import type { Kysely, Migration } from 'kysely';

export function principals(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('principals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('groups', 'text', (c) => c.notNull())
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'text')
        .execute();
      await db.schema.createIndex('tokens_principal').on('tokens').columns(['principal_id']).execute();
    },
  };
}
