/**
 * Migration 0007 adds the per-target slots to a database that has runs: a run stored before it
 * takes slots like any other, and its lease decides whether they count. On SQLite and a real
 * PostgreSQL.
 */
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import type { Store } from '../../store.ts';
import { describeMigration } from '../../../../test/support/migrations.ts';

/** A run the way the store wrote it before 0007: running, its lease until 12:00:30. */
async function writeOldRows(db: Kysely<any>): Promise<void> {
  await db
    .insertInto('experiment_runs')
    .values({
      id: 'oldrun0000000001',
      experiment: 'written before 0007',
      state: 'running',
      outcome: null,
      reason: null,
      started_at: '2026-05-01T12:00:00.000Z',
      ended_at: null,
      lease_owner: 'host:1:old',
      lease_until: '2026-05-01T12:00:30.000Z',
      rollbacks: '[]',
      journal: '{}',
      ttd_ms: null,
      dry_run: 0,
    })
    .execute();
}

async function expectSlots(store: Store): Promise<void> {
  const one = [{ key: 'host:shop', limit: 1 }];
  expect(await store.slots.take('oldrun0000000001', one, '2026-05-01T12:00:01.000Z', '2026-05-01T12:00:11.000Z')).toBe(true);
  expect(await store.slots.take('newrun0000000001', one, '2026-05-01T12:00:02.000Z', '2026-05-01T12:00:12.000Z')).toBe(false);
  // The old run's lease ran out: its slot no longer counts.
  expect(await store.slots.take('newrun0000000001', one, '2026-05-01T12:00:31.000Z', '2026-05-01T12:00:41.000Z')).toBe(true);
  // Slots are not part of a backup.
  const tables = new Set<string>();
  await store.dump(({ table }) => {
    tables.add(table);
  });
  expect(tables.has('experiment_runs')).toBe(true);
  expect(tables.has('target_slots')).toBe(false);
}

describeMigration('migration 0007 adds per-target slots next to existing runs', {
  before: '0006_experiment_tombstones',
  writeOld: writeOldRows,
  check: expectSlots,
});
