/** The coverage settings repository's part of the store contract, on SQLite and on a real PostgreSQL. */
import { describe, expect, it } from 'vitest';
import type { StoreFixture } from '../store.contract.ts';
import type { Store } from '../store.ts';

export function coverageSettingsContract(current: () => { store: Store; fx: StoreFixture }): void {
  describe('coverage settings', () => {
    it('has none until stored, then keeps each change as the next version', async () => {
      const { store } = current();
      expect(await store.coverageSettings.get()).toBeUndefined();
      const doc = { scope: { tactics: ['initial-access'], techniques: ['T1190'] }, profiles: { shop: ['T1110.001'] }, note: 'ünïcode ✓' };
      const first = await store.coverageSettings.put(doc, 'token:abc', '2026-04-01T12:00:00.000Z');
      expect(first).toEqual({ settings: doc, version: 1, updatedAt: '2026-04-01T12:00:00.000Z', updatedBy: 'token:abc' });
      expect(await store.coverageSettings.get()).toEqual(first);
      const second = await store.coverageSettings.put({ scope: {} }, 'token:def', '2026-04-01T13:00:00.000Z');
      expect(second).toEqual({ settings: { scope: {} }, version: 2, updatedAt: '2026-04-01T13:00:00.000Z', updatedBy: 'token:def' });
    });

    it('gives concurrent writers distinct versions', async () => {
      const { store } = current();
      const all = await Promise.all([1, 2, 3, 4].map((i) => store.coverageSettings.put({ i }, `token:${i}`, '2026-04-01T12:00:00.000Z')));
      expect(all.map((r) => r.version).sort()).toEqual([1, 2, 3, 4]);
      expect((await store.coverageSettings.get())!.version).toBe(4);
    });

    it('stores them in the transaction it is given: rolled back, nothing is kept', async () => {
      const { store } = current();
      await expect(
        store.transaction(async (tx) => {
          await tx.coverageSettings.put({ a: 1 }, 'token:x', '2026-04-01T12:00:00.000Z');
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.coverageSettings.get()).toBeUndefined();
    });
  });
}
