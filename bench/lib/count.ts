/**
 * Count the SQL statements the store sends, without changing the store: on SQLite every query
 * ends in one `run`, `all`, `get` or `iterate` of a better-sqlite3 Statement (the store caches
 * prepared statements, so `prepare` is not counted), and kysely's PostgreSQL driver calls `query`
 * on a pooled pg.Client once per query. Wrapping those prototypes counts every statement,
 * whatever connection or transaction it runs on.
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
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('select 1')) as Record<string, unknown>;
  probe.close();
  const state = { count: 0, last: [] as string[] };
  const originals = new Map<string, (...args: unknown[]) => unknown>();
  for (const m of ['run', 'all', 'get', 'iterate']) {
    const original = proto[m] as (...args: unknown[]) => unknown;
    originals.set(m, original);
    proto[m] = function (this: { source?: string }, ...args: unknown[]) {
      state.count += 1;
      if (state.last.length < 8) state.last.push(String(this.source ?? '').slice(0, 120));
      return original.apply(this, args);
    };
  }
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
      for (const [m, f] of originals) proto[m] = f;
    },
  };
}

export function countPgQueries(): QueryCounter {
  return counter(pg.Client.prototype as unknown as Record<string, unknown>, 'query', (a) => {
    const q = a[0] as string | { text?: string };
    return typeof q === 'string' ? q : (q?.text ?? '(query object)');
  });
}
