/**
 * RFC 6962 / RFC 9162 Merkle tree arithmetic: hashing, the compact range ("frontier") used for
 * O(log n) appends, the node ranges that make up inclusion and consistency proofs, and the
 * verifiers clients use. Pure: no I/O. Nodes are addressed as (level, index): the perfect
 * subtree covering leaves [index·2^level, (index+1)·2^level).
 */
import { createHash, hash as oneShot } from 'node:crypto';

export type Hash = Buffer;

export interface NodeId {
  level: number;
  index: number;
}

export interface StoredNode extends NodeId {
  hash: Hash;
}

/** A half-open range of leaves [start, end). */
export interface LeafRange {
  start: number;
  end: number;
}

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** MTH({}) = SHA-256() (RFC 6962 §2.1). */
export const EMPTY_ROOT: Hash = createHash('sha256').digest();

/** Leaf hash: SHA-256(0x00 || input). */
export function leafHash(input: Uint8Array): Hash {
  // One-shot hashing over one buffer is about twice as fast as a Hash object with updates.
  return oneShot('sha256', Buffer.concat([LEAF_PREFIX, input]), 'buffer');
}

/** Leaf hash of a text's UTF-8 bytes: SHA-256(0x00 || utf8(text)), without building a Buffer first. */
export function leafHashOfText(text: string): Hash {
  // U+0000 is the single byte 0x00 in UTF-8; node:crypto encodes a string input as UTF-8.
  return oneShot('sha256', '\u0000' + text, 'buffer');
}

/** Reused input of nodeHash: hashing is synchronous, so one buffer serves every call. */
const nodeInput = Buffer.alloc(65);
nodeInput[0] = 0x01;

/** Interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Hash {
  if (left.length !== 32 || right.length !== 32) return oneShot('sha256', Buffer.concat([NODE_PREFIX, left, right]), 'buffer');
  nodeInput.set(left, 1);
  nodeInput.set(right, 33);
  return oneShot('sha256', nodeInput, 'buffer');
}

/** The largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The perfect, aligned subtrees that exactly cover [start, end), largest first. Valid for every
 * range an RFC 6962 proof or root produces: such a range starts at a multiple of its own
 * rounded-up power of two, so its binary decomposition is aligned.
 */
export function perfectCover(range: LeafRange): NodeId[] {
  const out: NodeId[] = [];
  let offset = range.start;
  let remaining = range.end - range.start;
  for (let level = 52; level >= 0 && remaining > 0; level--) {
    const width = 2 ** level;
    if (remaining >= width) {
      out.push({ level, index: offset / width });
      offset += width;
      remaining -= width;
    }
  }
  return out;
}

/** The compact range of a tree of `size` leaves: the nodes whose hashes determine its root. */
export function frontierNodes(size: number): NodeId[] {
  return perfectCover({ start: 0, end: size });
}

/** Fold perfect-subtree hashes (largest first) into the Merkle hash of their union. */
export function foldRight(hashes: readonly Hash[]): Hash {
  if (hashes.length === 0) return EMPTY_ROOT;
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i]!, acc);
  return acc;
}

export interface AppendResult {
  /** Every node completed by the appended leaves, leaves (level 0) included. */
  nodes: StoredNode[];
  /** The compact range after the append. */
  frontier: Hash[];
  size: number;
  root: Hash;
}

/**
 * Append leaf hashes to a tree given by its compact range. Costs O(log n) per leaf and writes on
 * average two nodes per leaf; no earlier node is ever rewritten.
 */
export function appendLeaves(frontier: readonly Hash[], size: number, leaves: readonly Hash[]): AppendResult {
  const stack = frontier.slice();
  const nodes: StoredNode[] = [];
  let n = size;
  for (const leaf of leaves) {
    let hash = leaf;
    let level = 0;
    let index = n;
    nodes.push({ level, index, hash });
    while (index % 2 === 1) {
      const left = stack.pop();
      if (!left) throw new Error(`frontier of size ${size} is inconsistent`);
      hash = nodeHash(left, hash);
      level += 1;
      index = (index - 1) / 2;
      nodes.push({ level, index, hash });
    }
    stack.push(hash);
    n += 1;
  }
  return { nodes, frontier: stack, size: n, root: foldRight(stack) };
}

