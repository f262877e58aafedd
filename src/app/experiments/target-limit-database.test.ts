/**
 * The per-target limit across processes: two runners on one database (this process and a
 * second one, limit-runner-worker.ts), each running an experiment against one loopback target.
 * With `perTargetLimitScope: database` and a limit of one, the runs never touch the target at
 * the same time and the second starts after the first ended; with 'process' they overlap. On
 * one SQLite file and on a real PostgreSQL.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ensureOrigin } from '../bootstrap.ts';
import { systemClock } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { nodeProviders } from '../../adapters/providers/index.ts';
import { openStore } from '../../store/open-store.ts';
import { createExperimentRunner, type RunProgress, type RunResult } from './run-experiment.ts';
import { LIMIT_EXPERIMENT, startSlowTarget, type SlowTarget } from '../../../test/support/limit-experiment.ts';
import { createTestDatabase, pgAvailable, skipReasonPg } from '../../../test/support/postgres.ts';
import { REPO_ROOT, killAllChildren, startGoWorker } from '../../../test/support/processes.ts';
import { experiment, runnerFixture } from '../../../test/support/runner.ts';
import { tmpDir } from '../../../test/support/tmp.ts';
import { systemActor } from '../../core/ledger/actor.ts';

const WORKER = path.join(REPO_ROOT, 'test/support/limit-runner-worker.ts');
type Scope = 'process' | 'database';

function startWorker(url: string, stateDir: string, targetUrl: string, scope: Scope) {
  return startGoWorker<{ runId: string; outcome: string }>('worker', WORKER, [url, stateDir, targetUrl, scope, '1']);
}

/** One run here and one in a second process, released together, against one slow target. */
async function runTwo(url: string, scope: Scope) {
  const dir = await tmpDir('bulwark-limit-');
  const target = await startSlowTarget(200);
  const store = await openStore(url);
  try {
    const origin = await ensureOrigin(store);
    const runner = createExperimentRunner(
      { store, clock: systemClock, keys: memoryKeyRing(), origin, providers: nodeProviders(), stateDir: dir.path },
      { perTargetLimit: 1, perTargetLimitScope: scope, targetSlotPollMs: 50 },
    );
    const worker = startWorker(url, dir.path, target.url, scope);
    await worker.ready;
    worker.go();
    const [here, there] = await Promise.all([
      runner.run({ experiment: experiment(LIMIT_EXPERIMENT), actor: systemActor('test'), vars: { target: target.url } }),
      worker.done,
    ]);
    const rows = await Promise.all([here.runId, there.runId].map(async (id) => (await store.runs.get(id))!));
    return { target, here, there, rows, slotsLeft: await store.slots.held(`host:127.0.0.1`, new Date().toISOString()) };
  } finally {
    await store.close();
    await target.close();
    await dir.cleanup();
  }
}

function check(
  r: { target: SlowTarget; here: RunResult; there: { runId: string; outcome: string }; rows: { id: string; endedAt: string | null }[] },
  scope: Scope,
) {
  // Nothing is expected of the runs but that they ran to the end (no expectations: prevented).
  expect(r.here.outcome).toBe('prevented');
  expect(r.there.outcome).toBe('prevented');
  const ids = [r.here.runId, r.there.runId];
  for (const id of ids) expect(r.target.requests.filter((q) => q.runId === id)).toHaveLength(2);
  // Each run's time on the target: from its first request to its last answer.
  const span = (id: string) => {
    const qs = r.target.requests.filter((q) => q.runId === id);
    return { from: Math.min(...qs.map((q) => q.at)), to: Math.max(...qs.map((q) => q.end)) };
  };
  const [a, b] = ids.map(span) as [{ from: number; to: number }, { from: number; to: number }];
  const overlap = a.from < b.to && b.from < a.to;
  if (scope === 'process') {
    expect(overlap).toBe(true);
    expect(r.target.maxInFlight).toBe(2);
    return;
  }
  expect(overlap).toBe(false);
  expect(r.target.maxInFlight).toBe(1);
  const [first, second] = r.rows[0]!.endedAt! < r.rows[1]!.endedAt! ? [r.rows[0]!, r.rows[1]!] : [r.rows[1]!, r.rows[0]!];
  const secondStart = span(second.id).from;
  expect(secondStart).toBeGreaterThanOrEqual(Date.parse(first.endedAt!) - 5);
}

