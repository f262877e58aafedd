/**
 * What an attacker with the SQLite file can do to the ledger, for tamper tests: read entry rows
 * and recompute the stored tree and head from the entries as they are now.
 */
import type Database from 'better-sqlite3';
import { leafInput } from '../../src/core/ledger/entry.ts';
import { appendLeaves, leafHash } from '../../src/core/ledger/merkle.ts';
import { packTrees } from '../../src/store/ledger/tree-layout.ts';

export type EntryRow = { seq: number; time: string; actor: string; kind: string; subject: string; data: string };

/** The leaf hash of a row, computed the reference way (not through the store's shortcuts). */
export function leafOf(r: EntryRow): Buffer {
  return leafHash(leafInput({ seq: r.seq, time: r.time, actor: r.actor, kind: r.kind, subject: r.subject, dataJson: r.data }));
}

/** Recompute every stored tree node and the head from the entries as they are now. */
export function rebuildTree(db: Database.Database): void {
  const rows = db.prepare('select * from ledger_entries order by seq').all() as EntryRow[];
  const tree = appendLeaves([], 0, rows.map(leafOf));
  const put = db.prepare('update ledger_entries set tree = ? where seq = ?');
  packTrees(tree.nodes).forEach((t, seq) => put.run(t, seq));
  db.prepare('update ledger_head set size = ?, root = ?, frontier = ? where id = 1').run(
    tree.size,
    tree.root,
    Buffer.concat(tree.frontier),
  );
}
