import { readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CompactRange,
  EMPTY_ROOT,
  appendLeaves,
  consistencyRanges,
  foldRight,
  frontierNodes,
  hashRanges,
  inclusionRanges,
  leafHash,
  leafHashOfText,
  nodeHash,
  nodeKey,
  verifyConsistency,
  verifyInclusion,
  type Hash,
} from './merkle.ts';
import { vectorsAvailable, vectorsDir } from '../../../test/support/vectors.ts';

/** Reference MTH straight from RFC 6962 §2.1, recursive, for cross-checking. */
function mth(leaves: Hash[]): Hash {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** An in-memory store of every node appendLeaves produced, as the database keeps them. */
function buildTree(count: number) {
  const leaves = Array.from({ length: count }, (_, i) => leafHash(Buffer.from(`entry-${i}`)));
  const nodes = new Map<string, Hash>();
  let frontier: Hash[] = [];
  let size = 0;
  const roots: Hash[] = [EMPTY_ROOT];
  for (const leaf of leaves) {
    const r = appendLeaves(frontier, size, [leaf]);
    for (const n of r.nodes) nodes.set(nodeKey(n), n.hash);
    frontier = r.frontier;
    size = r.size;
    roots.push(r.root);
  }
  const lookup = (n: { level: number; index: number }) => nodes.get(nodeKey(n));
  const inclusion = (i: number, n: number) => hashRanges(inclusionRanges(i, n), lookup);
  const consistency = (a: number, b: number) => (a === b ? [] : hashRanges(consistencyRanges(a, b), lookup));
  return { leaves, roots, inclusion, consistency, lookup };
}

const tree = buildTree(2000);

function flipBit(h: Hash, bit: number): Hash {
  const c = Buffer.from(h);
  c[(bit >> 3) % 32]! ^= 1 << (bit & 7);
  return c;
}

describe('merkle tree arithmetic', () => {
  it('matches the recursive definition of RFC 6962 for every size up to 70', () => {
    for (let n = 0; n <= 70; n++) expect(tree.roots[n]!.equals(mth(tree.leaves.slice(0, n)))).toBe(true);
  });

  it('computes the root from the compact range alone, as appends do', () => {
    for (const n of [1, 2, 3, 7, 8, 9, 1000, 1999]) {
      const f = frontierNodes(n).map((node) => tree.lookup(node)!);
      expect(foldRight(f).equals(tree.roots[n]!)).toBe(true);
    }
  });

  it('appends in batches exactly as one by one', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 20 }), (batches) => {
        let frontier: Hash[] = [];
        let size = 0;
        for (const b of batches) {
          const r = appendLeaves(frontier, size, tree.leaves.slice(size, size + b));
          frontier = r.frontier;
          size = r.size;
          if (!r.root.equals(tree.roots[size]!)) return false;
        }
        return true;
      }),
    );
  });

  it('streams the same root through CompactRange', () => {
    const c = new CompactRange();
    tree.leaves.slice(0, 777).forEach((l) => c.push(l));
    expect(c.root().equals(tree.roots[777]!)).toBe(true);
    const resumed = CompactRange.from(c.hashes(), c.size);
    tree.leaves.slice(777, 1500).forEach((l) => resumed.push(l));
    expect(resumed.root().equals(tree.roots[1500]!)).toBe(true);
  });
});

describe('hashing shortcuts agree with the definitions', () => {
  it('leafHashOfText is SHA-256(0x00 || UTF-8 bytes), lone surrogates included', () => {
    const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit })), (text) => {
        expect(leafHashOfText(text).equals(leafHash(Buffer.from(text, 'utf8')))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('nodeHash reuses no state between calls and matches a fresh SHA-256', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (l, r) => {
        const expected = createHash('sha256')
          .update(Buffer.from([1]))
          .update(l)
          .update(r)
          .digest();
        const got = nodeHash(l, r);
        nodeHash(r, l);
        expect(got.equals(expected)).toBe(true);
      }),
      { numRuns: 300 },
    );
    // Odd-sized inputs (malformed proofs) are hashed as given, not truncated.
    const [l, r] = [Buffer.alloc(3, 7), Buffer.alloc(40, 9)];
    expect(
      nodeHash(l, r).equals(
        createHash('sha256')
          .update(Buffer.from([1]))
          .update(l)
          .update(r)
          .digest(),
      ),
    ).toBe(true);
  });
});

