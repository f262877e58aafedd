/**
 * Schema migrations, run at every start on both databases. Each migration is forward-only and
 * runs in a transaction: on PostgreSQL kysely's migrator also takes an advisory lock, on SQLite
 * the BEGIN IMMEDIATE of sqlite/open-sqlite.ts serializes concurrent starts.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { EMPTY_ROOT } from '../core/ledger/merkle.ts';
import type { Dialect } from './store.ts';

function migrations(dialect: Dialect): Record<string, Migration> {
  const blob = dialect === 'postgres' ? 'bytea' : 'blob';
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    '0001_ledger_and_tokens': {
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
    },
  };
}

export async function migrateToLatest(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error).message ?? error)}`);
  }
}
