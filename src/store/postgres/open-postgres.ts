/**
 * PostgreSQL connection pool. bigint columns come back as numbers (every value Bulwark stores
 * fits in 2^53), and every session runs with synchronous_commit=on whatever the server default.
 */
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { KyselyStore } from '../kysely/kysely-store.ts';
import { migrateToLatest } from '../migrations/index.ts';
import { preparingPool } from './prepared-pool.ts';
import type { Database as Schema } from '../schema.ts';

const INT8_OID = 20;

export async function openPostgresStore(url: string, opts: { poolSize?: number } = {}): Promise<KyselyStore> {
  const types = {
    getTypeParser: (oid: number, format?: string) =>
      oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
  };
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    options: '-c synchronous_commit=on',
    types: types,
  });
  // A pool error on an idle client (server restart) must not crash the process.
  pool.on('error', () => {});
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) });
  await migrateToLatest(db, 'postgres');
  return new KyselyStore({
    db,
    dialect: 'postgres',
    durability: async () => {
      const sc = await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(db);
      const fs = await sql<{ fsync: string }>`show fsync`.execute(db);
      return { synchronous_commit: sc.rows[0]!.synchronous_commit, fsync: fs.rows[0]!.fsync };
    },
    close: () => db.destroy(),
  });
}
