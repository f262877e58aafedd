/**
 * The playbook repository's part of the store contract, on SQLite and on a real PostgreSQL:
 * versions kept, one run per trigger key, leases claimed by one claimer at a time (concurrent
 * claimers on two connections get disjoint runs), compare-and-set on runs, steps and promotions,
 * the toil aggregate, and writes undone with their transaction.
 */
import { describe, expect, it } from 'vitest';
import type { StoreFixture } from '../store.contract.ts';
import type { Store } from '../store.ts';
import type { PlaybookRunRecord, StepExecutionRecord } from './port.ts';

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

const run = (id: string, over: Partial<PlaybookRunRecord> = {}): PlaybookRunRecord => ({
  id,
  playbook: 'pb',
  version: 1,
  state: 'running',
  inputs: { ip: '10.0.0.1', n: 2 },
  trigger: null,
  triggerKey: null,
  cursor: 0,
  wakeAt: null,
  leaseOwner: null,
  leaseUntil: null,
  startedBy: 'cli:alice',
  startedById: 'alice',
  createdAt: at(0),
  updatedAt: at(0),
  finishedAt: null,
  reason: null,
  ...over,
});

const step = (runId: string, idx: number, over: Partial<StepExecutionRecord> = {}): StepExecutionRecord => ({
  runId,
  idx,
  stepId: `s${idx}`,
  kind: 'http',
  mode: 'manual',
  state: 'pending',
  attempts: 0,
  outputs: null,
  error: null,
  idempotencyKey: null,
  assignee: null,
  startedAt: null,
  finishedAt: null,
  notes: null,
  timeSpentMs: null,
  doneBy: null,
  doneById: null,
  updatedAt: at(0),
  ...over,
});

