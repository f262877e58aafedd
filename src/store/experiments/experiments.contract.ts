/**
 * The applied-experiment repository's part of the store contract (store.contract.ts calls it):
 * versions bumped atomically on re-apply, a scheduled occurrence claimed by one caller only, and
 * deletion (a tombstone: gone from every read, its runs kept, a re-apply continuing its
 * versions, one of two concurrent deletes winning), on SQLite and on a real PostgreSQL (there
 * also by two stores at once).
 */
import { describe, expect, it } from 'vitest';
import type { StoreFixture } from '../store.contract.ts';
import type { Store } from '../store.ts';
import type { ExperimentInput } from './port.ts';

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

    it('claims a scheduled occurrence once, whoever asks and however often', async () => {
      const { store, fx } = current();
      const other = fx.reopen ? await fx.reopen() : store;
      try {
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).experiments.claimOccurrence('sqli', at(60), `replica-${i}`, at(61))),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
        // Another slot, or the same minute of another experiment, is a claim of its own.
        expect(await store.experiments.claimOccurrence('sqli', at(120), 'replica-0', at(121))).toBe(true);
        expect(await store.experiments.claimOccurrence('xss', at(60), 'replica-0', at(61))).toBe(true);
        expect(await other.experiments.claimOccurrence('xss', at(60), 'replica-1', at(61))).toBe(false);
      } finally {
        if (other !== store) await other.close();
      }
    });

    it('deletes an experiment: gone from get, list and scheduled, its runs kept, and a re-apply continues its versions', async () => {
      const { store } = current();
      await store.experiments.put(experiment('gone'), at(0));
      const v2 = await store.experiments.put(experiment('gone', { fileSha256: 'b'.repeat(64) }), at(10));
      await store.experiments.put(experiment('kept'), at(0));
      const run = {
        id: 'goneexperiment01',
        experiment: 'gone',
        state: 'done' as const,
        outcome: 'prevented',
        reason: 'blocked',
        startedAt: at(20),
        endedAt: at(21),
        leaseOwner: null,
        leaseUntil: null,
        rollbacks: [],
        journal: { status: 'completed', bulwark: { runId: 'goneexperiment01' } },
        ttdMs: 40,
        dryRun: false,
      };
      await store.runs.insert(run);

      const deleted = await store.experiments.delete('gone', 'token:abc', at(30));
      // What the tombstone keeps: all but the file, which may hold inline secrets.
      expect(deleted).toEqual({ ...v2, file: undefined, deletedAt: at(30), deletedBy: 'token:abc' });
      expect(deleted).not.toHaveProperty('file');
      expect(await store.experiments.get('gone')).toBeUndefined();
      expect((await store.experiments.list()).map((e) => e.name)).toEqual(['kept']);
      expect((await store.experiments.scheduled()).map((e) => e.name)).toEqual(['kept']);
      // Deleted already, or never there: nothing to delete.
      expect(await store.experiments.delete('gone', 'token:abc', at(31))).toBeUndefined();
      expect(await store.experiments.delete('never', 'token:abc', at(31))).toBeUndefined();
      // The runs are evidence: they stay, by id and in the experiment's history.
      expect(await store.runs.get(run.id)).toEqual(run);
      expect((await store.runs.list({ experiment: 'gone', limit: 10 })).runs.map((r) => r.id)).toEqual([run.id]);

      // The name again: a new experiment (created now) whose version follows the deleted one's.
      const again = await store.experiments.put(experiment('gone', { schedule: null }), at(40));
      expect(again).toEqual({ ...experiment('gone', { schedule: null }), version: 3, createdAt: at(40), updatedAt: at(40) });
      expect(await store.experiments.get('gone')).toEqual(again);
      expect((await store.experiments.list()).map((e) => e.name)).toEqual(['gone', 'kept']);
      expect((await store.experiments.scheduled()).map((e) => e.name)).toEqual(['kept']);
      const next = await store.experiments.put(experiment('gone', { fileSha256: 'c'.repeat(64) }), at(50));
      expect(next).toMatchObject({ version: 4, createdAt: at(40), updatedAt: at(50) });
    });

    it('lets one of two concurrent deletes of a name win', async () => {
      const { store, fx } = current();
      await store.experiments.put(experiment('contested'), at(0));
      const other = fx.reopen ? await fx.reopen() : store;
      try {
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).experiments.delete('contested', `token:t${i}`, at(i + 1))),
        );
        expect(results.filter((r) => r !== undefined)).toHaveLength(1);
        expect(await other.experiments.get('contested')).toBeUndefined();
      } finally {
        if (other !== store) await other.close();
      }
    });

    it('undoes a delete whose transaction fails: the experiment is still there', async () => {
      const { store } = current();
      const stored = await store.experiments.put(experiment('survives'), at(0));
      await expect(
        store.transaction(async (tx) => {
          expect(await tx.experiments.delete('survives', 'token:abc', at(1))).toBeDefined();
          expect(await tx.experiments.get('survives')).toBeUndefined();
          throw new Error('the ledger append failed');
        }),
      ).rejects.toThrow('the ledger append failed');
      expect(await store.experiments.get('survives')).toEqual(stored);
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
