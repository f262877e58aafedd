/**
 * Signals and the waits for them, at scale and in races, over a real SQLite file with a fake
 * clock: a pass matches a batch of signals against every wait, reading the waits once (page after
 * page, none left out) and each version and run once; the queue runs one pass at a time and
 * matches the signals that came meanwhile together; a wait that begins catches up with a signal
 * received since it began, whose pass looked before the waiting row existed.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { cliActor } from '../../core/ledger/actor.ts';
import type { SignalRecord } from '../../store/signals/port.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Store } from '../../store/store.ts';
import { ensureOrigin } from '../bootstrap.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { applyPlaybook } from './apply-playbook.ts';
import { PlaybookEngine } from './engine.ts';
import { startRun } from './runs.ts';
import { resumeSignalWaits, SignalWaitQueue, type SignalWaitResult } from './signal-waits.ts';
import type { HttpTransport } from './transport.ts';

let dir: TmpDir;
let store: Store;
let deps: AppDeps;
let clock: ManualClock;
const alice = cliActor('alice');
const noHttp: HttpTransport = { send: () => Promise.reject(new Error('no http in these tests')) };
const engine = () => new PlaybookEngine(deps, { transport: noHttp, random: () => 0.5, owner: 'e1' });

beforeEach(async () => {
  dir = await tmpDir('bulwark-pbs-');
  store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
  clock = new ManualClock();
  deps = { store, clock, keys: memoryKeyRing(), origin: await ensureOrigin(store) };
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

const WAIT = `apiVersion: bulwark/v1
kind: Playbook
name: recover
inputs:
  service: { type: string, required: true }
steps:
  - id: recovered
    wait: { signal: "signal.resolved && signal.labels.service == inputs.service", timeout: 30m }
  - id: after
    set: { by: steps.recovered.signal.id }
`;

let n = 0;
const signal = (service: string, resolved = true): SignalRecord => {
  n++;
  return {
    id: `sig_${n}`,
    source: 'alertmanager',
    time: clock.now().toISOString(),
    receivedAt: clock.now().toISOString(),
    severity: 'high',
    labels: { service },
    body: {},
    fingerprint: `fp${n}`,
    resolved,
    rawDigest: 'x',
  };
};

async function waiting(services: string[]): Promise<string[]> {
  await applyPlaybook(deps, alice, WAIT);
  const ids: string[] = [];
  for (const service of services) {
    const r = await startRun(deps, alice, 'recover', { inputs: { service } });
    if ('run' in r) ids.push(r.run.id);
  }
  await engine().tick();
  clock.advance(1000);
  return ids;
}

/** The same store, its playbook repository's calls counted by method. */
function counted(): { deps: AppDeps; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const repo = store.playbooks;
  const playbooks = new Proxy(repo, {
    get(t, k) {
      const v = Reflect.get(t, k) as unknown;
      if (typeof v !== 'function') return v;
      return (...a: unknown[]) => {
        calls.set(String(k), (calls.get(String(k)) ?? 0) + 1);
        return (v as (...x: unknown[]) => unknown).apply(t, a);
      };
    },
  });
  const s = Object.create(store) as Store;
  Object.defineProperty(s, 'playbooks', { value: playbooks });
  return { deps: { ...deps, store: s }, calls };
}

