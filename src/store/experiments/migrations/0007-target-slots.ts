/**
 * Per-target slots held in the database (`experiments.perTargetLimitScope: database`): one row
 * per key (`host:…`, `file:…`) a run holds. A slot counts only while its run is not done and
 * the run's lease is live, so a crashed process's slots free themselves when its leases expire;
 * a slot taken just before its run's row is stored counts until its own `held_until`.
 */
import type { Kysely, Migration } from 'kysely';

export function targetSlots(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('target_slots')
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('held_until', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('target_slots_pk', ['key', 'run_id'])
        .execute();
      // Release deletes a run's slots.
      await db.schema.createIndex('target_slots_run').on('target_slots').columns(['run_id']).execute();
    },
  };
}
