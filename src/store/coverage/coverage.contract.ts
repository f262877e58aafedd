/** Coverage's repositories' part of the store contract (settings, imported runs), on SQLite and on a real PostgreSQL. */
import { describe, expect, it } from 'vitest';
import type { StoreFixture } from '../store.contract.ts';
import type { Store } from '../store.ts';
import type { ExternalRunRecord } from './port.ts';

const external = (id: string, startedAt: string, extra: Partial<ExternalRunRecord> = {}): ExternalRunRecord => ({
  id,
  format: 'attire',
  executionId: 'exec-1',
  source: 'Invoke-Atomicredteam',
  procedure: 'Regsvr32 remote COM scriptlet execution ✓',
  procedureId: 'c9d0c4ef-8a96-4794-a75b-3d3a5e6f2a36',
  technique: 'T1218.010',
  target: { host: 'WINDEV2009EVAL', ip: '192.168.204.129', user: null },
  startedAt,
  endedAt: startedAt,
  outcome: 'detected',
  ttdMs: 4200,
  signalId: 'sig_0123',
  importedAt: '2026-04-01T12:00:00.000Z',
  importedBy: 'token:abc',
  ...extra,
});

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

  describe('coverage external runs', () => {
    it('keeps imported runs, oldest first, and skips an id already stored (a second import of the same log)', async () => {
      const { store } = current();
      const a = external('xaaaaaaaaaaaaaaa', '2026-04-01T10:00:00.000Z');
      const b = external('xbbbbbbbbbbbbbbb', '2026-04-01T09:00:00.000Z', {
        outcome: 'missed',
        ttdMs: null,
        signalId: null,
        procedureId: null,
      });
      expect(await store.coverageExternalRuns.insertMany([a, b, a])).toEqual([true, true, false]);
      expect(await store.coverageExternalRuns.insertMany([{ ...a, outcome: 'missed' }])).toEqual([false]);
      expect(await store.coverageExternalRuns.list()).toEqual([b, a]);
    });

    it('stores them in the transaction it is given: rolled back, nothing is kept', async () => {
      const { store } = current();
      await expect(
        store.transaction(async (tx) => {
          await tx.coverageExternalRuns.insertMany([external('xcccccccccccccccc', '2026-04-01T10:00:00.000Z')]);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.coverageExternalRuns.list()).toEqual([]);
    });
  });
}
