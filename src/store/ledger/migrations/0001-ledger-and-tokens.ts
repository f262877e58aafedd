/**
 * The ledger (entries, Merkle nodes, head, checkpoints, keys) and settings (bulwark_meta). It
 * also creates access's tokens table: the first schema had both, and a shipped migration is
 * never split (access has no migration of its own).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { EMPTY_ROOT } from '../../../core/ledger/merkle.ts';
import { columnTypes, type Dialect } from '../../migrations/column-types.ts';

export function ledgerAndTokens(dialect: Dialect): Migration {
  const { blob, bigint } = columnTypes(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('bulwark_meta')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('ledger_entries')
        .addColumn('seq', bigint, (c) => c.primaryKey().check(sql`seq >= 0`))
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ledger_entries_kind').on('ledger_entries').columns(['kind', 'seq']).execute();
      await db.schema
        .createTable('ledger_nodes')
        .addColumn('pos', bigint, (c) => c.primaryKey())
        .addColumn('hash', sql.raw(blob), (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('ledger_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('size', bigint, (c) => c.notNull())
        .addColumn('root', sql.raw(blob), (c) => c.notNull())
        .execute();
      await db.insertInto('ledger_head').values({ id: 1, size: 0, root: EMPTY_ROOT }).execute();
      await db.schema
        .createTable('ledger_keys')
        .addColumn('key_id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('retired_at', 'text')
        .execute();
      await db.schema
        .createTable('ledger_checkpoints')
        .addColumn('size', bigint, (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('root', sql.raw(blob), (c) => c.notNull())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('note', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('ledger_checkpoints_pk', ['size', 'key_id'])
        .execute();
      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hash', sql.raw(blob), (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('principal_kind', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
    },
  };
}
