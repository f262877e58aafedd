/**
 * Migration 0007 adds the per-target slots to a database that has runs: a run stored before it
 * takes slots like any other, and its lease decides whether they count. On SQLite and a real
 * PostgreSQL.
 */
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Store } from '../store.ts';
import { openPostgresStore } from '../postgres/open-postgres.ts';
import { openSqliteStore } from '../sqlite/open-sqlite.ts';
import { migrate } from './index.ts';
import { createTestDatabase, pgAvailable, skipReasonPg } from '../../../test/support/postgres.ts';
import { tmpDir } from '../../../test/support/tmp.ts';

const OLD = '0006_experiment_tombstones';

/** A run the way the store wrote it before 0007: running, its lease until 12:00:30. */
async function writeOldRows(db: Kysely<any>): Promise<void> {
  await db
    .insertInto('experiment_runs')
    .values({
      id: 'oldrun0000000001',
      experiment: 'written before 0007',
      state: 'running',
      outcome: null,
      reason: null,
      started_at: '2026-05-01T12:00:00.000Z',
      ended_at: null,
      lease_owner: 'host:1:old',
      lease_until: '2026-05-01T12:00:30.000Z',
      rollbacks: '[]',
      journal: '{}',
      ttd_ms: null,
      dry_run: 0,
    })
    .execute();
}

async function expectSlots(store: Store): Promise<void> {
  const one = [{ key: 'host:shop', limit: 1 }];
  expect(await store.slots.take('oldrun0000000001', one, '2026-05-01T12:00:01.000Z', '2026-05-01T12:00:11.000Z')).toBe(true);
  expect(await store.slots.take('newrun0000000001', one, '2026-05-01T12:00:02.000Z', '2026-05-01T12:00:12.000Z')).toBe(false);
  // The old run's lease ran out: its slot no longer counts.
  expect(await store.slots.take('newrun0000000001', one, '2026-05-01T12:00:31.000Z', '2026-05-01T12:00:41.000Z')).toBe(true);
  // Slots are not part of a backup.
  const tables = new Set<string>();
  await store.dump(({ table }) => {
    tables.add(table);
  });
  expect(tables.has('experiment_runs')).toBe(true);
  expect(tables.has('target_slots')).toBe(false);
}

describe('migration 0007 adds per-target slots next to existing runs', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('on SQLite', async () => {
    const dir = await tmpDir('bulwark-0007-');
    cleanups.push(() => dir.cleanup());
    const file = `${dir.path}/old.db`;
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    await migrate(db, 'sqlite', OLD);
    await writeOldRows(db);
    await db.destroy();
    const store = await openSqliteStore(file);
    cleanups.push(() => store.close());
    await expectSlots(store);
  });

  it.skipIf(!pgAvailable())(`on PostgreSQL (${pgAvailable() ? 'real server' : skipReasonPg})`, async () => {
    const d = await createTestDatabase();
    cleanups.push(() => d.drop());
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: d.url, max: 1 }) }) });
    await migrate(db, 'postgres', OLD);
    await writeOldRows(db);
    await db.destroy();
    const store = await openPostgresStore(d.url);
    cleanups.push(() => store.close());
    await expectSlots(store);
  });
});
