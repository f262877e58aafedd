/**
 * SQLite connection: one better-sqlite3 handle, WAL with synchronous=FULL (a commit is on disk
 * before it returns), and transactions that start with BEGIN IMMEDIATE so that a second process
 * writing the same file waits for the lock (busy_timeout) instead of failing on upgrade.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';
import { KyselyStore } from '../kysely-store.ts';
import { migrateToLatest } from '../migrations.ts';
import type { Database as Schema } from '../schema.ts';

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly cfg: SqliteDialectConfig) {
    super(cfg);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.cfg);
  }
}

export async function openSqliteStore(file: string): Promise<KyselyStore> {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const handle = new Database(file);
  handle.pragma('journal_mode = WAL');
  handle.pragma('synchronous = FULL');
  handle.pragma('busy_timeout = 10000');
  handle.pragma('foreign_keys = ON');
  const db = new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database: handle }) });
  await migrateToLatest(db, 'sqlite');
  return new KyselyStore({
    db,
    dialect: 'sqlite',
    durability: async () => ({
      journal_mode: String(handle.pragma('journal_mode', { simple: true })),
      // 2 is FULL; see https://sqlite.org/pragma.html#pragma_synchronous
      synchronous: ['off', 'normal', 'full', 'extra'][Number(handle.pragma('synchronous', { simple: true }))] ?? 'unknown',
    }),
    close: () => db.destroy(),
  });
}