export function playbookRepoContract(current: () => { store: Store; fx: StoreFixture }): void {
  describe('playbooks', () => {
    it('keeps every applied version; the current row is the latest', async () => {
      const { store } = current();
      const v1 = await store.transaction((tx) =>
        tx.playbooks.putVersion({ name: 'p', title: 'P', file: 'a: 1\n', fileSha256: 'a'.repeat(64), appliedBy: 'x' }, at(0)),
      );
      const v2 = await store.transaction((tx) =>
        tx.playbooks.putVersion(
          { name: 'p', title: 'P ✓', file: 'a: 2\n', fileSha256: 'b'.repeat(64), appliedBy: 'y', appliedById: 'yan' },
          at(1),
        ),
      );
      expect([v1.version, v2.version]).toEqual([1, 2]);
      expect(await store.playbooks.get('p')).toMatchObject({
        version: 2,
        title: 'P ✓',
        file: 'a: 2\n',
        createdAt: at(0),
        updatedAt: at(1),
        appliedById: 'yan',
      });
      expect((await store.playbooks.versions('p')).map((v) => [v.version, v.file])).toEqual([
        [2, 'a: 2\n'],
        [1, 'a: 1\n'],
      ]);
      expect(await store.playbooks.getVersion('p', 1)).toMatchObject({ fileSha256: 'a'.repeat(64), appliedBy: 'x', appliedById: null });
      expect(await store.playbooks.getVersion('p', 2)).toMatchObject({ appliedBy: 'y', appliedById: 'yan' });
      expect(await store.playbooks.get('nope')).toBeUndefined();
    });

    it('starts one run per trigger key, with its steps, and reads them back', async () => {
      const { store } = current();
      expect(
        await store.playbooks.createRun(run('r1', { triggerKey: 'sig_1', trigger: { id: 'sig_1' } }), [step('r1', 0), step('r1', 1)]),
      ).toBe(true);
      expect(await store.playbooks.createRun(run('r2', { triggerKey: 'sig_1' }), [step('r2', 0)])).toBe(false);
      expect(await store.playbooks.getRun('r2')).toBeUndefined();
      expect(await store.playbooks.getRun('r1')).toEqual(run('r1', { triggerKey: 'sig_1', trigger: { id: 'sig_1' } }));
      expect((await store.playbooks.steps('r1')).map((s) => s.stepId)).toEqual(['s0', 's1']);
      // Runs without a trigger key are never one another's duplicate.
      expect(await store.playbooks.createRun(run('r3'), [])).toBe(true);
      expect(await store.playbooks.createRun(run('r4'), [])).toBe(true);
    });

    it('claims due, unleased running runs once; a lease that ended can be claimed again', async () => {
      const { store } = current();
      await store.playbooks.createRun(run('due'), []);
      await store.playbooks.createRun(run('later', { wakeAt: at(100) }), []);
      await store.playbooks.createRun(run('waiting', { state: 'waiting' }), []);
      const first = await store.playbooks.claimDue('A', at(1), at(31), 10);
      expect(first.map((r) => r.id)).toEqual(['due']);
      expect(first[0]).toMatchObject({ leaseOwner: 'A', leaseUntil: at(31) });
      expect(await store.playbooks.claimDue('B', at(2), at(32), 10)).toEqual([]);
      expect((await store.playbooks.claimDue('B', at(40), at(70), 10)).map((r) => r.id)).toEqual(['due']);
      expect((await store.playbooks.claimDue('C', at(101), at(131), 10)).map((r) => r.id).sort()).toEqual(['due', 'later']);
      expect(await store.playbooks.nextWake()).toBe(at(100));
    });

    it('gives concurrent claimers on two connections disjoint runs', async () => {
      const { store, fx } = current();
      for (let i = 0; i < 20; i++) await store.playbooks.createRun(run(`c${String(i).padStart(2, '0')}`), []);
      const other = fx.reopen ? await fx.reopen() : store;
      try {
        const got = await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).playbooks.claimDue(`o${i}`, at(1), at(60), 4)),
        );
        const ids = got.flat().map((r) => r.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.length).toBe(20);
      } finally {
        if (other !== store) await other.close();
      }
    });

    it('changes a run only while the owner holds its lease, or from the states named', async () => {
      const { store } = current();
      await store.playbooks.createRun(run('u'), []);
      await store.playbooks.claimDue('A', at(1), at(31), 1);
      expect(await store.playbooks.updateRun('u', { cursor: 1 }, { owner: 'B' })).toBe(false);
      expect(await store.playbooks.updateRun('u', { cursor: 1, wakeAt: at(5) }, { owner: 'A' })).toBe(true);
      expect(await store.playbooks.updateRun('u', { state: 'paused' }, { from: ['waiting'] })).toBe(false);
      expect(
        await store.playbooks.updateRun('u', { state: 'paused', leaseOwner: null, leaseUntil: null }, { from: ['running', 'waiting'] }),
      ).toBe(true);
      expect(await store.playbooks.getRun('u')).toMatchObject({ state: 'paused', cursor: 1, wakeAt: at(5), leaseOwner: null });
      expect((await store.playbooks.listRuns({ playbook: 'pb', state: 'paused', limit: 10 })).map((r) => r.id)).toEqual(['u']);
    });

    it("keeps a cancel committed by another transaction: the engine's conditional update changes nothing", async () => {
      const { store, fx } = current();
      await store.playbooks.createRun(run('race'), []);
      await store.playbooks.claimDue('A', at(1), at(31), 1);
      const engineWrite = (s: Store) =>
        s.transaction(async (tx) =>
          tx.playbooks.updateRun(
            'race',
            { state: 'failed', finishedAt: at(3), reason: 'late' },
            { owner: 'A', from: ['running', 'waiting', 'paused'] },
          ),
        );
      const other = fx.reopen ? await fx.reopen() : undefined;
      try {
        if (other) {
          // PostgreSQL: the cancel holds the row while the engine's update waits for it, then sees the committed cancel.
          let commit!: () => void;
          const held = new Promise<void>((r) => (commit = r));
          let updated!: () => void;
          const cancelled = new Promise<void>((r) => (updated = r));
          const cancel = store.transaction(async (tx) => {
            await tx.playbooks.updateRun('race', { state: 'cancelled', finishedAt: at(2), reason: 'by a person' });
            updated();
            await held;
          });
          await cancelled;
          const late = engineWrite(other);
          await new Promise((r) => setTimeout(r, 30)); // let the engine's update reach the locked row
          commit();
          await cancel;
          expect(await late).toBe(false);
        } else {
          await store.playbooks.updateRun('race', { state: 'cancelled', finishedAt: at(2), reason: 'by a person' });
          expect(await engineWrite(store)).toBe(false);
        }
        expect(await store.playbooks.getRun('race')).toMatchObject({ state: 'cancelled', reason: 'by a person' });
        // A lease taken by another engine after this one's ended: this one's conditional update changes nothing.
        await store.playbooks.createRun(run('stolen'), []);
        await store.playbooks.claimDue('A', at(1), at(31), 5);
        expect((await store.playbooks.claimDue('B', at(40), at(70), 5)).map((r) => r.id)).toContain('stolen');
        expect(await store.playbooks.updateRun('stolen', { cursor: 3 }, { owner: 'A', from: ['running'] })).toBe(false);
        expect(await store.playbooks.getRun('stolen')).toMatchObject({ cursor: 0, leaseOwner: 'B' });
      } finally {
        await other?.close();
      }
    });

    it('changes a step by compare and set; lists the steps waiting for a person; sums the toil', async () => {
      const { store } = current();
      await store.playbooks.createRun(run('t1', { state: 'waiting' }), [step('t1', 0, { state: 'waiting', assignee: 'bob' })]);
      await store.playbooks.createRun(run('t2'), [step('t2', 0)]);
      expect((await store.playbooks.waitingSteps(10)).map((s) => [s.runId, s.playbook, s.assignee])).toEqual([['t1', 'pb', 'bob']]);
      const done = {
        state: 'done' as const,
        notes: 'blocked by hand ✓',
        timeSpentMs: 90_000,
        doneBy: 'cli:bob',
        doneById: 'bob',
        finishedAt: at(9),
        outputs: { outcome: 'done' },
      };
      expect(await store.playbooks.updateStep('t1', 0, done, ['waiting'])).toBe(true);
      expect(await store.playbooks.updateStep('t1', 0, done, ['waiting'])).toBe(false);
      expect(await store.playbooks.getStep('t1', 0)).toMatchObject({ ...done, attempts: 0 });
      await store.playbooks.updateStep('t2', 0, { ...done, state: 'failed', timeSpentMs: 30_000, finishedAt: at(10) });
      expect(await store.playbooks.toil()).toEqual([
        { playbook: 'pb', stepId: 's0', mode: 'manual', done: 1, failed: 1, timeSpentMs: 120_000, lastAt: at(10) },
      ]);
      expect(await store.playbooks.toil('other')).toEqual([]);
    });

    it('lists the wait steps under way in running or paused runs, oldest first', async () => {
      const { store } = current();
      const wait = (startedAt: string) => ({ kind: 'wait', mode: 'auto' as const, state: 'running' as const, startedAt });
      await store.playbooks.createRun(run('w1'), [step('w1', 0, { state: 'done' }), step('w1', 1, wait(at(5)))]);
      await store.playbooks.createRun(run('w2', { state: 'paused' }), [step('w2', 0, wait(at(2)))]);
      await store.playbooks.createRun(run('w3', { state: 'failed' }), [step('w3', 0, wait(at(1)))]);
      await store.playbooks.createRun(run('w4'), [step('w4', 0, { ...wait(at(1)), state: 'done' })]);
      await store.playbooks.createRun(run('w5'), [step('w5', 0, { ...wait(at(1)), kind: 'http' })]);
      expect((await store.playbooks.runningWaits(10)).map((s) => [s.runId, s.idx, s.playbook, s.version])).toEqual([
        ['w2', 0, 'pb', 1],
        ['w1', 1, 'pb', 1],
      ]);
      expect(await store.playbooks.runningWaits(1)).toHaveLength(1);
      // Pages by keyset: after the last one of a page, the next; ties on the start broken by run and index.
      await store.playbooks.createRun(run('w6'), [step('w6', 0, wait(at(2))), step('w6', 1, wait(at(2)))]);
      const seen: string[] = [];
      let after: { startedAt: string; runId: string; idx: number } | undefined;
      for (let page = 0; page < 10; page++) {
        const got = await store.playbooks.runningWaits(1, after);
        if (got.length === 0) break;
        const w = got[0]!;
        seen.push(`${w.runId}.${w.idx}`);
        after = { startedAt: w.startedAt!, runId: w.runId, idx: w.idx };
      }
      expect(seen).toEqual(['w2.0', 'w6.0', 'w6.1', 'w1.1']);
    });

    it('lets applies with calls take turns: a second lockCalls waits for the first transaction to end', async () => {
      const { store } = current();
      const order: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const first = store.transaction(async (tx) => {
        await tx.playbooks.lockCalls();
        order.push('first locked');
        await held;
        await tx.playbooks.putVersion({ name: 'a', title: 'A', file: 'a\n', fileSha256: 'c'.repeat(64), appliedBy: 'x' }, at(0));
        order.push('first ends');
      });
      while (order.length === 0) await new Promise((r) => setImmediate(r));
      const second = store.transaction(async (tx) => {
        await tx.playbooks.lockCalls();
        order.push(`second locked, sees ${(await tx.playbooks.list()).length}`);
      });
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      release();
      await Promise.all([first, second]);
      expect(order).toEqual(['first locked', 'first ends', 'second locked, sees 1']);
    });

    it('decides a promotion once', async () => {
      const { store } = current();
      const p = {
        id: 'pr1',
        playbook: 'pb',
        stepId: 's0',
        fromVersion: 1,
        fromMode: 'manual' as const,
        state: 'pending' as const,
        requestedBy: 'cli:alice',
        requestedById: 'alice',
        requestedAt: at(0),
        decidedBy: null,
        decidedAt: null,
        newVersion: null,
      };
      await store.playbooks.createPromotion(p);
      const d = { state: 'approved' as const, decidedBy: 'cli:bob', decidedAt: at(1), newVersion: 2 };
      const both = await Promise.all([
        store.playbooks.decidePromotion('pr1', d),
        store.playbooks.decidePromotion('pr1', { ...d, state: 'rejected' }),
      ]);
      expect(both.filter(Boolean)).toHaveLength(1);
      expect((await store.playbooks.listPromotions('pb'))[0]).toMatchObject({ id: 'pr1', decidedBy: 'cli:bob' });
    });

    it('writes a run and the ledger entry that records it together, or neither', async () => {
      const { store } = current();
      await expect(
        store.transaction(async (tx) => {
          await tx.playbooks.createRun(run('atomic'), [step('atomic', 0)]);
          throw new Error('the ledger append failed');
        }),
      ).rejects.toThrow('the ledger append failed');
      expect(await store.playbooks.getRun('atomic')).toBeUndefined();
      expect(await store.playbooks.steps('atomic')).toEqual([]);
    });
  });
}
