/** The ledger's contract: entries, the Merkle tree's nodes, checkpoints and keys; the settings (meta). */
import { beforeEach, describe, expect, it } from 'vitest';
import { entryLeafHash, type NewEntry } from '../../core/ledger/entry.ts';
import {
  CompactRange,
  frontierNodes,
  hashRanges,
  inclusionRanges,
  consistencyRanges,
  nodeKey,
  nodesForRanges,
  verifyConsistency,
  verifyInclusion,
} from '../../core/ledger/merkle.ts';
import type { StoreFixture } from '../store.contract.ts';
import type { ContractSuite } from '../store-part.ts';
import type { Store } from '../store.ts';
import { systemActor } from '../../core/ledger/actor.ts';

const NOW = '2026-01-02T03:04:05.000Z';
const note = (i: number): NewEntry => ({
  actor: systemActor('test'),
  kind: 'note.observation',
  subject: `s${i}`,
  data: { text: `entry ${i}`, labels: { i: String(i) } },
});

export const ledgerContract: ContractSuite = (current) => {
  describe('ledger', () => {
    let fx: StoreFixture;
    let store: Store;
    beforeEach(() => {
      ({ store, fx } = current());
    });

    it('gives appended entries consecutive positions and a head that matches their leaves', async () => {
      const a = await store.ledger.append([note(0), note(1)], NOW);
      const b = await store.ledger.append([note(2)], NOW);
      expect([...a, ...b].map((e) => e.seq)).toEqual([0, 1, 2]);
      const c = new CompactRange();
      [...a, ...b].forEach((e) => c.push(entryLeafHash(e)));
      const head = await store.ledger.head();
      expect(head.size).toBe(3);
      expect(head.root.equals(c.root())).toBe(true);
    });

    it('keeps the time it is given and canonicalises data', async () => {
      const [e] = await store.ledger.append(
        [{ ...note(0), time: '2025-12-31T23:59:59.000Z', data: { text: 't', labels: { b: '1', a: '2' } } }],
        NOW,
      );
      const [row] = await store.ledger.page({ limit: 1, order: 'asc' });
      expect(e!.time).toBe('2025-12-31T23:59:59.000Z');
      expect(row!.dataJson).toBe('{"labels":{"a":"2","b":"1"},"text":"t"}');
    });

    it('refuses to write secrets into the ledger', async () => {
      await expect(store.ledger.append([{ ...note(0), data: { token: 'bwk_x' } }], NOW)).rejects.toThrow(/secret/);
      expect((await store.ledger.head()).size).toBe(0);
    });

    it('refuses a kind the event catalogue does not list, and data its schema refuses, writing nothing', async () => {
      await expect(store.ledger.append([note(1), { ...note(0), kind: 'note.gossip' }], NOW)).rejects.toMatchObject({
        code: 'invalid',
        message: expect.stringMatching(/'note.gossip' is not in the event catalogue/),
      });
      await expect(store.ledger.append([{ ...note(0), data: { text: 'x', extra: 1 } }], NOW)).rejects.toMatchObject({
        code: 'invalid',
        message: expect.stringMatching(/'note.observation' has data its schema refuses/),
      });
      await expect(store.ledger.append([{ ...note(0), data: { text: 42 } }], NOW)).rejects.toMatchObject({ code: 'invalid' });
      expect((await store.ledger.head()).size).toBe(0);
    });

    it('refuses text that would not read back as it was hashed, in any field, and writes nothing', async () => {
      const bad = ['\ud800', 'a\udfffb', 'nul\u0000', '\ufffe', '\ufdd0', '\u{10ffff}'];
      for (const text of bad) {
        for (const entry of [
          { ...note(0), subject: text },
          { ...note(0), actor: { ...note(0).actor, id: text } },
          { ...note(0), actor: { ...note(0).actor, request: text } },
          { ...note(0), kind: `note.${text}` },
          { ...note(0), time: `2025-01-01T00:00:00.000Z${text}` },
          { ...note(0), data: { text } },
          { ...note(0), data: { [text]: 1 } },
          { ...note(0), data: [[{ deep: text }]] },
        ]) {
          await expect(store.ledger.append([note(1), entry], NOW), JSON.stringify(entry)).rejects.toMatchObject({ code: 'invalid' });
        }
      }
      expect((await store.ledger.head()).size).toBe(0);
      // What is allowed round-trips: astral characters, both normal forms, controls other than NUL.
      const ok = ['😀', 'e\u0301', '\u00e9', 'tab\there', '\u200f\u202e', '\\u0000 as text'];
      const written = await store.ledger.append(
        ok.map((text) => ({ ...note(0), subject: text, data: { text } })),
        NOW,
      );
      const read = await store.ledger.page({ limit: 10, order: 'asc' });
      expect(read.map((e) => entryLeafHash(e).toString('hex'))).toEqual(written.map((e) => entryLeafHash(e).toString('hex')));
      expect(read.map((e) => e.subject)).toEqual(ok);
    });

    it('commits an append with the change it records, or neither', async () => {
      await expect(
        store.transaction(async (tx) => {
          await tx.meta.putIfAbsent('k', 'v');
          await tx.ledger.append([note(0)], NOW);
          throw new Error('change failed after the append');
        }),
      ).rejects.toThrow('change failed');
      expect((await store.ledger.head()).size).toBe(0);
      expect(await store.meta.get('k')).toBeUndefined();
      expect(await store.ledger.page({ limit: 10, order: 'asc' })).toEqual([]);
    });

    it('appends onto the real head after its own append was rolled back and another writer moved on', async () => {
      // The head a store wrote last is only a guess at the next append (PostgreSQL hashes onto
      // it without reading first): here it is a rolled-back head, then one of the same size and
      // another root, then one behind.
      await expect(
        store.transaction(async (tx) => {
          await tx.ledger.append([note(0)], NOW);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      const other = fx.reopen ? await fx.reopen() : store;
      try {
        await other.ledger.append([note(1)], NOW);
        await store.ledger.append([note(2), note(3)], NOW);
        await other.ledger.append([note(4)], NOW);
        await store.ledger.append([note(5)], NOW);
      } finally {
        if (other !== store) await other.close();
      }
      const c = new CompactRange();
      const subjects: string[] = [];
      for await (const { entry, leaf } of store.ledger.scan(0, undefined)) {
        expect(entry.seq).toBe(subjects.length);
        expect(leaf?.equals(entryLeafHash(entry))).toBe(true);
        subjects.push(entry.subject);
        c.push(leaf!);
      }
      expect(subjects).toEqual(['s1', 's2', 's3', 's4', 's5']);
      const head = await store.ledger.head();
      expect(head.size).toBe(5);
      expect(head.root.equals(c.root())).toBe(true);
    });

    it('serializes concurrent appends into one tree', async () => {
      const other = fx.reopen ? await fx.reopen() : store;
      try {
        await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? other : store).ledger.append([note(i), note(i + 100)], NOW)));
      } finally {
        if (other !== store) await other.close();
      }
      const c = new CompactRange();
      let expected = 0;
      for await (const { entry, leaf } of store.ledger.scan(0, undefined, 7)) {
        expect(entry.seq).toBe(expected++);
        expect(leaf?.equals(entryLeafHash(entry))).toBe(true);
        c.push(leaf!);
      }
      expect(expected).toBe(60);
      expect((await store.ledger.head()).root.equals(c.root())).toBe(true);
    });

    it('pages entries both ways and by kind', async () => {
      await store.ledger.append(
        Array.from({ length: 10 }, (_, i) => ({ ...note(i), kind: i % 2 ? 'note.decision' : 'note.action' })),
        NOW,
      );
      expect((await store.ledger.page({ from: 3, limit: 3, order: 'asc' })).map((e) => e.seq)).toEqual([3, 4, 5]);
      expect((await store.ledger.page({ limit: 3, order: 'desc' })).map((e) => e.seq)).toEqual([9, 8, 7]);
      expect((await store.ledger.page({ from: 4, limit: 2, order: 'desc' })).map((e) => e.seq)).toEqual([4, 3]);
      expect((await store.ledger.page({ limit: 10, order: 'asc', kind: 'note.decision' })).map((e) => e.seq)).toEqual([1, 3, 5, 7, 9]);
    });

    it('serves every node an inclusion or consistency proof needs, in one lookup', async () => {
      const entries = await store.ledger.append(
        Array.from({ length: 77 }, (_, i) => note(i)),
        NOW,
      );
      const roots: Buffer[] = [];
      const c = new CompactRange();
      for (const e of entries) {
        c.push(entryLeafHash(e));
        roots[c.size] = c.root();
      }
      for (const [i, n] of [
        [0, 1],
        [5, 77],
        [76, 77],
        [31, 64],
        [40, 50],
      ] as const) {
        const ranges = inclusionRanges(i, n);
        const nodes = await store.ledger.nodes([...nodesForRanges(ranges), { level: 0, index: i }]);
        const proof = hashRanges(ranges, (x) => nodes.get(nodeKey(x)));
        expect(verifyInclusion(i, n, nodes.get(`0:${i}`)!, proof, roots[n]!)).toBeNull();
      }
      for (const [a, b] of [
        [1, 77],
        [32, 77],
        [50, 64],
        [7, 8],
      ] as const) {
        const ranges = consistencyRanges(a, b);
        const nodes = await store.ledger.nodes(nodesForRanges(ranges));
        expect(
          verifyConsistency(
            a,
            b,
            roots[a]!,
            roots[b]!,
            hashRanges(ranges, (x) => nodes.get(nodeKey(x))),
          ),
        ).toBeNull();
      }
      // Nodes past the head do not exist: a proof for a size beyond it cannot be made.
      const beyond = await store.ledger.nodes(frontierNodes(78));
      expect(beyond.size).toBeLessThan(frontierNodes(78).length);
    });

    it('keeps checkpoints and signing keys', async () => {
      await store.ledger.addKey({ keyId: 'k1', name: 'n', publicKey: 'AAAA', createdAt: NOW, retiredAt: null });
      await store.ledger.addKey({ keyId: 'k1', name: 'n', publicKey: 'AAAA', createdAt: NOW, retiredAt: null });
      await store.ledger.retireKey('k1', '2026-02-01T00:00:00.000Z');
      expect(await store.ledger.keys()).toEqual([
        { keyId: 'k1', name: 'n', publicKey: 'AAAA', createdAt: NOW, retiredAt: '2026-02-01T00:00:00.000Z' },
      ]);
      const root = Buffer.alloc(32, 7);
      expect(await store.ledger.latestCheckpoint()).toBeUndefined();
      await store.ledger.addCheckpoint({ size: 3, keyId: 'k1', root, time: NOW, note: 'n3' });
      await store.ledger.addCheckpoint({ size: 9, keyId: 'k1', root, time: NOW, note: 'n9' });
      await store.ledger.addCheckpoint({ size: 9, keyId: 'k1', root, time: NOW, note: 'duplicate ignored' });
      expect((await store.ledger.latestCheckpoint())?.note).toBe('n9');
      expect((await store.ledger.checkpoints()).map((c) => c.size)).toEqual([3, 9]);
    });

    it('keeps the first value of a meta key', async () => {
      expect(await store.meta.putIfAbsent('origin', 'a')).toBe('a');
      expect(await store.meta.putIfAbsent('origin', 'b')).toBe('a');
    });
  });
};