describe('matching signals to waits', () => {
  it('reads every page of waits once per pass, each version once, each run once, whatever the number of signals', async () => {
    const services = ['a', 'b', 'c', 'd', 'e'];
    const runs = await waiting(services);
    const noise = Array.from({ length: 40 }, (_, i) => signal(`other-${i}`));
    const matches = services.map((s) => signal(s));
    const c = counted();
    const r = await resumeSignalWaits(c.deps, [...noise, ...matches], { pageSize: 2 });
    // Five waits over pages of two: the fifth, beyond the first pages, is not left out.
    expect(r.resumed.map((x) => x.run).sort()).toEqual([...runs].sort());
    expect(r.resumed.find((x) => x.run === runs[4])!.signal).toBe(matches[4]!.id);
    expect(c.calls.get('runningWaits')).toBe(3);
    expect(c.calls.get('getVersion')).toBe(1);
    expect(c.calls.get('getRun')).toBe(5);
    expect(c.calls.get('steps')).toBe(5);
  });

  it('runs one pass at a time: signals that come during a pass are matched together in the next', async () => {
    const runs = await waiting(['a', 'b']);
    const c = counted();
    const results: SignalWaitResult[] = [];
    const q = new SignalWaitQueue(
      c.deps,
      (r) => results.push(r),
      (e) => results.push({ resumed: [], errors: [{ run: '', step: '', signal: '', message: String(e) }] }),
    );
    for (let i = 0; i < 30; i++) q.push(signal(`noise-${i}`));
    q.push(signal('a'));
    q.push(signal('b'));
    await q.idle();
    expect(results).toHaveLength(2);
    expect(c.calls.get('runningWaits')).toBe(2);
    expect(results.flatMap((r) => r.resumed.map((x) => x.run)).sort()).toEqual([...runs].sort());
    await q.stop();
  });

  it('catches up: a signal received as the wait began, matched before the waiting row existed, still resumes it', async () => {
    await applyPlaybook(deps, alice, WAIT);
    const r = await startRun(deps, alice, 'recover', { inputs: { service: 'checkout' } });
    const id = 'run' in r ? r.run.id : '';
    // The signal is stored, and its pass finds no wait: the step has not begun.
    const early = signal('checkout');
    await store.signals.insertMany([early]);
    expect((await resumeSignalWaits(deps, early)).resumed).toEqual([]);
    await engine().tick(); // the wait begins (same instant), looks back, and the signal counts
    expect((await store.playbooks.steps(id))[0]).toMatchObject({ state: 'done', outputs: { signal: { id: early.id } } });
    await engine().tick();
    expect(await store.playbooks.getRun(id)).toMatchObject({ state: 'succeeded' });
    expect((await store.playbooks.steps(id))[1]).toMatchObject({ outputs: { by: early.id } });
  });

  it('bounds its queue: a signal past the bound is counted, and the waits catch up on it from the store', async () => {
    const runs = await waiting(['a', 'b']);
    const told: ({ overflowed: number } | { caughtUp: number })[] = [];
    const results: SignalWaitResult[] = [];
    const q = new SignalWaitQueue(
      deps,
      (r) => results.push(r),
      (e) => {
        throw e;
      },
      { maxQueued: 3 },
      (e) => told.push(e),
    );
    // The first starts a pass at once (it leaves the queue); three fill it; the matching two find it full.
    const flood = [signal('n1'), signal('n2'), signal('n3'), signal('n4'), signal('a'), signal('b')];
    await store.signals.insertMany(flood);
    for (const s of flood) q.push(s);
    expect(q.queued).toBe(3);
    expect(q.overflowed).toBe(2);
    await q.idle();
    expect(results.flatMap((r) => r.resumed)).toEqual([]);
    expect(told).toEqual([{ overflowed: 1 }, { overflowed: 2 }, { caughtUp: 2 }]);
    for (const id of runs) expect((await store.playbooks.steps(id))[0]!.state).toBe('done');
    await q.stop();
  });

  it('catches up oldest first from a stored position: a flood after a matching signal does not hide it', async () => {
    const runs = await waiting(['a']);
    const match = signal('a');
    clock.advance(1_000);
    const flood: SignalRecord[] = [];
    for (let i = 0; i < 2_600; i++) flood.push(signal(`noise-${i}`));
    await store.signals.insertMany([match, ...flood]);
    const told: ({ overflowed: number } | { caughtUp: number })[] = [];
    // A pass reads at most 1,000 signals per wait; the next pass goes on from where it stopped.
    const q = new SignalWaitQueue(
      deps,
      () => {},
      (e) => {
        throw e;
      },
      { maxQueued: 0, maxCatchUp: 1_000 },
      (e) => told.push(e),
    );
    q.push(match);
    await q.idle();
    expect(told.filter((t) => 'caughtUp' in t)).toEqual([{ caughtUp: 0 }, { caughtUp: 0 }, { caughtUp: 1 }]);
    expect((await store.playbooks.steps(runs[0]!))[0]).toMatchObject({ state: 'done', outputs: { signal: { id: match.id } } });
    await q.stop();
  });
});
