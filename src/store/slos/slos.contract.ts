/**
 * The SLO repository's part of the store contract: versions on re-apply (concurrent ones
 * distinct), tombstones that keep the version count, the policy state's compare and set, and the
 * write undone with its transaction, on SQLite and on a real PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import type { StoreFixture } from '../store.contract.ts';
import type { Store } from '../store.ts';
import type { SloInput } from './port.ts';

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

const slo = (name: string, over: Partial<SloInput> = {}): SloInput => ({
  name,
  displayName: 'SQL injection is detected — in time ✓',
  service: 'shop',
  format: 'bulwark/v1',
  file: 'apiVersion: bulwark/v1\n',
  fileSha256: 'a'.repeat(64),
  appliedBy: 'token:abc',
  ...over,
});

export function sloRepoContract(current: () => { store: Store; fx: StoreFixture }): void {
  describe('applied SLOs', () => {
    it('keeps an SLO as applied, each re-apply the next version, and lists by name', async () => {
      const { store } = current();
      const first = await store.slos.put(slo('b'), at(0));
      expect(first).toEqual({ ...slo('b'), version: 1, createdAt: at(0), updatedAt: at(0), policyState: null });
      const second = await store.slos.put(slo('b', { fileSha256: 'b'.repeat(64), format: 'openslo/v1' }), at(5));
      expect(second).toMatchObject({ version: 2, createdAt: at(0), updatedAt: at(5), format: 'openslo/v1' });
      await store.slos.put(slo('a'), at(6));
      expect((await store.slos.list()).map((s) => s.name)).toEqual(['a', 'b']);
      expect(await store.slos.get('nope')).toBeUndefined();
    });

    it('gives concurrent re-applies of one name distinct versions', async () => {
      const { store, fx } = current();
      await store.slos.put(slo('race'), at(0));
      const other = fx.reopen ? await fx.reopen() : store;
      try {
        const r = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).slos.put(slo('race'), at(i + 1))));
        expect(r.map((x) => x.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7]);
      } finally {
        if (other !== store) await other.close();
      }
    });

    it('deletes to a tombstone without the file; a re-apply continues the versions', async () => {
      const { store } = current();
      await store.slos.put(slo('gone'), at(0));
      const d = await store.slos.delete('gone', 'token:x', at(1));
      expect(d).toMatchObject({ name: 'gone', version: 1, deletedAt: at(1), deletedBy: 'token:x' });
      expect(d).not.toHaveProperty('file');
      expect(await store.slos.get('gone')).toBeUndefined();
      expect(await store.slos.delete('gone', 'token:x', at(2))).toBeUndefined();
      expect(await store.slos.put(slo('gone'), at(3))).toMatchObject({ version: 2, createdAt: at(3) });
    });

    it('records a policy state once per change, for the current version only', async () => {
      const { store } = current();
      const s = await store.slos.put(slo('policy'), at(0));
      expect(await store.slos.setPolicyState('policy', s.version, 'ok')).toEqual({ from: null });
      expect(await store.slos.setPolicyState('policy', s.version, 'ok')).toBeUndefined();
      expect(await store.slos.setPolicyState('policy', s.version, 'freeze')).toEqual({ from: 'ok' });
      expect(await store.slos.setPolicyState('policy', s.version + 1, 'ok')).toBeUndefined();
      expect((await store.slos.get('policy'))!.policyState).toBe('freeze');
      // A new version starts over.
      const next = await store.slos.put(slo('policy', { fileSha256: 'c'.repeat(64) }), at(1));
      expect(next.policyState).toBeNull();
    });

    it('writes an SLO and the ledger entry that records it together, or neither', async () => {
      const { store } = current();
      await expect(
        store.transaction(async (tx) => {
          await tx.slos.put(slo('atomic'), at(0));
          throw new Error('the ledger append failed');
        }),
      ).rejects.toThrow('the ledger append failed');
      expect(await store.slos.get('atomic')).toBeUndefined();
    });
  });

  describe('announced alert states', () => {
    it('records a change of an alert once (compare and set), and nothing when it is already so', async () => {
      const { store } = current();
      expect(await store.slos.setAlertState('s', 'page', false, at(0))).toEqual({ since: null });
      expect(await store.slos.setAlertState('s', 'page', false, at(1))).toBeUndefined();
      expect(await store.slos.setAlertState('s', 'page', true, at(2))).toEqual({ since: at(0) });
      expect(await store.slos.setAlertState('s', 'page', true, at(3))).toBeUndefined();
      expect(await store.slos.setAlertState('s', 'ticket', true, at(3))).toEqual({ since: null });
      const both = await Promise.all([
        store.slos.setAlertState('s', 'page', false, at(4)),
        store.slos.setAlertState('s', 'page', false, at(4)),
      ]);
      expect(both.filter((r) => r !== undefined)).toEqual([{ since: at(2) }]);
    });
  });

  describe('announced KRI colours', () => {
    it('records a change of colour once (compare and set), and nothing when it is already so', async () => {
      const { store } = current();
      expect(await store.slos.setKriColour('missed-detections-30d', 'green', at(0))).toEqual({ from: null, since: null });
      expect(await store.slos.setKriColour('missed-detections-30d', 'green', at(1))).toBeUndefined();
      expect(await store.slos.setKriColour('missed-detections-30d', 'red', at(2))).toEqual({ from: 'green', since: at(0) });
      const both = await Promise.all([
        store.slos.setKriColour('missed-detections-30d', 'amber', at(3)),
        store.slos.setKriColour('missed-detections-30d', 'amber', at(3)),
      ]);
      expect(both.filter((r) => r !== undefined)).toEqual([{ from: 'red', since: at(2) }]);
    });
  });
}
