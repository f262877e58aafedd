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

/** How long processes opening one fresh file together may take to agree on WAL. */
const WAL_SWITCH_DEADLINE_MS = 10_000;

/**
 * `journal_mode = WAL` on a file another process is opening at the same moment can answer
 * SQLITE_BUSY at once: SQLite skips the busy handler where waiting could deadlock (a reader
 * asking to upgrade while another holds a pending lock). So retry, with a short backoff, until
 * the file is in WAL or the deadline passes; anything but BUSY/LOCKED is thrown at once.
 */
export async function switchToWal(handle: Pick<Database.Database, 'pragma'>, file: string): Promise<void> {
  const deadline = Date.now() + WAL_SWITCH_DEADLINE_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      const mode = String(handle.pragma('journal_mode = WAL', { simple: true }));
      // An in-memory database answers "memory": WAL does not apply there.
      if (mode === 'wal' || file === ':memory:') return;
      throw invalid(`could not put ${file} in WAL mode (it stays in "${mode}"); check the file system supports shared memory`);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      const busy = code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_BUSY_RECOVERY';
      if (!busy || Date.now() >= deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5 * 2 ** attempt, 100) * (0.5 + Math.random())));
    }
  }
}

export async function openSqliteStore(file: string, opts: { mustExist?: boolean } = {}): Promise<KyselyStore> {
  if (opts.mustExist && file !== ':memory:' && !existsSync(file)) throw invalid(`no database at ${file}; check the --db path`);
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const handle = new Database(file);
  // The timeout first: switching to WAL needs a lock another process may hold.
  handle.pragma('busy_timeout = 10000');
  await switchToWal(handle, file);
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
