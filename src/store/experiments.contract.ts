/**
 * The applied-experiment repository's part of the store contract (store.contract.ts calls it):
 * versions bumped atomically on re-apply, and a scheduled slot claimed by one caller only, on
 * SQLite and on a real PostgreSQL (there also by two stores at once).
 */
import { describe, expect, it } from 'vitest';
import type { StoreFixture } from './store.contract.ts';
import type { ExperimentInput, Store } from './store.ts';

const T0 = Date.UTC(2026, 3, 1, 12, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function experiment(name: string, over: Partial<ExperimentInput> = {}): ExperimentInput {
  return {
    name,
    title: 'SQL injection is blocked',
    description: 'the WAF blocks it — and says so ✓',
    techniques: ['T1190'],
    file: 'title: SQL injection is blocked\n',
    fileSha256: 'a'.repeat(64),
    schedule: { cron: '*/5 * * * *', jitterMs: 5000 },
    privileged: false,
    appliedBy: 'token:abc',
    ...over,
  };
}

export function experimentRepoContract(current: () => { store: Store; fx: StoreFixture }): void {
  describe('applied experiments', () => {
    it('keeps an experiment as applied and makes each re-apply the next version', async () => {
      const { store } = current();
      const first = await store.experiments.put(experiment('sqli'), at(0));
      expect(first).toEqual({ ...experiment('sqli'), version: 1, createdAt: at(0), updatedAt: at(0) });
      expect(await store.experiments.get('sqli')).toEqual(first);
      expect(await store.experiments.get('nope')).toBeUndefined();

      const changed = experiment('sqli', {
        title: 'changed',
        schedule: null,
        privileged: true,
        techniques: [],
        fileSha256: 'b'.repeat(64),
      });
      const second = await store.experiments.put(changed, at(10));
      expect(second).toEqual({ ...changed, version: 2, createdAt: at(0), updatedAt: at(10) });
      expect(await store.experiments.get('sqli')).toEqual(second);
    });

    it('lists by name, and lists only the scheduled ones for the scheduler', async () => {
      const { store } = current();
      await store.experiments.put(experiment('b-second'), at(0));
      await store.experiments.put(experiment('a-first', { schedule: null }), at(0));
      await store.experiments.put(experiment('c-third'), at(0));
      expect((await store.experiments.list()).map((e) => e.name)).toEqual(['a-first', 'b-second', 'c-third']);
      expect((await store.experiments.scheduled()).map((e) => e.name)).toEqual(['b-second', 'c-third']);
    });

    it('gives concurrent re-applies of one name distinct versions', async () => {
      const { store, fx } = current();
      await store.experiments.put(experiment('race'), at(0));
      const other = fx.reopen ? await fx.reopen() : store;
      try {
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).experiments.put(experiment('race'), at(i + 1))),
        );
        expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7]);
      } finally {
        if (other !== store) await other.close();
      }
    });

    it('claims a scheduled slot once, whoever asks and however often', async () => {
      const { store, fx } = current();
      const other = fx.reopen ? await fx.reopen() : store;
      try {
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).experiments.claimSlot('sqli', at(60), `replica-${i}`, at(61))),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
        // Another slot, or the same minute of another experiment, is a claim of its own.
        expect(await store.experiments.claimSlot('sqli', at(120), 'replica-0', at(121))).toBe(true);
        expect(await store.experiments.claimSlot('xss', at(60), 'replica-0', at(61))).toBe(true);
        expect(await other.experiments.claimSlot('xss', at(60), 'replica-1', at(61))).toBe(false);
      } finally {
        if (other !== store) await other.close();
      }
    });

    it('writes an experiment and the ledger entry that records it together, or neither', async () => {
      const { store } = current();
      await expect(
        store.transaction(async (tx) => {
          await tx.experiments.put(experiment('atomic'), at(0));
          throw new Error('the ledger append failed');
        }),
      ).rejects.toThrow('the ledger append failed');
      expect(await store.experiments.get('atomic')).toBeUndefined();
    });
  });
}
