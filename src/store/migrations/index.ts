/**
 * Schema migrations, run at every start on both databases. Each migration is forward-only and
 * runs in a transaction: on PostgreSQL kysely's migrator also takes an advisory lock, on SQLite
 * the BEGIN IMMEDIATE of sqlite/open-sqlite.ts serializes concurrent starts.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './column-types.ts';
import { ledgerAndTokens } from './0001-ledger-and-tokens.ts';
import { signals } from './0002-signals.ts';
import { experimentRuns } from './0003-experiment-runs.ts';
import { experiments } from './0004-experiments.ts';
import { treeInEntries } from './0005-tree-in-entries.ts';
import { experimentTombstones } from './0006-experiment-tombstones.ts';
import { targetSlots } from './0007-target-slots.ts';

/**
 * Every migration, in order. Add a file per change and a line here; never edit a migration that
 * has shipped.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_ledger_and_tokens': ledgerAndTokens(dialect),
    '0002_signals': signals(dialect),
    '0003_experiment_runs': experimentRuns(dialect),
    '0004_experiments': experiments(dialect),
    '0005_tree_in_entries': treeInEntries(dialect),
    '0006_experiment_tombstones': experimentTombstones(),
    '0007_target_slots': targetSlots(),
  };
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
