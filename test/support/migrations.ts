/**
 * The test of one migration, on SQLite and a real PostgreSQL: migrate an empty database up to
 * the migration before it, write rows the way the store did then (through Kysely, in the old
 * layout), open the store as it is now (which runs the migrations after `before`), and check it.
 *
 *   describeMigration('migration 0007 adds …', {
 *     before: '0006_experiment_tombstones',
 *     writeOld: (db) => db.insertInto('experiment_runs').values({ … }).execute(),
 *     check: async (store) => { … },
 *   });
 */
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';
import { migrate } from '../../src/store/migrations/index.ts';
import { openPostgresStore } from '../../src/store/postgres/open-postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite.ts';
import type { Store } from '../../src/store/store.ts';
import { createTestDatabase, pgAvailable, skipReasonPg } from './postgres.ts';
import { tmpDir } from './tmp.ts';

export interface MigrationCase {
  /** The name of the last migration the old rows were written under, e.g. '0006_experiment_tombstones'. */
  before: string;
  /** Write the old rows into a database migrated up to `before`. */
  writeOld(db: Kysely<any>): Promise<unknown>;
  /** Check the store opened on that database (all migrations applied). */
  check(store: Store): Promise<void>;
}

/** A describe block `title` with one test on SQLite and one on PostgreSQL (skipped without it). */
export function describeMigration(title: string, c: MigrationCase): void {
  describe(title, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('on SQLite', async () => {
      const dir = await tmpDir('bulwark-migration-');
      cleanups.push(() => dir.cleanup());
      const file = `${dir.path}/old.db`;
      const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(file) }) });
      await migrate(db, 'sqlite', c.before);
      await c.writeOld(db);
      await db.destroy();
      const store = await openSqliteStore(file);
      cleanups.push(() => store.close());
      await c.check(store);
    });

    it.skipIf(!pgAvailable())(`on PostgreSQL (${pgAvailable() ? 'real server' : skipReasonPg})`, async () => {
      const d = await createTestDatabase();
      cleanups.push(() => d.drop());
      const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: d.url, max: 1 }) }) });
      await migrate(db, 'postgres', c.before);
      await c.writeOld(db);
      await db.destroy();
      const store = await openPostgresStore(d.url);
      cleanups.push(() => store.close());
      await c.check(store);
    });
  });
}
