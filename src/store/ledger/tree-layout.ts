/**
 * Where the Merkle tree's nodes are stored. Appending leaf `seq` completes the leaf itself and
 * every perfect subtree whose last leaf it is: node (level L, index k) is completed by leaf
 * (k+1)·2^L − 1. Entry row `seq` keeps those hashes in its `tree` column, lowest level first,
 * 32 bytes each, so a node is found at (seq, 32·L) and every node is written exactly once.
 */
import { asBuffer } from '../../core/bytes.ts';
import type { Hash, NodeId, StoredNode } from '../../core/ledger/merkle.ts';

export const HASH_BYTES = 32;

/** The row holding node `n`, and the node's slot in that row's `tree` (its level). */
export function homeOf(n: NodeId): { seq: number; slot: number } {
  return { seq: (n.index + 1) * 2 ** n.level - 1, slot: n.level };
}

/** The nodes whose hashes entry `seq` keeps, in slot order. */
export function completedAt(seq: number): NodeId[] {
  const out: NodeId[] = [{ level: 0, index: seq }];
  let level = 0;
  let width = 1;
  while ((seq + 1) % (width * 2) === 0) {
    level += 1;
    width *= 2;
    out.push({ level, index: (seq + 1) / width - 1 });
  }
  return out;
}

/** Group the nodes an append completed (leaf first, then its completed ancestors) into one `tree` per entry. */
export function packTrees(nodes: readonly StoredNode[]): Buffer[] {
  const out: Buffer[] = [];
  let group: Hash[] = [];
  for (const n of nodes) {
    if (n.level === 0 && group.length > 0) {
      out.push(group.length === 1 ? group[0]! : Buffer.concat(group));
      group = [];
    }
    group.push(n.hash);
  }
  if (group.length > 0) out.push(group.length === 1 ? group[0]! : Buffer.concat(group));
  return out;
}

/** Node `slot` of a stored `tree`, or undefined when the row does not hold it. */
export function slotOf(tree: Uint8Array, slot: number): Hash | undefined {
  const start = slot * HASH_BYTES;
  if (tree.length < start + HASH_BYTES) return undefined;
  return asBuffer(tree).subarray(start, start + HASH_BYTES);
}

/** Split a stored compact range into its hashes. */
export function splitHashes(blob: Uint8Array): Hash[] {
  const out: Hash[] = [];
  for (let i = 0; i + HASH_BYTES <= blob.length; i += HASH_BYTES) out.push(Buffer.from(blob.subarray(i, i + HASH_BYTES)));
  return out;
}