/** The ranges whose hashes form the audit path of leaf `index` in a tree of `size` (RFC 9162 §2.1.3.1). */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of size ${size}`);
  const out: LeafRange[] = [];
  let start = 0;
  let end = size;
  let m = index;
  // Walk from the root down, then reverse: the proof lists siblings from the leaf upwards.
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < k) {
      out.push({ start: start + k, end });
      end = start + k;
    } else {
      out.push({ start, end: start + k });
      start += k;
      m -= k;
    }
  }
  return out.reverse();
}

/** The ranges whose hashes form the consistency proof from size1 to size2 (RFC 9162 §2.1.4.1). */
export function consistencyRanges(size1: number, size2: number): LeafRange[] {
  if (!(size1 > 0 && size1 <= size2)) throw new RangeError(`no consistency proof from size ${size1} to ${size2}`);
  const out: LeafRange[] = [];
  let start = 0;
  let end = size2;
  let m = size1;
  let complete = true;
  while (m !== end - start) {
    const k = splitPoint(end - start);
    if (m <= k) {
      out.push({ start: start + k, end });
      end = start + k;
    } else {
      out.push({ start, end: start + k });
      start += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) out.push({ start, end });
  return out.reverse();
}

/** Every stored node needed to hash the given ranges, deduplicated. */
export function nodesForRanges(ranges: readonly LeafRange[]): NodeId[] {
  const seen = new Map<string, NodeId>();
  for (const r of ranges) for (const n of perfectCover(r)) seen.set(`${n.level}:${n.index}`, n);
  return [...seen.values()];
}

/** Hash each range from a lookup of stored perfect-subtree nodes. */
export function hashRanges(ranges: readonly LeafRange[], lookup: (node: NodeId) => Hash | undefined): Hash[] {
  return ranges.map((r) =>
    foldRight(
      perfectCover(r).map((n) => {
        const h = lookup(n);
        if (!h) throw new Error(`node ${n.level}:${n.index} is missing from the store`);
        return h;
      }),
    ),
  );
}

export const nodeKey = (n: NodeId): string => `${n.level}:${n.index}`;

// ---------------------------------------------------------------------------------------------
// Verifiers (RFC 9162 §2.1.3.2 and §2.1.4.2). They return a reason string on failure so a
// caller can tell a user what is wrong; `null` means the proof holds.

function isPowerOfTwo(n: number): boolean {
  let x = n;
  while (x > 1 && x % 2 === 0) x /= 2;
  return x === 1;
}

function isHash(h: Uint8Array): boolean {
  return h.length === 32;
}

/** Recompute the root from a leaf hash and its audit path; null when the shape is wrong. */
export function rootFromInclusionProof(index: number, size: number, leaf: Hash, proof: readonly Hash[]): Hash | null {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return null;
  if (!isHash(leaf) || !proof.every(isHash)) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

export function verifyInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): string | null {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size))) return 'index and size must be integers';
  if (index < 0 || index >= size) return `index ${index} is not below tree size ${size}`;
  if (!isHash(leaf)) return 'leaf hash must be 32 bytes';
  if (!isHash(root)) return 'root must be 32 bytes';
  if (!proof.every(isHash)) return 'every proof hash must be 32 bytes';
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  if (!computed) return `proof has the wrong number of hashes (${proof.length}) for leaf ${index} of ${size}`;
  return computed.equals(root) ? null : 'computed root does not match the given root';
}

export function verifyConsistency(size1: number, size2: number, root1: Hash, root2: Hash, proof: readonly Hash[]): string | null {
  if (!(Number.isSafeInteger(size1) && Number.isSafeInteger(size2))) return 'sizes must be integers';
  if (size1 < 0 || size2 < 0) return 'sizes must not be negative';
  if (size2 < size1) return `size2 (${size2}) is smaller than size1 (${size1})`;
  // Every tree is consistent with the empty one, so a proof from size 0 proves nothing.
  if (size1 === 0) return 'a consistency proof from an empty tree is not defined';
  if (size1 === size2) {
    if (proof.length !== 0) return 'proof must be empty when the sizes are equal';
    return root1.equals(root2) ? null : 'roots differ for equal sizes';
  }
  if (!isHash(root1) || !isHash(root2)) return 'roots must be 32 bytes';
  if (!proof.every(isHash)) return 'every proof hash must be 32 bytes';
  if (proof.length === 0) return 'proof is empty';
  let path = proof.slice();
  // When size1 is a power of two its root is itself the first node of the path.
  if (isPowerOfTwo(size1)) path = [root1, ...path];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return 'proof has too many hashes';
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return 'proof has too few hashes';
  if (!fr.equals(root1)) return 'proof does not lead to root1';
  if (!sr.equals(root2)) return 'proof does not lead to root2';
  return null;
}

/** Streaming root computation over leaf hashes in order: the floor for full verification. */
export class CompactRange {
  private stack: Hash[] = [];
  private levels: number[] = [];
  size = 0;

  push(leaf: Hash): void {
    let hash = leaf;
    let level = 0;
    while (this.levels.length > 0 && this.levels[this.levels.length - 1] === level) {
      this.levels.pop();
      hash = nodeHash(this.stack.pop()!, hash);
      level += 1;
    }
    this.stack.push(hash);
    this.levels.push(level);
    this.size += 1;
  }

  /**
   * Push a leaf and compare the interior nodes it completes with `stored` (32 bytes per node,
   * lowest level first, as the store keeps them). Returns 0 when they all match, else the level
   * of the first that differs or is missing (or one past the last completed, when `stored`
   * holds more than the push completed).
   */
  pushChecked(leaf: Hash, stored: Uint8Array): number {
    let hash = leaf;
    let level = 0;
    let bad = 0;
    while (this.levels.length > 0 && this.levels[this.levels.length - 1] === level) {
      this.levels.pop();
      hash = nodeHash(this.stack.pop()!, hash);
      level += 1;
      if (bad === 0 && (stored.length < level * 32 || !hash.equals(stored.subarray((level - 1) * 32, level * 32)))) bad = level;
    }
    if (bad === 0 && stored.length > level * 32) bad = level + 1;
    this.stack.push(hash);
    this.levels.push(level);
    this.size += 1;
    return bad;
  }

  root(): Hash {
    return foldRight(this.stack);
  }

  /** The compact range: perfect-subtree hashes, largest first. */
  hashes(): Hash[] {
    return this.stack.slice();
  }

  static from(hashes: readonly Hash[], size: number): CompactRange {
    const expected = frontierNodes(size);
    if (expected.length !== hashes.length) {
      throw new RangeError(`a compact range of size ${size} has ${expected.length} hashes, not ${hashes.length}`);
    }
    const c = new CompactRange();
    c.stack = hashes.slice();
    c.levels = expected.map((n) => n.level);
    c.size = size;
    return c;
  }
}