describe('the per-target limit across processes sharing a database', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await killAllChildren();
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  describe('on one SQLite file', () => {
    const fileUrl = async () => {
      const dir = await tmpDir('bulwark-limit-db-');
      cleanups.push(() => dir.cleanup());
      return path.join(dir.path, 'bulwark.db');
    };

    it("with 'database' scope, one run at a time touches the host, the second after the first ended", async () => {
      const r = await runTwo(await fileUrl(), 'database');
      check(r, 'database');
      expect(r.slotsLeft).toBe(0);
    });

    it("with 'process' scope, each process counts its own: the runs overlap", async () => {
      check(await runTwo(await fileUrl(), 'process'), 'process');
    });
  });

  describe.skipIf(!pgAvailable())(`on PostgreSQL (${pgAvailable() ? 'real server' : skipReasonPg})`, () => {
    const pgUrl = async () => {
      const d = await createTestDatabase({ migrated: true });
      cleanups.push(() => d.drop());
      return d.url;
    };

    it("with 'database' scope, one run at a time touches the host, the second after the first ended", async () => {
      const r = await runTwo(await pgUrl(), 'database');
      check(r, 'database');
      expect(r.slotsLeft).toBe(0);
    });

    it("with 'process' scope, each process counts its own: the runs overlap", async () => {
      check(await runTwo(await pgUrl(), 'process'), 'process');
    });
  });
});

describe("the 'database' scope within one process", () => {
  it('stores a run that must wait as pending, says so, and starts it when the slot is free', async () => {
    const fx = await runnerFixture({ bus: false });
    const target = await startSlowTarget(150);
    try {
      const seen: RunProgress[] = [];
      const runner = createExperimentRunner(fx.deps, {
        perTargetLimit: 1,
        perTargetLimitScope: 'database',
        targetSlotPollMs: 20,
        onProgress: (p) => seen.push(p),
      });
      const req = { experiment: experiment(LIMIT_EXPERIMENT), actor: systemActor('test'), vars: { target: target.url } };
      const first = runner.run(req);
      await sleep(50);
      const second = runner.run(req);
      await sleep(100);
      const waiting = seen.find((p) => p.phase === 'wait')!;
      expect(waiting.message).toMatch(/waiting for a free slot on host:127\.0\.0\.1/);
      expect(await fx.store.runs.get(waiting.runId)).toMatchObject({ state: 'pending' });
      const [a, b] = await Promise.all([first, second]);
      expect(b.runId).toBe(waiting.runId);
      expect([a.outcome, b.outcome]).toEqual(['prevented', 'prevented']);
      expect(target.maxInFlight).toBe(1);
      const firstEnd = Date.parse((await fx.store.runs.get(a.runId))!.endedAt!);
      expect(Math.min(...target.requests.filter((q) => q.runId === b.runId).map((q) => q.at))).toBeGreaterThanOrEqual(firstEnd - 5);
      expect(await fx.store.slots.held('host:127.0.0.1', new Date().toISOString())).toBe(0);
    } finally {
      await target.close();
      await fx.close();
    }
  });

  it('takes the slots of a run stored ahead of its time when it is stored, and gives them back when stopped', async () => {
    const fx = await runnerFixture({ bus: false });
    const target = await startSlowTarget(50);
    try {
      const runner = createExperimentRunner(fx.deps, { perTargetLimit: 1, perTargetLimitScope: 'database', targetSlotPollMs: 20 });
      const req = { experiment: experiment(LIMIT_EXPERIMENT), actor: systemActor('test'), vars: { target: target.url } };
      const startAt = Date.now() + 400;
      const ahead = runner.run({ ...req, startAt });
      await sleep(150);
      expect(await fx.store.slots.held('host:127.0.0.1', new Date().toISOString())).toBe(1);
      expect(target.requests).toEqual([]);
      const r = await ahead;
      expect(r.outcome).toBe('prevented');
      expect(Math.min(...target.requests.map((q) => q.at))).toBeGreaterThanOrEqual(startAt);
      expect(await fx.store.slots.held('host:127.0.0.1', new Date().toISOString())).toBe(0);

      // A run stopped while it waits for a slot another holds ends aborted, holding nothing.
      const ctl = new AbortController();
      const holder = runner.run({ ...req, startAt: Date.now() + 300 });
      await sleep(100);
      const stopped = runner.run({ ...req, signal: ctl.signal });
      await sleep(60);
      ctl.abort(new Error('stopped by test'));
      const s = await stopped;
      expect(s.outcome).toBe('aborted');
      expect(target.requests.filter((q) => q.runId === s.runId)).toEqual([]);
      expect((await holder).outcome).toBe('prevented');
      expect(await fx.store.slots.held('host:127.0.0.1', new Date().toISOString())).toBe(0);
    } finally {
      await target.close();
      await fx.close();
    }
  });
});
