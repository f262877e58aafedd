import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { createTestDatabase, pgAvailable } from './postgres.ts';

describe.skipIf(!pgAvailable())('test PostgreSQL', () => {
  it('creates an isolated, durable database and drops it', async () => {
    const db = await createTestDatabase();
    const name = new URL(db.url).pathname.slice(1);
    expect(name).toMatch(/^bulwark_test_[0-9a-f]+$/);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const sync = await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      expect(sync.rows[0]?.synchronous_commit).toBe('on');
      const fsync = await client.query<{ fsync: string }>('SHOW fsync');
      expect(fsync.rows[0]?.fsync).toBe('on');
      const one = await client.query<{ one: number }>('SELECT 1 AS one');
      expect(one.rows[0]?.one).toBe(1);
      const current = await client.query<{ db: string }>('SELECT current_database() AS db');
      expect(current.rows[0]?.db).toBe(name);
    } finally {
      await client.end();
    }

    await db.drop();
    await db.drop(); // idempotent, so it is safe in both a test body and an afterAll

    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') ?? undefined });
    await admin.connect();
    try {
      const left = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      expect(left.rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it('drops a database that still has open connections', async () => {
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {}); // the forced drop terminates this session
    await client.connect();
    await db.drop();
    await expect(client.query('SELECT 1')).rejects.toThrow();
    await client.end().catch(() => {});
  });
});
