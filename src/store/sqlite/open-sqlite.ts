/**
 * SQLite connection: one better-sqlite3 handle, WAL with synchronous=FULL (a commit is on disk
 * before it returns), and transactions that start with BEGIN IMMEDIATE so that a second process
 * writing the same file waits for the lock (busy_timeout) instead of failing on upgrade.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { invalid } from '../../core/errors.ts';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type SqliteDatabase,
  type SqliteDialectConfig,
} from 'kysely';
import { KyselyStore } from '../kysely/kysely-store.ts';
import { migrateToLatest } from '../migrations/index.ts';
import type { Database as Schema } from '../schema.ts';

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/**
 * SQLite runs DDL inside transactions, though kysely's adapter says otherwise. Saying so makes
 * the migrator run each migration in a BEGIN IMMEDIATE transaction, which is the lock that keeps
 * two processes opening a new file at once from migrating it twice.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly cfg: SqliteDialectConfig) {
    super(cfg);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.cfg);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * kysely prepares every statement anew; preparing costs as much as running a small insert. A
 * bounded cache of prepared statements per handle (safe: kysely runs one query at a time on it).
 */
function withStatementCache(handle: Database.Database, max = 256): SqliteDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => handle.close(),
    prepare: (sqlText: string) => {
      let stmt = cache.get(sqlText);
      if (stmt) {
        cache.delete(sqlText);
      } else {
        stmt = handle.prepare(sqlText);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
      }
      cache.set(sqlText, stmt);
      return stmt;
    },
  };
}

export async function openSqliteStore(file: string, opts: { mustExist?: boolean } = {}): Promise<KyselyStore> {
  if (opts.mustExist && file !== ':memory:' && !existsSync(file)) throw invalid(`no database at ${file}; check the --db path`);
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const handle = new Database(file);
  // The timeout first: switching to WAL needs a lock another process may hold.
  handle.pragma('busy_timeout = 10000');
  handle.pragma('journal_mode = WAL');
  handle.pragma('synchronous = FULL');
  handle.pragma('foreign_keys = ON');
  const db = new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(handle) }) });
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
