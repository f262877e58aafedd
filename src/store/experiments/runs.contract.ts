/**
 * The experiment-run repository's part of the store contract (store.contract.ts calls it), so
 * that the lease and the atomic claim are tested on SQLite and on a real PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import type { StoreFixture } from '../store.contract.ts';
import type { Store } from '../store.ts';
import type { RunCursor, RunRecord } from './port.ts';
import { systemActor } from '../../core/ledger/actor.ts';

const T0 = Date.UTC(2026, 3, 1, 12, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function run(id: string, opts: Partial<RunRecord> & { start?: number } = {}): RunRecord {
  const { start, ...rest } = opts;
  return {
    id,
    experiment: 'sqli is blocked',
    state: 'running',
    outcome: null,
    reason: null,
    startedAt: at(start ?? 0),
    endedAt: null,
    leaseOwner: 'host:1:aaaa',
    leaseUntil: at((start ?? 0) + 10),
    rollbacks: [
      { type: 'action', name: 'restore', provider: { type: 'file', operation: 'restore', path: '/tmp/x', backup: '/tmp/x.bak' } },
    ],
    journal: { status: 'running', run: [], bulwark: { runId: id, injections: [{ at: at(1), activity: 'inject' }] } },
    ttdMs: null,
    dryRun: false,
    ...rest,
  };
}

export function runRepoContract(current: () => { store: Store; fx: StoreFixture }): void {
  describe('experiment runs', () => {
    it('keeps a run as written, JSON columns included', async () => {
      const { store } = current();
      const r = run('aaaaaaaaaaaaaaa1', { ttdMs: 2 ** 40, dryRun: true, reason: 'détecté ✓' });
      await store.runs.insert(r);
      expect(await store.runs.get(r.id)).toEqual(r);
      expect(await store.runs.get('nope')).toBeUndefined();
      await expect(store.runs.insert(r)).rejects.toThrow();
    });

    it('lists newest first, filtered by experiment and state, in pages that neither skip nor repeat', async () => {
      const { store } = current();
      const all = Array.from({ length: 11 }, (_, i) =>
        run(`run${String(i).padStart(13, '0')}`, {
          start: Math.floor(i / 2),
          experiment: i % 3 === 0 ? 'other' : 'sqli is blocked',
          state: i % 4 === 0 ? 'done' : 'running',
        }),
      );
      for (const r of all) await store.runs.insert(r);
      const expected = [...all].sort((x, y) => (x.startedAt === y.startedAt ? (x.id < y.id ? 1 : -1) : x.startedAt < y.startedAt ? 1 : -1));
      const seen: string[] = [];
      let cursor: RunCursor | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await store.runs.list({ limit: 3, cursor });
        seen.push(...page.runs.map((r) => r.id));
        cursor = page.next;
        if (!cursor) break;
      }
      expect(seen).toEqual(expected.map((r) => r.id));
      const other = await store.runs.list({ limit: 100, experiment: 'other' });
      expect(other.runs.map((r) => r.id)).toEqual(expected.filter((r) => r.experiment === 'other').map((r) => r.id));
      const done = await store.runs.list({ limit: 100, state: 'done' });
      expect(done.runs.map((r) => r.id).sort()).toEqual(
        all
          .filter((r) => r.state === 'done')
          .map((r) => r.id)
          .sort(),
      );
      expect((await store.runs.unfinished()).map((r) => r.id)).toEqual(all.filter((r) => r.state !== 'done').map((r) => r.id));
    });

    it('changes a run only for the process holding its lease', async () => {
      const { store } = current();
      const r = run('bbbbbbbbbbbbbbb1');
      await store.runs.insert(r);
      expect(await store.runs.update(r.id, 'host:2:bbbb', { state: 'done', outcome: 'missed' })).toBe(false);
      expect((await store.runs.get(r.id))?.state).toBe('running');
      expect(
        await store.runs.update(r.id, r.leaseOwner!, {
          state: 'done',
          outcome: 'prevented',
          reason: 'blocked',
          endedAt: at(5),
          ttdMs: 120,
          journal: { status: 'completed' },
          leaseUntil: null,
        }),
      ).toBe(true);
      const got = await store.runs.get(r.id);
      expect(got).toEqual({
        ...r,
        state: 'done',
        outcome: 'prevented',
        reason: 'blocked',
        endedAt: at(5),
        ttdMs: 120,
        journal: { status: 'completed' },
        leaseUntil: null,
      });
      // A finished run has no lease to renew, even for its owner.
      expect(await store.runs.renewLease(r.id, r.leaseOwner!, at(100))).toBe(false);
    });

    it('renews a lease for its owner only', async () => {
      const { store } = current();
      const r = run('ccccccccccccccc1');
      await store.runs.insert(r);
      expect(await store.runs.renewLease(r.id, 'host:9:zzzz', at(50))).toBe(false);
      expect(await store.runs.renewLease(r.id, r.leaseOwner!, at(50))).toBe(true);
      expect((await store.runs.get(r.id))?.leaseUntil).toBe(at(50));
    });

    it('claims unfinished runs whose lease expired, once, and leaves live and finished runs alone', async () => {
      const { store } = current();
      await store.runs.insert(run('expired000000001', { leaseUntil: at(5) }));
      await store.runs.insert(run('expired000000002', { state: 'pending', leaseUntil: at(1), start: -1 }));
      await store.runs.insert(run('nolease000000003', { state: 'rolling-back', leaseOwner: null, leaseUntil: null, start: -2 }));
      await store.runs.insert(run('alive00000000004', { leaseUntil: at(30) }));
      await store.runs.insert(run('finished00000005', { state: 'done', outcome: 'missed', leaseUntil: at(1) }));
      const claimed = await store.runs.claimAbandoned('host:7:rec1', at(20), at(40));
      expect(claimed.map((r) => r.id)).toEqual(['nolease000000003', 'expired000000002', 'expired000000001']);
      for (const r of claimed) {
        expect(r).toMatchObject({ state: 'rolling-back', leaseOwner: 'host:7:rec1', leaseUntil: at(40) });
        expect(r.rollbacks).toEqual(run('x').rollbacks);
      }
      expect(await store.runs.claimAbandoned('host:8:rec2', at(21), at(41))).toEqual([]);
      // Only the ids asked for, and still only if abandoned.
      await store.runs.insert(run('expired000000006', { leaseUntil: at(5) }));
      await store.runs.insert(run('expired000000007', { leaseUntil: at(5) }));
      expect(await store.runs.claimAbandoned('host:8:rec2', at(21), at(41), [])).toEqual([]);
      const some = await store.runs.claimAbandoned('host:8:rec2', at(21), at(41), ['expired000000007', 'alive00000000004']);
      expect(some.map((r) => r.id)).toEqual(['expired000000007']);
      expect((await store.runs.get('expired000000006'))?.leaseOwner).toBe('host:1:aaaa');
      // The former owner, back from a pause, has lost the run.
      expect(await store.runs.renewLease('expired000000001', 'host:1:aaaa', at(60))).toBe(false);
      expect(await store.runs.update('expired000000001', 'host:1:aaaa', { state: 'done' })).toBe(false);
      expect((await store.runs.get('alive00000000004'))?.leaseOwner).toBe('host:1:aaaa');
      expect((await store.runs.get('finished00000005'))?.state).toBe('done');
    });

    it('takes a run from a dead owner only while that owner still holds it', async () => {
      const { store } = current();
      await store.runs.insert(run('deadowner0000001', { leaseOwner: 'host:4242:dead', leaseUntil: at(600) }));
      expect(await store.runs.claimFrom('deadowner0000001', 'host:1:other', 'host:7:rec', at(700))).toBeUndefined();
      const got = await store.runs.claimFrom('deadowner0000001', 'host:4242:dead', 'host:7:rec', at(700));
      expect(got).toMatchObject({ state: 'rolling-back', leaseOwner: 'host:7:rec', leaseUntil: at(700) });
      expect(await store.runs.claimFrom('deadowner0000001', 'host:4242:dead', 'host:8:rec', at(700))).toBeUndefined();
    });

    it('gives each abandoned run to exactly one of two concurrent claimers', async () => {
      const { store, fx } = current();
      const other = fx.reopen ? await fx.reopen() : store;
      try {
        const ids = Array.from({ length: 40 }, (_, i) => `race${String(i).padStart(12, '0')}`);
        for (const id of ids) await store.runs.insert(run(id, { leaseUntil: at(1) }));
        const rounds = await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).runs.claimAbandoned(`host:${i}:c`, at(10), at(100))),
        );
        const taken = rounds.flatMap((r) => r.map((x) => x.id));
        expect(taken.sort()).toEqual([...ids].sort());
        for (const id of ids) {
          const winner = rounds.findIndex((r) => r.some((x) => x.id === id));
          expect((await store.runs.get(id))?.leaseOwner).toBe(`host:${winner}:c`);
        }
      } finally {
        if (other !== store) await other.close();
      }
    });

    it('backs up and restores runs', async () => {
      const { store, fx } = current();
      const r = run('backedup00000001', { state: 'done', outcome: 'detected', ttdMs: 42 });
      await store.runs.insert(r);
      await store.ledger.append(
        [
          {
            actor: systemActor('test'),
            kind: 'run.finished',
            subject: `run:${r.id}`,
            data: {
              run: r.id,
              experiment: 'e',
              outcome: 'missed',
              reason: 'r',
              expectationsMet: false,
              ttdMs: null,
              injections: 1,
              detections: 0,
            },
          },
        ],
        at(2),
      );
      const rows: { table: string; row: Record<string, unknown> }[] = [];
      await store.dump((x) => {
        rows.push(x);
      });
      const target = await fx.fresh();
      try {
        async function* replay() {
          yield* rows;
        }
        await target.restore(replay());
        expect(await target.runs.get(r.id)).toEqual(r);
      } finally {
        await target.close();
      }
    });
  });
}
