/**
 * A ledger written in the old layout (nodes in `ledger_nodes`) is carried over by migration 0005:
 * it verifies, serves proofs and keeps growing. On SQLite and a real PostgreSQL.
 */
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import { inclusionProof } from '../../../app/ledger/proofs.ts';
import { verifyStore } from '../../../app/ledger/verify.ts';
import { leafInput, toStored, type LedgerEntry } from '../../../core/ledger/entry.ts';
import { appendLeaves, frontierNodes, leafHash, verifyInclusion, type NodeId } from '../../../core/ledger/merkle.ts';
import type { Store } from '../../store.ts';
import { describeMigration } from '../../../../test/support/migrations.ts';
import { systemActor } from '../../../core/ledger/actor.ts';

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
    [{ actor: systemActor('system'), kind: 'note.observation', subject: 'case:after', data: { text: 'after the migration' } }],
    new Date().toISOString(),
  );
  const after = await verifyStore(store);
  expect(after.ok, after.message).toBe(true);
  expect(after.size).toBe(count + 1);
}

const COUNT = 77;

describeMigration('migration 0005 carries a ledger over from ledger_nodes', {
  before: '0004_experiments',
  writeOld: (db) => writeOldLayout(db, COUNT),
  check: (store) => expectCarriedOver(store, COUNT),
});
