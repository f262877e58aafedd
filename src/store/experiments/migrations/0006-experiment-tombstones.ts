/**
 * Deleting an applied experiment leaves its row as a tombstone (`deleted_at`, `deleted_by`; the
 * file emptied) rather than removing it: a re-apply of the name then continues its versions, so
 * that `experiment.applied` entries never name the same version of one name twice. Its runs
 * (`experiment_runs`, keyed by the name) and ledger entries are not touched.
 */
import type { Kysely, Migration } from 'kysely';

export function experimentTombstones(): Migration {
  return {
    async up(db: Kysely<any>) {
      // One column per statement: SQLite's ALTER TABLE adds one at a time.
      await db.schema.alterTable('experiments').addColumn('deleted_at', 'text').execute();
      await db.schema.alterTable('experiments').addColumn('deleted_by', 'text').execute();
    },
  };
}
