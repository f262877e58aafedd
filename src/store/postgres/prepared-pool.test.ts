import { afterAll, describe, expect, it } from 'vitest';
import { Kysely, PostgresDialect, sql, CompiledQuery } from 'kysely';
import pg from 'pg';
import { createTestDatabase, pgAvailable, skipReasonPg } from '../../../test/support/postgres.ts';
import { preparedName, preparedSql, preparingPool } from './prepared-pool.ts';

describe('the prepared-statement mark', () => {
  it('names the statement a marked text asks for, and nothing for any other text', () => {
    expect(preparedName(preparedSql('ledger-append', 'select 1'))).toBe('ledger-append');
    expect(preparedName('select 1')).toBeUndefined();
    expect(preparedName('/* prepared:x */select 1')).toBeUndefined();
    expect(preparedName(' /* prepared:x */ select 1')).toBeUndefined();
  });
  it('refuses a name PostgreSQL would not keep as written', () => {
    expect(() => preparedSql('Ledger Append', 'select 1')).toThrow(/lowercase letters, digits and hyphens/);
    expect(() => preparedSql('', 'select 1')).toThrow();
  });
});

describe.skipIf(!pgAvailable())(`a preparing pool on PostgreSQL (${pgAvailable() ? 'real server' : skipReasonPg})`, () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('runs a marked query as a named statement of its connection, and other queries as before', async () => {
    const d = await createTestDatabase();
    cleanups.push(() => d.drop());
    const pool = new pg.Pool({ connectionString: d.url, max: 1 });
    const db = new Kysely<object>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) });
    cleanups.push(() => db.destroy());
    const marked = preparedSql('add-one', 'select $1::int + 1 as n');
    for (const x of [1, 2, 3]) {
      const r = await db.executeQuery<{ n: number }>(CompiledQuery.raw(marked, [x]));
      expect(r.rows).toEqual([{ n: x + 1 }]);
    }
    await db.executeQuery(CompiledQuery.raw('select $1::int as unmarked', [5]));
    const prepared = await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(db);
    // One connection (max 1): the marked text is prepared once under its name; the other is not kept.
    expect(prepared.rows.map((r) => r.name)).toEqual(['add-one']);
  });
});
