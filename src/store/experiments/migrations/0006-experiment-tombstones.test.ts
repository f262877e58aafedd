/**
 * Experiments applied before migration 0006 are carried over: they read, list and schedule as
 * before, can be deleted (a tombstone without the file) and applied again as the next version.
 * On SQLite and a real PostgreSQL.
 */
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import type { Store } from '../../store.ts';
import { describeMigration } from '../../../../test/support/migrations.ts';

/** Two experiments the way the store wrote them before 0006: one scheduled, at version 2. */
async function writeOldRows(db: Kysely<any>): Promise<void> {
  const row = (name: string, cron: string | null, version: number) => ({
    name,
    title: `title of ${name}`,
    description: 'written before 0006',
    techniques: JSON.stringify(['T1190']),
    file: `title: title of ${name}\nsecrets: { s: { k: inline-secret } }\n`,
    file_sha256: 'a'.repeat(64),
    version,
    schedule_cron: cron,
    schedule_jitter_ms: cron === null ? null : 5000,
    privileged: 0,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-02T00:00:00.000Z',
    applied_by: 'token:old',
  });
  await db
    .insertInto('experiments')
    .values([row('scheduled', '*/5 * * * *', 2), row('on-demand', null, 1)])
    .execute();
}

async function expectCarriedOver(store: Store): Promise<void> {
  expect((await store.experiments.list()).map((e) => [e.name, e.version])).toEqual([
    ['on-demand', 1],
    ['scheduled', 2],
  ]);
  expect((await store.experiments.scheduled()).map((e) => e.name)).toEqual(['scheduled']);
  expect(await store.experiments.get('scheduled')).toMatchObject({ createdAt: '2026-01-01T00:00:00.000Z', appliedBy: 'token:old' });

  const deleted = await store.experiments.delete('scheduled', 'token:new', '2026-02-01T00:00:00.000Z');
  expect(deleted).toMatchObject({ name: 'scheduled', version: 2, deletedAt: '2026-02-01T00:00:00.000Z', deletedBy: 'token:new' });
  expect(await store.experiments.get('scheduled')).toBeUndefined();
  expect(await store.experiments.scheduled()).toEqual([]);
  // The tombstone is in the database (and in backups) without the file and its inline secret.
  const rows: Record<string, unknown>[] = [];
  await store.dump(({ table, row }) => {
    if (table === 'experiments') rows.push(row);
  });
  const tomb = rows.find((r) => r.name === 'scheduled')!;
  expect(tomb).toMatchObject({ file: '', deleted_at: '2026-02-01T00:00:00.000Z', deleted_by: 'token:new' });
  expect(JSON.stringify(rows.filter((r) => r.name === 'scheduled'))).not.toContain('inline-secret');

  const again = await store.experiments.put(
    {
      name: 'scheduled',
      title: 'back again',
      description: 'applied after the deletion',
      techniques: [],
      file: 'title: back again\n',
      fileSha256: 'b'.repeat(64),
      schedule: null,
      privileged: false,
      appliedBy: 'token:new',
    },
    '2026-03-01T00:00:00.000Z',
  );
  expect(again).toMatchObject({ version: 3, createdAt: '2026-03-01T00:00:00.000Z', title: 'back again' });
}

describeMigration('migration 0006 keeps applied experiments and lets them be deleted', {
  before: '0005_tree_in_entries',
  writeOld: writeOldRows,
  check: expectCarriedOver,
});
