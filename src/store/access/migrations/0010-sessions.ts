/**
 * Dashboard sessions (core/access/session-format.ts): the hash of the cookie's value, never the
 * value; the token that opened it (revoking the token ends the session); when it was last used
 * and when it ends at the latest; when it was signed out.
 */
import type { Kysely, Migration } from 'kysely';
import { columnTypes, type Dialect } from '../../migrations/column-types.ts';

export function sessions(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('hash', t.blob, (c) => c.notNull())
        .addColumn('token_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('sessions_token').on('sessions').columns(['token_id']).execute();
    },
  };
}