describe('proofs over random logs of up to 2,000 entries', () => {
  const sizes = fc.integer({ min: 1, max: 2000 });

  it('every inclusion proof verifies and a flipped bit fails', () => {
    fc.assert(
      fc.property(
        sizes.chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }), fc.nat())),
        ([n, i, bit]) => {
          const proof = tree.inclusion(i, n);
          expect(verifyInclusion(i, n, tree.leaves[i]!, proof, tree.roots[n]!)).toBeNull();
          expect(verifyInclusion(i, n, flipBit(tree.leaves[i]!, bit), proof, tree.roots[n]!)).not.toBeNull();
          expect(verifyInclusion(i, n, tree.leaves[i]!, proof, flipBit(tree.roots[n]!, bit))).not.toBeNull();
          if (proof.length > 0) {
            const j = bit % proof.length;
            const bad = proof.map((p, k) => (k === j ? flipBit(p, bit) : p));
            expect(verifyInclusion(i, n, tree.leaves[i]!, bad, tree.roots[n]!)).not.toBeNull();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every consistency proof verifies and a flipped bit fails', () => {
    fc.assert(
      fc.property(
        sizes.chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n), fc.nat())),
        ([a, b, bit]) => {
          const proof = tree.consistency(a, b);
          expect(verifyConsistency(a, b, tree.roots[a]!, tree.roots[b]!, proof)).toBeNull();
          expect(verifyConsistency(a, b, flipBit(tree.roots[a]!, bit), tree.roots[b]!, proof)).not.toBeNull();
          expect(verifyConsistency(a, b, tree.roots[a]!, flipBit(tree.roots[b]!, bit), proof)).not.toBeNull();
          if (proof.length > 0) {
            const j = bit % proof.length;
            const bad = proof.map((p, k) => (k === j ? flipBit(p, bit) : p));
            expect(verifyConsistency(a, b, tree.roots[a]!, tree.roots[b]!, bad)).not.toBeNull();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('proof lengths stay logarithmic', () => {
    expect(tree.inclusion(1234, 2000).length).toBeLessThanOrEqual(11);
    expect(tree.consistency(999, 2000).length).toBeLessThanOrEqual(2 * 11);
  });
});

describe.runIf(vectorsAvailable())('RFC 6962 public vectors', () => {
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const dir = path.join(vectorsDir, 'rfc6962/testdata');
  const files = (kind: string) =>
    readdirSync(path.join(dir, kind), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ name: `${kind}/${f}`, v: JSON.parse(readFileSync(path.join(dir, kind, f), 'utf8')) }));
  const inclusion = files('inclusion');
  const consistency = files('consistency');

  it('has all 196 cases', () => {
    expect(inclusion.length + consistency.length).toBe(196);
  });

  it.each(inclusion)('inclusion $name', ({ v }) => {
    const err = verifyInclusion(v.leafIdx, v.treeSize, b64(v.leafHash ?? ''), (v.proof ?? []).map(b64), b64(v.root ?? ''));
    if (v.wantErr) expect(err).not.toBeNull();
    else expect(err).toBeNull();
  });

  it.each(consistency)('consistency $name', ({ v }) => {
    const err = verifyConsistency(v.size1, v.size2, b64(v.root1 ?? ''), b64(v.root2 ?? ''), (v.proof ?? []).map(b64));
    if (v.wantErr) expect(err).not.toBeNull();
    else expect(err).toBeNull();
  });

  it('reproduces the leaf hashes and the roots for sizes 0 to 8', () => {
    const r = JSON.parse(readFileSync(path.join(vectorsDir, 'rfc6962/roots.json'), 'utf8'));
    const leaves = (r.leafInputsHex as string[]).map((h) => leafHash(Buffer.from(h, 'hex')));
    expect(leaves.map((l) => l.toString('hex'))).toEqual(r.leafHashesHex);
    const roots = r.rootsBySizeHex as Record<string, string>;
    expect(Object.keys(roots)).toHaveLength(9);
    for (let n = 0; n <= 8; n++) {
      const c = new CompactRange();
      leaves.slice(0, n).forEach((l) => c.push(l));
      expect(c.root().toString('hex')).toBe(roots[String(n)]);
    }
  });
});
