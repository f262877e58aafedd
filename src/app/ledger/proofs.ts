/**
 * Proofs from stored nodes: every node an inclusion or consistency proof needs, and the roots,
 * are fetched in one query. A size beyond the head has no stored frontier, so it is refused.
 */
import { notFound, invalid } from '../../core/errors.ts';
import {
  consistencyRanges,
  foldRight,
  frontierNodes,
  hashRanges,
  inclusionRanges,
  nodeKey,
  nodesForRanges,
  type Hash,
  type NodeId,
} from '../../core/ledger/merkle.ts';
import type { LedgerRepo } from '../../store/ledger/port.ts';

export interface InclusionProof {
  seq: number;
  size: number;
  leafHash: Hash;
  proof: Hash[];
  root: Hash;
}

export interface ConsistencyProof {
  from: number;
  to: number;
  proof: Hash[];
  root1: Hash;
  root2: Hash;
}

async function fetch(ledger: LedgerRepo, ids: NodeId[], size: number) {
  const nodes = await ledger.nodes(ids);
  const get = (n: NodeId) => nodes.get(nodeKey(n));
  if (ids.some((n) => !get(n))) {
    const head = await ledger.head();
    throw notFound(`the ledger has ${head.size} entries; ask for a size up to ${head.size}`, { size, headSize: head.size });
  }
  return get;
}

export async function inclusionProof(ledger: LedgerRepo, seq: number, size: number): Promise<InclusionProof> {
  if (!(Number.isSafeInteger(seq) && Number.isSafeInteger(size) && seq >= 0 && size > seq)) {
    throw invalid(`seq must be an entry of the tree: 0 <= seq < size (got seq=${seq}, size=${size})`);
  }
  const ranges = inclusionRanges(seq, size);
  const leaf = { level: 0, index: seq };
  const rootIds = frontierNodes(size);
  const get = await fetch(ledger, [...nodesForRanges(ranges), leaf, ...rootIds], size);
  return { seq, size, leafHash: get(leaf)!, proof: hashRanges(ranges, get), root: foldRight(rootIds.map((n) => get(n)!)) };
}

export async function consistencyProof(ledger: LedgerRepo, from: number, to: number): Promise<ConsistencyProof> {
  if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from >= 1 && from <= to)) {
    throw invalid(`sizes must satisfy 1 <= from <= to (got from=${from}, to=${to})`);
  }
  const ranges = from === to ? [] : consistencyRanges(from, to);
  const r1 = frontierNodes(from);
  const r2 = frontierNodes(to);
  const get = await fetch(ledger, [...nodesForRanges(ranges), ...r1, ...r2], to);
  return {
    from,
    to,
    proof: hashRanges(ranges, get),
    root1: foldRight(r1.map((n) => get(n)!)),
    root2: foldRight(r2.map((n) => get(n)!)),
  };
}
