/**
 * Count the SQL statements the store sends, without changing the store: kysely's SQLite driver
 * calls better-sqlite3's `prepare` once per query, and its PostgreSQL driver calls `query` on a
 * pooled pg.Client once per query. Wrapping those prototypes counts every statement, whatever
 * connection or transaction it runs on.
 */
import Database from 'better-sqlite3';
import pg from 'pg';

export interface QueryCounter {
  readonly count: number;
  readonly last: string[];
  reset(): void;
  restore(): void;
}

function counter(proto: Record<string, unknown>, method: string, sqlOf: (args: unknown[]) => string): QueryCounter {
  const original = proto[method] as (...args: unknown[]) => unknown;
  const state = { count: 0, last: [] as string[] };
  proto[method] = function (this: unknown, ...args: unknown[]) {
    state.count += 1;
    if (state.last.length < 8) state.last.push(sqlOf(args).slice(0, 120));
    return original.apply(this, args);
  };
  return {
    get count() {
      return state.count;
    },
    get last() {
      return state.last;
    },
    reset() {
      state.count = 0;
      state.last = [];
    },
    restore() {
      proto[method] = original;
    },
  };
}

export function countSqliteStatements(): QueryCounter {
  return counter(Database.prototype as unknown as Record<string, unknown>, 'prepare', (a) => String(a[0]));
}

export function countPgQueries(): QueryCounter {
  return counter(pg.Client.prototype as unknown as Record<string, unknown>, 'query', (a) => {
    const q = a[0] as string | { text?: string };
    return typeof q === 'string' ? q : (q?.text ?? '(query object)');
  });
}
