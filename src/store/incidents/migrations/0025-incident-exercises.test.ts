/**
 * Exercises marked before migration 0025 (rows `exercise:ID` of the counters table, 1 running,
 * 2 ended) are carried into their own table, and the counters keep only counters. On SQLite and a
 * real PostgreSQL.
 */
import { expect } from 'vitest';
import { describeMigration } from '../../../../test/support/migrations.ts';

describeMigration('migration 0025 moves the exercise marks into a table of their own', {
  before: '0024_incident_tasks_reports',
  writeOld: (db) =>
    db
      .insertInto('incident_counters')
      .values([
        { name: 'incident', value: 7 },
        { name: 'exercise:3', value: 1 },
        { name: 'exercise:5', value: 2 },
      ])
      .execute(),
  check: async (store) => {
    expect(await store.incidents.exerciseIds()).toEqual([3, 5]);
    expect(await store.incidents.exerciseIds({ running: true })).toEqual([3]);
    await store.incidents.markExerciseEnded(3);
    expect(await store.incidents.exerciseIds({ running: true })).toEqual([]);
    const counters: Record<string, unknown>[] = [];
    await store.dump(({ table, row }) => {
      if (table === 'incident_counters') counters.push(row);
    });
    expect(counters.map((r) => r.name)).toEqual(['incident']);
  },
});
