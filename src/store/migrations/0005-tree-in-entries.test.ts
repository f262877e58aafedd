/**
 * A ledger written in the old layout (nodes in `ledger_nodes`) is carried over by migration 0005:
 * it verifies, serves proofs and keeps growing. On SQLite and a real PostgreSQL.
 */
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { inclusionProof } from '../../app/ledger/proofs.ts';
import { verifyStore } from '../../app/ledger/verify.ts';
import { leafInput, toStored, type LedgerEntry } from '../../core/ledger/entry.ts';
import { appendLeaves, frontierNodes, leafHash, verifyInclusion, type NodeId } from '../../core/ledger/merkle.ts';
import type { Store } from '../store.ts';
import { openPostgresStore } from '../postgres/open-postgres.ts';
import { openSqliteStore } from '../sqlite/open-sqlite.ts';
import { migrate } from './index.ts';
import { createTestDatabase, pgAvailable, skipReasonPg } from '../../../test/support/postgres.ts';
import { tmpDir } from '../../../test/support/tmp.ts';

const OLD = '0004_experiments';
const oldPos = (n: NodeId) => n.index * 2 ** (n.level + 1) + 2 ** n.level - 1;

/** Write `count` entries the way the store did before 0005. */
async function writeOldLayout(db: Kysely<any>, count: number): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = Array.from({ length: count }, (_, seq) => ({
    seq,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    actor: 'system',
    kind: 'note.observation',
    subject: `case:${seq % 3}`,
    data: { text: `entry ${seq}`, n: seq },
  }));
  const stored = entries.map(toStored);
  const tree = appendLeaves(
    [],
    0,
    stored.map((e) => leafHash(leafInput(e))),
  );
  await db
    .insertInto('ledger_entries')
    .values(stored.map((e) => ({ seq: e.seq, time: e.time, actor: e.actor, kind: e.kind, subject: e.subject, data: e.dataJson })))
    .execute();
  await db
    .insertInto('ledger_nodes')
    .values(tree.nodes.map((n) => ({ pos: oldPos(n), hash: n.hash })))
    .execute();
  await db.updateTable('ledger_head').set({ size: tree.size, root: tree.root }).where('id', '=', 1).execute();
  return entries;
}

async function expectCarriedOver(store: Store, count: number): Promise<void> {
  const report = await verifyStore(store);
  expect(report.ok, report.message).toBe(true);
  expect(report.entriesChecked).toBe(count);
  const head = await store.ledger.head();
  expect(head.frontier).toHaveLength(frontierNodes(count).length);
  for (const seq of [0, 1, count - 1, Math.floor(count / 2)]) {
    const p = await inclusionProof(store.ledger, seq, head.size);
    const [entry] = await store.ledger.page({ from: seq, limit: 1, order: 'asc' });
    expect(verifyInclusion(seq, head.size, leafHash(leafInput(entry!)), p.proof, head.root)).toBeNull();
  }
  await store.ledger.append(
    [{ actor: 'system', kind: 'note.observation', subject: 'case:after', data: { text: 'after the migration' } }],
    new Date().toISOString(),
  );
  const after = await verifyStore(store);
  expect(after.ok, after.message).toBe(true);
  expect(after.size).toBe(count + 1);
}

const COUNT = 77;

describe('migration 0005 carries a ledger over from ledger_nodes', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('on SQLite', async () => {
    const dir = await tmpDir('bulwark-0005-');
    cleanups.push(() => dir.cleanup());
    const file = `${dir.path}/old.db`;
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    await migrate(db, 'sqlite', OLD);
    await writeOldLayout(db, COUNT);
    await db.destroy();
    const store = await openSqliteStore(file);
    cleanups.push(() => store.close());
    await expectCarriedOver(store, COUNT);
  });

  it.skipIf(!pgAvailable())(`on PostgreSQL (${pgAvailable() ? 'real server' : skipReasonPg})`, async () => {
    const d = await createTestDatabase();
    cleanups.push(() => d.drop());
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: d.url, max: 1 }) }) });
    await migrate(db, 'postgres', OLD);
    await writeOldLayout(db, COUNT);
    await db.destroy();
    const store = await openPostgresStore(d.url);
    cleanups.push(() => store.close());
    await expectCarriedOver(store, COUNT);
  });
});
