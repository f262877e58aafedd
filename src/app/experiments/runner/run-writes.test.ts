/**
 * Group commit of run writes over a real SQLite store: concurrent runs share transactions, a
 * write whose lease is gone is refused alone, a write that breaks the transaction fails alone,
 * and one heartbeat renews every run's lease.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runnerFixture, type RunnerFixture } from '../../../../test/support/runner.ts';
import { verifyStore } from '../../ledger/verify.ts';
import type { Store } from '../../../store/store.ts';
import type { RunRecord } from '../../../store/experiments/port.ts';
import { createLeaseKeeper, createRunWriter } from './run-writes.ts';
import type { Json, NewEntry } from '../../../core/ledger/entry.ts';
import { systemActor } from '../../../core/ledger/actor.ts';

let fx: RunnerFixture;
beforeEach(async () => {
  fx = await runnerFixture();
});
afterEach(async () => {
  await fx.close();
});

/** The store, counting its transactions. */
function counting(store: Store): { store: Store; transactions: () => number } {
  let n = 0;
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === 'transaction') {
        return (fn: Parameters<Store['transaction']>[0]) => {
          n += 1;
          return target.transaction(fn);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, transactions: () => n };
}

const row = (id: string, owner = 'host:1:aaaa'): RunRecord => ({
  id,
  experiment: 'group commit',
  state: 'running',
  outcome: null,
  reason: null,
  startedAt: new Date().toISOString(),
  endedAt: null,
  leaseOwner: owner,
  leaseUntil: new Date(Date.now() + 60_000).toISOString(),
  rollbacks: [],
  journal: {},
  ttdMs: null,
  dryRun: false,
});

/** A run entry with the data the ledger's catalogue expects of its kind. */
const entry = (id: string, kind: string): NewEntry => ({ actor: systemActor('test'), kind, subject: `run:${id}`, data: runData(id, kind) });

function runData(run: string, kind: string): Json {
  switch (kind) {
    case 'run.started':
      return { run, experiment: 'e', techniques: [], targets: [] };
    case 'run.finished':
      return { run, experiment: 'e', outcome: 'missed', reason: 'r', expectationsMet: false, ttdMs: null, injections: 0, detections: 0 };
    case 'run.injected':
      return { run, activity: 'a', at: '2030-01-01T00:00:00.000Z', ok: true };
    default:
      return { run, rollback: 'r', ok: true };
  }
}
const ids = (n: number) => Array.from({ length: n }, (_, i) => `groupcommit${String(i).padStart(5, '0')}`);

describe('run writes', () => {
  it("commits concurrent runs' writes in fewer transactions than writes, each run's in order", async () => {
    const c = counting(fx.store);
    const writer = createRunWriter({ store: c.store, clock: fx.deps.clock });
    const runs = ids(20);
    // Each run: its row with run.started, then two updates, one after the other.
    await Promise.all(
      runs.map(async (id) => {
        await writer.write({ runId: id, insert: row(id), entries: [entry(id, 'run.started')] });
        expect(await writer.write({ runId: id, owner: 'host:1:aaaa', patch: { state: 'rolling-back' }, entries: [] }, { lazy: true })).toBe(
          true,
        );
        expect(
          await writer.write(
            { runId: id, owner: 'host:1:aaaa', patch: { state: 'done', leaseUntil: null }, entries: [entry(id, 'run.finished')] },
            { lazy: true },
          ),
        ).toBe(true);
      }),
    );
    expect(c.transactions()).toBeLessThanOrEqual(6);
    for (const id of runs) {
      expect(await fx.store.runs.get(id)).toMatchObject({ state: 'done' });
      expect((await fx.entriesOf(id)).map((e) => e.kind)).toEqual(['run.started', 'run.finished']);
    }
    expect(await verifyStore(fx.store)).toMatchObject({ ok: true });
  });

  it('refuses only the write whose lease is gone, leaves out its entries, and commits the rest', async () => {
    const [a, b, taken] = ids(3) as [string, string, string];
    for (const id of [a, b, taken]) await fx.store.runs.insert(row(id));
    // Another process took one run over.
    await fx.store.runs.update(taken, 'host:1:aaaa', { leaseOwner: 'host:2:bbbb' });
    const c = counting(fx.store);
    const writer = createRunWriter({ store: c.store, clock: fx.deps.clock });
    const held = await Promise.all(
      [a, taken, b].map((id) =>
        writer.write({ runId: id, owner: 'host:1:aaaa', patch: { state: 'done' }, entries: [entry(id, 'run.finished')] }),
      ),
    );
    expect(held).toEqual([true, false, true]);
    expect(c.transactions()).toBe(1);
    expect(await fx.store.runs.get(a)).toMatchObject({ state: 'done' });
    expect(await fx.store.runs.get(taken)).toMatchObject({ state: 'running', leaseOwner: 'host:2:bbbb' });
    expect((await fx.entriesOf(taken)).length).toBe(0);
    expect((await fx.entriesOf(b)).map((e) => e.kind)).toEqual(['run.finished']);
  });

  it('fails only the write that breaks the transaction; the others of its batch commit', async () => {
    const [a, dup, b] = ids(3) as [string, string, string];
    await fx.store.runs.insert(row(dup));
    const writer = createRunWriter(fx.deps);
    const settled = await Promise.allSettled([
      writer.write({ runId: a, insert: row(a), entries: [entry(a, 'run.started')] }),
      writer.write({ runId: dup, insert: row(dup), entries: [entry(dup, 'run.started')] }),
      writer.write({ runId: b, insert: row(b), entries: [entry(b, 'run.started')] }),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await fx.store.runs.get(a)).toBeDefined();
    expect(await fx.store.runs.get(b)).toBeDefined();
    expect((await fx.entriesOf(dup)).length).toBe(0);
    expect(await verifyStore(fx.store)).toMatchObject({ ok: true });
  });
});

describe('the lease keeper', () => {
  it("renews every held run's lease in one transaction per beat, and tells a run whose lease was taken", async () => {
    const runs = ids(5);
    for (const id of runs) await fx.store.runs.insert(row(id));
    await fx.store.runs.update(runs[4]!, 'host:1:aaaa', { leaseOwner: 'host:2:bbbb' });
    const c = counting(fx.store);
    // The lease is counted from the keeper's clock, not the system's.
    const now = Date.parse('2031-01-01T00:00:00.000Z');
    const clock = { now: () => new Date(now) };
    const keeper = createLeaseKeeper({ store: c.store, clock }, { owner: 'host:1:aaaa', leaseMs: 600_000, heartbeatMs: 50 });
    const lost: string[] = [];
    const release = runs.map((id) => keeper.hold(id, () => lost.push(id)));
    await sleep(80);
    release.forEach((r) => r());
    const beats = c.transactions();
    expect(beats).toBeGreaterThanOrEqual(1);
    expect(lost).toEqual([runs[4]]);
    for (const id of runs.slice(0, 4)) expect((await fx.store.runs.get(id))!.leaseUntil).toBe('2031-01-01T00:10:00.000Z');
    // Nothing held: no more beats.
    await sleep(120);
    expect(c.transactions()).toBe(beats);
  });
});
