/** Open a store from a URL: `sqlite:PATH` (or a bare path) or `postgres://…`. */
import { invalid } from '../core/errors.ts';
import type { Store } from './store.ts';
import { openSqliteStore } from './sqlite/open-sqlite.ts';
import { openPostgresStore } from './postgres/open-postgres.ts';

export function describeDb(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** `mustExist`: refuse to create a new SQLite file (commands that only read a ledger). */
export async function openStore(url: string, opts: { mustExist?: boolean } = {}): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgresStore(url);
  return openSqliteStore(sqliteFile(url)!, opts);
}

/** The SQLite file a database URL names, or undefined for PostgreSQL. */
export function sqliteFile(url: string): string | undefined {
  if (/^postgres(ql)?:\/\//.test(url)) return undefined;
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file) throw invalid('the database URL sqlite: needs a path, e.g. sqlite:.bulwark/bulwark.db');
    return file;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw invalid(`unsupported database URL ${describeDb(url)}: use sqlite:PATH or postgres://USER@HOST:PORT/DB`);
  }
  return url;
}
