import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export const skipReasonPg = 'PostgreSQL not found: apt-get install postgresql, or set DATABASE_URL';

function adminUrl(): string | null {
  return inject('pgAdminUrl') ?? null;
}

/**
 * For `describe.skipIf(!pgAvailable())`. Under CI a missing server must fail the run, not
 * quietly skip the tests that guard the PostgreSQL store, so this throws there.
 */
export function pgAvailable(): boolean {
  const url = adminUrl();
  if (url === null && process.env.CI === 'true') {
    throw new Error(`${skipReasonPg} (CI=true: PostgreSQL tests may not be skipped)`);
  }
  return url !== null;
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A database of its own, so test files can run in parallel without sharing state: empty, or with
 * `migrated`, a copy of the run's template (test/global-setup.ts) already at the latest schema,
 * which is what opening a store on an empty one would make, only faster.
 */
export async function createTestDatabase(opts: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const admin = adminUrl();
  if (admin === null) throw new Error(skipReasonPg);
  const name = `bulwark_test_${randomBytes(6).toString('hex')}`;
  const template = opts.migrated ? inject('pgTemplate') : null;
  await withAdmin(admin, (c) => c.query(template ? `CREATE DATABASE "${name}" TEMPLATE "${template}"` : `CREATE DATABASE "${name}"`));

  const url = new URL(admin);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      // FORCE: a pool the test forgot to end must not keep the database alive.
      await withAdmin(admin, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
