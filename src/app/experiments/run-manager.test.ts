/**
 * The run manager of a server, in process over a real SQLite file: runs that also poll the store
 * count a signal seen both on the bus and in the store once, the periodic sweep rolls back a
 * run another process abandoned, once however many managers sweep, and stops on close, and a
 * scheduled run claimed ahead of its time does not start once its experiment is deleted.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Activity } from '../../core/experiments/types.ts';
import { makeSignal, type Signal } from '../../core/signals/signal.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import { startTarget, type Target } from '../../../test/support/experiment-target.ts';
import { runnerFixture, type RunnerFixture } from '../../../test/support/runner.ts';
import { until } from '../../../test/support/wait.ts';
import { evidenceOf } from '../signals/ingest.ts';
import { applyExperiment } from './apply-experiment.ts';
import { deleteExperiment } from './delete-experiment.ts';
import { createRunManager, type RunManager, type RunManagerLog } from './run-manager.ts';
import { createScheduler } from './scheduler.ts';
import { EMPTY_SERVER_POLICY } from './server-policy.ts';
import { systemActor } from '../../core/ledger/actor.ts';

let fx: RunnerFixture;
let target: Target;
const managers: RunManager[] = [];

beforeEach(async () => {
  fx = await runnerFixture();
  target = await startTarget({ ingest: fx.ingest });
});
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
  vi.restoreAllMocks();
  await target.close();
  await fx.close();
});

const logs = (): RunManagerLog & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, info: (_o, m) => lines.push(m), warn: (_o, m) => lines.push(m) };
};

const TWO_DETECTIONS = `
title: SQL injection is detected twice
description: the WAF reports the injection, then a second system reports it again
techniques: [T1190]
configuration:
  target: http://127.0.0.1:1
method:
  - type: action
    name: inject-sqli
    provider:
      type: http
      url: "\${target}/search"
      arguments: {q: "' OR 1=1--"}
expect:
  blocked: {tolerance: 403}
  detected:
    - name: waf-log
      when: signal.source == "waf"
      within: 10s
    - name: second-report
      when: signal.source == "siem"
      within: 10s
`;

function report(runId: string, source: string): Signal {
  const now = new Date().toISOString();
  return makeSignal({
    source,
    time: now,
    receivedAt: now,
    severity: 'high',
    labels: { rule: '942100' },
    body: { seen: 'injection' },
    dedup: { kind: 'webhook-id', id: randomUUID() },
    runId,
  });
}

describe('detections on a server that also polls the store', () => {
  it('counts a signal that arrives on the bus and in the store poll once', { timeout: 30_000 }, async () => {
    await applyExperiment(
      fx.deps,
      systemActor('test'),
      { file: TWO_DETECTIONS, name: 'twice' },
      { mayPrivileged: false, policy: EMPTY_SERVER_POLICY },
    );
    // Which signals the poll read, and which the bus announced.
    const list = fx.store.signals.list.bind(fx.store.signals);
    const polled = new Set<string>();
    vi.spyOn(fx.store.signals, 'list').mockImplementation(async (q) => {
      const r = await list(q);
      for (const s of r.signals) polled.add(s.id);
      return r;
    });
    const announced = new Set<string>();
    const off = fx.ingest.bus.on('signal', (s: Signal) => announced.add(s.id));
    target.decide = () => ({ status: 403, signal: { afterMs: 20 } });
    let firstMatched: (() => void) | undefined;
    const matched = new Promise<void>((r) => (firstMatched = r));
    const manager = createRunManager(fx.deps, {
      pollSignalsMs: 25,
      onProgress: (p) => {
        if (p.phase === 'detect') firstMatched?.();
      },
    });
    managers.push(manager);
    const started = await manager.start({ name: 'twice', actor: systemActor('test'), vars: { target: target.url }, mayPrivileged: false });
    await matched;
    const waf = await until(
      'the poll to read the WAF signal',
      async () => {
        const s = (await list({ limit: 10 })).signals.find((x) => x.source === 'waf');
        return s && polled.has(s.id) ? s : undefined;
      },
      10_000,
    );
    expect(announced.has(waf.id)).toBe(true);
    await fx.ingest.ingest({
      actor: systemActor('test'),
      items: [{ signal: report(started.id, 'siem'), raw: evidenceOf(Buffer.from('{}'), 'application/json') }],
    });
    await manager.idle();
    off();
    const run = await fx.store.runs.get(started.id);
    expect(run).toMatchObject({ state: 'done', outcome: 'prevented' });
    expect(run!.ttdMs).toBeGreaterThanOrEqual(20);
    const detected = (await fx.entriesOf(started.id)).filter((e) => e.kind === 'run.detected').map((e) => JSON.parse(e.dataJson));
    expect(detected.map((d) => [d.detection, d.source])).toEqual([
      ['waf-log', 'waf'],
      ['second-report', 'siem'],
    ]);
    expect(detected[0].signal).toBe(waf.id);
  });
});

const restore = (file: string, backup: string): Activity => ({
  type: 'action',
  name: `restore ${path.basename(file)}`,
  provider: { type: 'file', operation: 'restore', path: file, backup },
  pauses: {},
  background: false,
  controls: [],
});

function abandoned(id: string, rollbacks: Activity[]): RunRecord {
  const now = Date.now();
  return {
    id,
    experiment: 'config flip',
    state: 'running',
    outcome: null,
    reason: null,
    startedAt: new Date(now - 60_000).toISOString(),
    endedAt: null,
    // A dead process of this host (above any pid_max): its file rollbacks belong here.
    leaseOwner: `${hostname()}:4194399:abcd`,
    leaseUntil: new Date(now - 1000).toISOString(),
    rollbacks: rollbacks as never,
    journal: { status: 'running', rollbacks: [], bulwark: { runId: id } },
    ttdMs: null,
    dryRun: false,
  };
}

describe('periodic recovery', () => {
  it('rolls back a run abandoned while it runs, once across two sweeping managers, and stops on close', { timeout: 30_000 }, async () => {
    // A second store on the same file stands for a second process.
    const other = await openSqliteStore(fx.dbFile);
    try {
      const logA = logs();
      const logB = logs();
      const a = createRunManager(fx.deps, { recoverEveryMs: 50, log: logA });
      const b = createRunManager({ ...fx.deps, store: other }, { recoverEveryMs: 50, log: logB });
      managers.push(a, b);
      const file = path.join(fx.dir, 'app.conf');
      const backup = path.join(fx.dir, 'app.conf.bak');
      writeFileSync(backup, 'auth = on\n');
      writeFileSync(file, 'auth = off\n');
      // Left behind after both managers started: only a sweep can find it.
      await sleep(120);
      await fx.store.runs.insert(abandoned('abandoned0000001', [restore(file, backup)]));
      const done = await until(
        'the abandoned run to be recovered',
        async () => {
          const r = await fx.store.runs.get('abandoned0000001');
          return r?.state === 'done' ? r : undefined;
        },
        10_000,
      );
      expect(done).toMatchObject({ outcome: 'aborted', leaseUntil: null });
      expect(readFileSync(file, 'utf8')).toBe('auth = on\n');
      // Let the other manager sweep a few more times: it must not take the run again.
      await sleep(300);
      expect((await fx.entriesOf('abandoned0000001')).map((e) => e.kind)).toEqual(['run.rollback', 'run.finished']);
      const recoveredBy = [...logA.lines, ...logB.lines].filter((l) => l.startsWith('recovered run abandoned0000001'));
      expect(recoveredBy).toEqual(['recovered run abandoned0000001 of config flip: aborted']);
      // The recovering owner is not the runner's: a sweep takes runs the way another process would.
      expect((done.journal as { bulwark: { recovery: { by: string } } }).bulwark.recovery.by).not.toBe(a.runner.owner);
      expect((done.journal as { bulwark: { recovery: { by: string } } }).bulwark.recovery.by).not.toBe(b.runner.owner);

      await a.close();
      await b.close();
      await fx.store.runs.insert(abandoned('abandoned0000002', []));
      await sleep(300);
      expect((await fx.store.runs.get('abandoned0000002'))?.state).toBe('running');
      expect(await a.sweep()).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('a deleted experiment', () => {
  it('does not start a scheduled run claimed ahead of its time when the experiment is deleted meanwhile', { timeout: 30_000 }, async () => {
    const file = `
title: Scheduled injection
description: a request the target sees if the run starts
configuration:
  target: ${target.url}
method:
  - type: action
    name: inject
    provider: { type: http, url: "\${target}/search", arguments: {q: "' OR 1=1--"} }
schedule:
  cron: '* * * * *'
  jitter: 2m
`;
    await applyExperiment(fx.deps, systemActor('test'), { file, name: 'doomed' }, { mayPrivileged: false, policy: EMPTY_SERVER_POLICY });
    const manager = createRunManager(fx.deps, {});
    managers.push(manager);
    // The scheduler's clock starts in the minute now going on, and its jitter is chosen so that
    // the occurrence's run falls 2 s from now: claimed (up to 3 s ahead) and stored at the next look.
    const realNow = Date.now();
    const minute = Math.floor(realNow / 60_000) * 60_000;
    const startAt = realNow + 2_000;
    const clock = { ms: minute - 30_000, now: () => new Date(clock.ms) };
    const scheduler = createScheduler({
      store: fx.store,
      clock,
      runs: manager,
      owner: 'replica-a',
      leadMs: 3_000,
      random: () => (startAt - minute) / 120_000,
    });
    await scheduler.tick(); // plans the occurrence
    clock.ms = Date.now();
    // Claims it: the run is stored, pending, and waits for its time.
    const claiming = scheduler.tick();
    const pending = await until(
      'the pending run',
      async () => (await fx.store.runs.list({ experiment: 'doomed', limit: 5 })).runs[0],
      10_000,
    );
    expect(pending).toMatchObject({ state: 'pending' });
    expect(Math.abs(Date.parse(pending.startedAt) - startAt)).toBeLessThanOrEqual(1);

    await deleteExperiment(fx.deps, systemActor('token:someone'), 'doomed');
    expect(Date.now()).toBeLessThan(startAt); // deleted before the run's time, or the test says nothing
    await claiming;
    await manager.idle();

    const run = await fx.store.runs.get(pending.id);
    expect(run).toMatchObject({ state: 'done', outcome: 'aborted' });
    expect(run!.reason).toContain("experiment 'doomed' was deleted before this run's time");
    expect(target.requests).toEqual([]);
    const kinds = (await fx.entriesOf(pending.id)).map((e) => e.kind);
    expect(kinds).toEqual(['run.finished']);
  });
});
