/**
 * The per-target slots' part of the store contract (store.contract.ts calls it), on SQLite and
 * on a real PostgreSQL: the limit holds when two store handles take slots at once, slots of a
 * run that is done or whose lease expired are free, release frees.
 */
import { describe, expect, it } from 'vitest';
import type { StoreFixture } from '../store.contract.ts';
import type { Store } from '../store.ts';
import type { RunRecord } from './port.ts';

const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function run(id: string, opts: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    experiment: 'limit',
    state: 'running',
    outcome: null,
    reason: null,
    startedAt: at(0),
    endedAt: null,
    leaseOwner: 'host:1:aaaa',
    leaseUntil: at(30),
    rollbacks: [],
    journal: {},
    ttdMs: null,
    dryRun: false,
    ...opts,
  };
}

const HOST = 'host:127.0.0.1';
const FILE = 'file:/srv/shop/config.yaml';

export function slotRepoContract(current: () => { store: Store; fx: StoreFixture }): void {
  describe('per-target slots', () => {
    it('holds at most the limit per key, all keys or none', async () => {
      const { store } = current();
      for (const id of ['slota00000000001', 'slota00000000002', 'slota00000000003']) await store.runs.insert(run(id));
      const want = [
        { key: HOST, limit: 2 },
        { key: FILE, limit: 1 },
      ];
      expect(await store.slots.take('slota00000000001', [{ key: HOST, limit: 2 }], at(1), at(11))).toBe(true);
      expect(await store.slots.take('slota00000000002', want, at(1), at(11))).toBe(true);
      // The host has room for none more, the file neither: nothing of this run is taken.
      expect(await store.slots.take('slota00000000003', want, at(1), at(11))).toBe(false);
      expect(await store.slots.held(HOST, at(1))).toBe(2);
      expect(await store.slots.held(FILE, at(1))).toBe(1);
      expect(await store.slots.take('slota00000000003', [{ key: 'host:other', limit: 2 }, ...want], at(1), at(11))).toBe(false);
      expect(await store.slots.held('host:other', at(1))).toBe(0);
      // Taking again what a run holds is not counted twice.
      expect(await store.slots.take('slota00000000002', want, at(1), at(11))).toBe(true);
      expect(await store.slots.held(HOST, at(1))).toBe(2);
    });

    it('frees the slots of a released run, a done run and a run whose lease expired', async () => {
      const { store } = current();
      const one = [{ key: HOST, limit: 1 }];
      await store.runs.insert(run('slotb00000000001'));
      await store.runs.insert(run('slotb00000000002'));
      expect(await store.slots.take('slotb00000000001', one, at(1), at(11))).toBe(true);
      expect(await store.slots.take('slotb00000000002', one, at(1), at(11))).toBe(false);
      await store.slots.release('slotb00000000001', [HOST, 'host:not-held']);
      expect(await store.slots.held(HOST, at(1))).toBe(0);
      expect(await store.slots.take('slotb00000000002', one, at(1), at(11))).toBe(true);

      // Done (not released: its process went away after the last write): free.
      expect(await store.runs.update('slotb00000000002', 'host:1:aaaa', { state: 'done', leaseUntil: null })).toBe(true);
      expect(await store.slots.held(HOST, at(1))).toBe(0);
      await store.runs.insert(run('slotb00000000003', { leaseUntil: at(20) }));
      expect(await store.slots.take('slotb00000000003', one, at(1), at(11))).toBe(true);

      // Its process died: the lease (until 20 s) is not renewed, and the slot is free after it.
      await store.runs.insert(run('slotb00000000004', { leaseUntil: at(60) }));
      expect(await store.slots.take('slotb00000000004', one, at(19), at(29))).toBe(false);
      expect(await store.slots.held(HOST, at(21))).toBe(0);
      expect(await store.slots.take('slotb00000000004', one, at(21), at(31))).toBe(true);
    });

    it('counts a slot taken before its run is stored until its own time, then the run decides', async () => {
      const { store } = current();
      const one = [{ key: FILE, limit: 1 }];
      expect(await store.slots.take('slotc00000000001', one, at(0), at(10))).toBe(true);
      expect(await store.slots.take('slotc00000000002', one, at(5), at(15))).toBe(false);
      // The run never came (its process died before storing it): free after its time.
      expect(await store.slots.take('slotc00000000002', one, at(11), at(21))).toBe(true);
      // Stored with a lease: the run's lease counts, not the slot's time.
      await store.runs.insert(run('slotc00000000002', { leaseUntil: at(100) }));
      expect(await store.slots.held(FILE, at(50))).toBe(1);
      expect(await store.slots.take('slotc00000000003', one, at(50), at(60))).toBe(false);
    });

    it('holds the limit when two store handles take slots at once', async () => {
      const { store, fx } = current();
      const other = fx.reopen ? await fx.reopen() : store;
      try {
        const ids = Array.from({ length: 12 }, (_, i) => `slotd${String(i).padStart(11, '0')}`);
        for (const id of ids) await store.runs.insert(run(id));
        const want = (i: number) => [{ key: HOST, limit: 3 }, ...(i % 2 ? [{ key: FILE, limit: 1 }] : [])];
        const got = await Promise.all(ids.map((id, i) => (i % 2 ? other : store).slots.take(id, want(i), at(1), at(11))));
        const winners = ids.filter((_, i) => got[i]);
        expect(winners).toHaveLength(3);
        expect(ids.filter((_, i) => got[i] && i % 2).length).toBeLessThanOrEqual(1);
        expect(await store.slots.held(HOST, at(1))).toBe(3);
        expect(await other.slots.held(FILE, at(1))).toBe(ids.filter((_, i) => got[i] && i % 2).length);
      } finally {
        if (other !== store) await other.close();
      }
    });
  });
}
