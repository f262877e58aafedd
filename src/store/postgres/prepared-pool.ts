/**
 * Named (server-side prepared) statements for a few hot queries. node-postgres sends a query with
 * parameters as an unnamed statement, which PostgreSQL parses and plans at every execution; a
 * named one is parsed once per connection and, after a few executions, run on a cached plan. For
 * the ledger's one-statement append that planning is about as long as the work itself.
 *
 * A query opts in by starting its text with `preparedSql(name, …)`'s comment. Only a fixed set of
 * statements does (each name is one text), so what each connection keeps prepared is bounded;
 * every other query is passed through unchanged.
 */
import type pg from 'pg';
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

const MARK = /^\/\* prepared:([a-z][a-z0-9-]{0,62}) \*\/ /;

/** The SQL text of a statement to run as the named statement `name` (one text per name). */
export function preparedSql(name: string, sql: string): string {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(name)) throw new Error(`prepared statement name ${name} is not lowercase letters, digits and hyphens`);
  return `/* prepared:${name} */ ${sql}`;
}

/** The name a query's text asks to be prepared under, if any. */
export function preparedName(sql: string): string | undefined {
  return MARK.exec(sql)?.[1];
}

/** A pool for kysely's PostgresDialect whose clients run marked queries as named statements. */
export function preparingPool(pool: pg.Pool): PostgresPool {
  // kysely keys its connection objects by client, so a client keeps one wrapper.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let w = wrappers.get(client);
    if (w) return w;
    function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
    function query<R>(q: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): unknown {
      if (typeof q !== 'string') return client.query(q as unknown as pg.Submittable);
      const name = preparedName(q);
      const values = parameters as unknown[] | undefined;
      return name === undefined ? client.query(q, values) : client.query({ name, text: q, values });
    }
    w = { query, release: () => client.release() };
    wrappers.set(client, w);
    return w;
  };
  return {
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
  };
}
