/**
 * The scheduler on a real database: two scheduler instances (two replicas) on one database start
 * each occurrence once, whichever jitter falls first; an occurrence whose experiment still runs is skipped. On
 * PostgreSQL the two instances use two separate stores (connections), as replicas would.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../../../test/support/postgres.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { openPostgresStore } from '../../store/postgres/open-postgres.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Store } from '../../store/store.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import type { AppDeps, Clock } from '../deps.ts';
import { applyExperiment } from './apply-experiment.ts';
import { deleteExperiment } from './delete-experiment.ts';
import { EMPTY_SERVER_POLICY } from './server-policy.ts';
import { createScheduler } from './scheduler.ts';
import type { StartRun } from './run-manager.ts';
import { systemActor } from '../../core/ledger/actor.ts';

const file = (cron = '* * * * *') => `
title: Scheduled check
description: runs every minute
method:
  - type: probe
    name: look
    provider: { type: http, url: 'http://127.0.0.1:1/' }
schedule:
  cron: '${cron}'
  jitter: 10s
`;

class TestClock implements Clock {
  constructor(public ms: number) {}
  now() {
    return new Date(this.ms);
  }
  set(iso: string) {
    this.ms = Date.parse(iso);
  }
}

function recorder() {
  const started: StartRun[] = [];
  return {
    started,
    start: async (req: StartRun): Promise<RunRecord> => {
      started.push(req);
      return {
        id: `run${String(started.length).padStart(13, '0')}`,
        experiment: req.name,
        state: 'pending',
        outcome: null,
        reason: null,
        startedAt: new Date().toISOString(),
        endedAt: null,
        leaseOwner: null,
        leaseUntil: null,
        rollbacks: [],
        journal: {},
        ttdMs: null,
        dryRun: false,
      };
    },
  };
}

interface Fixture {
  a: Store;
  b: Store;
  cleanup(): Promise<void>;
}

const fixtures: Record<string, () => Promise<Fixture>> = {
  sqlite: async () => {
    const dir: TmpDir = await tmpDir('bulwark-sched-');
    // One handle: SQLite's driver is synchronous, two in one thread would wait on each other.
    const store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
    return {
      a: store,
      b: store,
      cleanup: async () => {
        await store.close();
        await dir.cleanup();
      },
    };
  },
  ...(pgAvailable()
    ? {
        postgres: async () => {
          const db: TestDatabase = await createTestDatabase({ migrated: true });
          const a = await openPostgresStore(db.url);
          const b = await openPostgresStore(db.url);
          return {
            a,
            b,
            cleanup: async () => {
              await a.close();
              await b.close();
              await db.drop();
            },
          };
        },
      }
    : {}),
};

for (const [dialect, setup] of Object.entries(fixtures)) {
  describe(`scheduler (${dialect})`, () => {
    let fx: Fixture | undefined;
    afterEach(async () => {
      await fx?.cleanup();
      fx = undefined;
    });

    async function applied(store: Store, clock: Clock, text = file()) {
      const deps: AppDeps = { store, clock, keys: memoryKeyRing(), origin: 'test' };
      return applyExperiment(
        deps,
        systemActor('test'),
        { file: text, name: 'scheduled' },
        { mayPrivileged: false, policy: EMPTY_SERVER_POLICY },
      );
    }

    it('starts each occurrence once across two replicas, the one whose jitter falls first', async () => {
      fx = await setup();
      const clock = new TestClock(Date.parse('2026-04-01T12:00:30Z'));
      await applied(fx.a, clock);
      const runs = recorder();
      const early = createScheduler({ store: fx.a, clock, runs, owner: 'replica-a', random: () => 0.2 });
      const late = createScheduler({ store: fx.b, clock, runs, owner: 'replica-b', random: () => 0.8 });
      const both = () => Promise.all([early.tick(), late.tick()]);

      await both(); // plans 12:01 (+2 s and +8 s of jitter)
      expect(runs.started).toEqual([]);
      clock.set('2026-04-01T12:01:00.900Z');
      await both();
      expect(runs.started).toEqual([]);
      // One tick (the lead, 1 s) before its time, the run is claimed and stored; it starts at its time.
      clock.set('2026-04-01T12:01:01Z');
      await both();
      const early2s = Date.parse('2026-04-01T12:01:02Z');
      expect(runs.started).toEqual([
        { name: 'scheduled', actor: systemActor('scheduler', 'scheduler'), mayPrivileged: true, startAt: early2s },
      ]);
      clock.set('2026-04-01T12:01:05Z');
      await both();
      expect(runs.started).toHaveLength(1);
      clock.set('2026-04-01T12:01:09Z');
      await both(); // the late replica's turn: the occurrence is taken
      expect(runs.started).toHaveLength(1);

      // Both due at once for the next minute: still one.
      clock.set('2026-04-01T12:02:09Z');
      await both();
      await both();
      expect(runs.started).toHaveLength(2);
      expect(await fx.a.experiments.claimOccurrence('scheduled', '2026-04-01T12:02:00.000Z', 'other', clock.now().toISOString())).toBe(
        false,
      );
      expect(await fx.a.experiments.claimOccurrence('scheduled', '2026-04-01T12:03:00.000Z', 'other', clock.now().toISOString())).toBe(
        true,
      );
    });

    it('does not catch up on occurrences missed while it was away, and follows a re-applied schedule', async () => {
      fx = await setup();
      const clock = new TestClock(Date.parse('2026-04-01T12:00:30Z'));
      await applied(fx.a, clock);
      const runs = recorder();
      const s = createScheduler({ store: fx.a, clock, runs, owner: 'replica-a', random: () => 0 });
      await s.tick();
      clock.set('2026-04-01T12:06:30Z'); // five occurrences late: one run now, the next at 12:07
      await s.tick();
      await s.tick();
      expect(runs.started).toHaveLength(1);

      await applied(fx.a, clock, file('0 * * * *')); // hourly now
      await s.tick();
      clock.set('2026-04-01T12:08:00Z');
      await s.tick();
      expect(runs.started).toHaveLength(1);
      clock.set('2026-04-01T13:00:00Z');
      await s.tick();
      expect(runs.started).toHaveLength(2);
    });

    it('stops scheduling an experiment deleted through another replica, and schedules it again once re-applied', async () => {
      fx = await setup();
      const clock = new TestClock(Date.parse('2026-04-01T12:00:30Z'));
      await applied(fx.a, clock);
      const runs = recorder();
      const a = createScheduler({ store: fx.a, clock, runs, owner: 'replica-a', random: () => 0 });
      const b = createScheduler({ store: fx.b, clock, runs, owner: 'replica-b', random: () => 0.5 });
      const both = () => Promise.all([a.tick(), b.tick()]);
      await both(); // both plan 12:01
      clock.set('2026-04-01T12:01:00Z');
      await both();
      expect(runs.started).toHaveLength(1);

      // Deleted through replica b's store, between two looks of both schedulers.
      const deps: AppDeps = { store: fx.b, clock, keys: memoryKeyRing(), origin: 'test' };
      await deleteExperiment(deps, systemActor('token:someone'), 'scheduled');
      for (const at of ['2026-04-01T12:01:30Z', '2026-04-01T12:02:00Z', '2026-04-01T12:02:30Z', '2026-04-01T12:03:05Z']) {
        clock.set(at);
        await both();
      }
      expect(runs.started).toHaveLength(1);
      // Nothing was claimed for the occurrences after the deletion.
      expect(await fx.a.experiments.claimOccurrence('scheduled', '2026-04-01T12:02:00.000Z', 'test', clock.now().toISOString())).toBe(true);

      await applied(fx.a, clock); // the name again: planned from now, 12:04
      await both();
      clock.set('2026-04-01T12:04:00Z');
      await both();
      expect(runs.started).toHaveLength(2);
    });

    it('leaves out what it is told to (the demo experiments, without the demo)', async () => {
      fx = await setup();
      const clock = new TestClock(Date.parse('2026-04-01T12:00:30Z'));
      await applied(fx.a, clock);
      const runs = recorder();
      const s = createScheduler({ store: fx.a, clock, runs, owner: 'replica-a', random: () => 0, include: (e) => e.appliedBy !== 'test' });
      await s.tick();
      clock.set('2026-04-01T12:01:00Z');
      await s.tick();
      expect(runs.started).toEqual([]);
    });

    it('skips an occurrence while the previous run of the experiment is still going', async () => {
      fx = await setup();
      const clock = new TestClock(Date.parse('2026-04-01T12:00:30Z'));
      await applied(fx.a, clock);
      await fx.a.runs.insert({
        id: 'stillgoing000001',
        experiment: 'scheduled',
        state: 'running',
        outcome: null,
        reason: null,
        startedAt: '2026-04-01T12:00:20.000Z',
        endedAt: null,
        leaseOwner: 'host:1:aaaa',
        leaseUntil: '2026-04-01T12:10:00.000Z',
        rollbacks: [],
        journal: {},
        ttdMs: null,
        dryRun: false,
      });
      const runs = recorder();
      const s = createScheduler({ store: fx.a, clock, runs, owner: 'replica-a', random: () => 0 });
      await s.tick();
      clock.set('2026-04-01T12:01:00Z');
      await s.tick();
      expect(runs.started).toEqual([]);
      await fx.a.runs.update('stillgoing000001', 'host:1:aaaa', { state: 'done', outcome: 'missed' });
      clock.set('2026-04-01T12:02:00Z');
      await s.tick();
      expect(runs.started).toHaveLength(1);
    });
  });
}
