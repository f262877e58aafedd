/**
 * Sealed secrets: one row per name with its version, the id of the key it is sealed under and
 * the sealed value (AES-256-GCM, core/access/sealed.ts); the key itself is never in the database.
 * TOTP secrets keep their column: sealed values are written there in the same text form, and
 * the rows written before are sealed when a server with the keys starts (app/access/secrets.ts).
 */
import type { Kysely, Migration } from 'kysely';

export function secrets(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('secrets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
