/**
 * Schema migrations, run at every start on both databases. Each migration is forward-only and
 * runs in a transaction: on PostgreSQL kysely's migrator also takes an advisory lock, on SQLite
 * the BEGIN IMMEDIATE of sqlite/open-sqlite.ts serializes concurrent starts.
 *
 * Each capability's store part lists its own (store/<capability>/migrations/); here they are
 * merged into one history, which kysely applies in name order. Add a file per change to the part
 * that owns the tables, under the next free number; never edit or rename a migration that has
 * shipped (its name is recorded in the database).
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { STORE_PARTS } from '../../capabilities/index.ts';
import type { StorePart } from '../store-part.ts';
import type { Dialect } from './column-types.ts';

/** Every part's migrations by name; refuses two of one name or one number (`NNNN_…`). */
export function migrations(dialect: Dialect, parts: readonly StorePart[] = STORE_PARTS): Record<string, Migration> {
  const out: Record<string, Migration> = {};
  const numbers = new Map<string, string>();
  for (const part of parts) {
    for (const [name, migration] of Object.entries(part.migrations)) {
      const number = /^(\d{4})_[a-z0-9_]+$/.exec(name)?.[1];
      if (!number) throw new Error(`migration name ${name} is not NNNN_name`);
      if (name in out) throw new Error(`two migrations are named ${name}`);
      const other = numbers.get(number);
      if (other) throw new Error(`migrations ${other} and ${name} have the same number`);
      numbers.set(number, name);
      out[name] = migration(dialect);
    }
  }
  return out;
}

export async function migrateToLatest(db: Kysely<any>, dialect: Dialect): Promise<void> {
  return migrate(db, dialect);
}

/** Migrate up to and including `target` (tests of a migration start from the schema before it). */
export async function migrate(db: Kysely<any>, dialect: Dialect, target?: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider });
  const { error, results } = target === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(target);
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error).message ?? error)}`);
  }
}
