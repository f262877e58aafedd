/**
 * The engine over a real SQLite file and a real loopback HTTP service that counts calls by
 * Idempotency-Key, with a fake clock: steps advance and persist, retries back off, a timeout
 * fails the attempt, a manual step waits for a person, and a second engine on the same file
 * (a restart) resumes the run without running a done step again.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { cliActor } from '../../core/ledger/actor.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Store } from '../../store/store.ts';
import { ensureOrigin } from '../bootstrap.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { applyPlaybook } from './apply-playbook.ts';
import { PlaybookEngine } from './engine.ts';
import { cancelRun, completeStep, pauseRun, resumeRun, startRun } from './runs.ts';
import { fetchTransport } from './transport.ts';
import { triggerSchedules } from './triggers.ts';

let service: Server;
let base: string;
const calls = new Map<string, number>();
/** Per path: answers to give before 200 (a status, or 'hang'). */
const script = new Map<string, (number | 'hang')[]>();

beforeAll(async () => {
  service = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? 'none');
      calls.set(key, (calls.get(key) ?? 0) + 1);
      const next = script.get(req.url ?? '')?.shift();
      if (next === 'hang') return; // never answers: the step's timeout must end it
      res.writeHead(next ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url, got: body ? (JSON.parse(body) as unknown) : null }));
    });
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
});
afterAll(async () => {
  service.closeAllConnections();
  await new Promise((r) => service.close(r));
});

let dir: TmpDir;
let store: Store;
let deps: AppDeps;
let clock: ManualClock;
const alice = cliActor('alice');
const engine = (owner = 'engine-1') => new PlaybookEngine(deps, { transport: fetchTransport, random: () => 0.5, owner });

beforeEach(async () => {
  calls.clear();
  script.clear();
  dir = await tmpDir('bulwark-pb-');
  store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
  clock = new ManualClock();
  deps = { store, clock, keys: memoryKeyRing(), origin: await ensureOrigin(store) };
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

const file = (steps: string, extra = '') => `apiVersion: bulwark/v1
kind: Playbook
name: contain
inputs:
  ip: { type: string, required: true }
${extra}steps:
${steps}`;

const AUTO_THEN_MANUAL = `  - id: block
    mode: auto
    http: { url: "BASE/block", body: { ip: "\${{ inputs.ip }}" } }
  - id: note
    set: { blocked: steps.block.status == 200, ip: steps.block.body.got.ip }
  - id: confirm
    mode: manual
    checklist: [Check the edge dropped the address]
  - id: tell
    mode: auto
    notify: { url: "BASE/chat", message: "Blocked \${{ steps.note.ip }}" }
`;

async function start(steps: string, inputs: Record<string, unknown> = { ip: '10.0.0.9' }) {
  await applyPlaybook(deps, alice, file(steps.replaceAll('BASE', base)));
  const r = await startRun(deps, alice, 'contain', { inputs });
  if (!('run' in r)) throw new Error('not started');
  return r.run.id;
}

const kinds = async () =>
  (await store.ledger.page({ limit: 100, order: 'asc' })).map((e) => e.kind).filter((k) => k.startsWith('playbook.'));

describe('the playbook engine', () => {
  it('runs auto steps, waits at a manual one holding nothing, and after a restart resumes without re-running a done step', async () => {
    const id = await start(AUTO_THEN_MANUAL);
    await engine('first').tick();
    expect(calls.get(`${id}.block`)).toBe(1);
    let run = await store.playbooks.getRun(id);
    expect(run).toMatchObject({ state: 'waiting', cursor: 2, leaseOwner: null });
    const steps = await store.playbooks.steps(id);
    expect(steps.map((s) => s.state)).toEqual(['done', 'done', 'waiting', 'pending']);
    expect(steps[1]!.outputs).toEqual({ blocked: true, ip: '10.0.0.9' });

    // "Restart": the first process is gone; a new store handle and engine on the same file.
    await store.close();
    store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
    deps = { ...deps, store };
    const second = engine('second');
    expect(await second.tick()).toBe(0); // nothing due: the run waits for a person
    await completeStep(deps, cliActor('bob'), id, 'confirm', { outcome: 'done', notes: 'edge shows the drop', timeSpentMs: 120_000 });
    await second.tick();
    run = await store.playbooks.getRun(id);
    expect(run).toMatchObject({ state: 'succeeded', cursor: 4 });
    expect(calls.get(`${id}.block`)).toBe(1);
    expect(calls.get(`${id}.tell`)).toBe(1);
    expect(await kinds()).toEqual([
      'playbook.applied',
      'playbook.run.started',
      'playbook.step.started',
      'playbook.step.finished',
      'playbook.step.finished',
      'playbook.step.waiting',
      'playbook.step.confirmed',
      'playbook.step.started',
      'playbook.step.finished',
      'playbook.run.finished',
    ]);
    const confirmed = (await store.ledger.page({ limit: 1, order: 'asc', kind: 'playbook.step.confirmed' }))[0]!;
    expect(JSON.parse(confirmed.dataJson)).toMatchObject({ step: 'confirm', outcome: 'done', by: 'cli:bob', timeSpentMs: 120_000 });
  });

  it('retries with backoff on the fake clock, same idempotency key, then succeeds', async () => {
    script.set('/flaky', [503, 500]);
    const id = await start(`  - id: call
    mode: auto
    retry: { attempts: 3, backoff: 10s, maxBackoff: 1m }
    http: { url: "BASE/flaky" }
`);
    await engine().tick();
    expect(await store.playbooks.getStep(id, 0)).toMatchObject({
      state: 'retrying',
      attempts: 1,
      error: expect.stringMatching(/answered 503/),
    });
    // Equal jitter with random 0.5: 10 s → 7.5 s.
    expect((await store.playbooks.getRun(id))!.wakeAt).toBe(new Date(clock.now().getTime() + 7500).toISOString());
    await engine().tick();
    expect(calls.get(`${id}.call`)).toBe(1); // not due yet
    clock.advance(7500);
    await engine().tick();
    expect(await store.playbooks.getStep(id, 0)).toMatchObject({ state: 'retrying', attempts: 2 });
    clock.advance(15_000);
    await engine().tick();
    expect(await store.playbooks.getStep(id, 0)).toMatchObject({ state: 'done', attempts: 3 });
    expect(calls.get(`${id}.call`)).toBe(3);
    expect((await store.playbooks.getRun(id))!.state).toBe('succeeded');
  });

  it('ends an attempt at the step timeout and fails the run after the last attempt', async () => {
    script.set('/slow', ['hang']);
    const id = await start(`  - id: call
    mode: auto
    timeout: 150ms
    http: { url: "BASE/slow" }
`);
    await engine().tick();
    expect(await store.playbooks.getStep(id, 0)).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/no answer within 150 ms/),
    });
    expect(await store.playbooks.getRun(id)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/step call failed/) });
  });

  it('waits a duration without holding the run, and takes the else branch of an if', async () => {
    const id = await start(`  - id: pause
    wait: 10m
  - id: check
    if:
      condition: inputs.ip == "10.0.0.1"
      then:
        - id: never
          mode: auto
          http: { url: "BASE/never" }
      else:
        - id: other
          set: { x: "1" }
`);
    await engine().tick();
    expect(await store.playbooks.getRun(id)).toMatchObject({ state: 'running', leaseOwner: null });
    clock.advance(9 * 60_000);
    await engine().tick();
    expect((await store.playbooks.getStep(id, 0))!.state).toBe('running');
    clock.advance(60_000);
    await engine().tick();
    expect((await store.playbooks.steps(id)).map((s) => s.state)).toEqual(['done', 'done', 'skipped', 'done']);
    expect(calls.get(`${id}.never`)).toBeUndefined();
    expect((await store.playbooks.getRun(id))!.state).toBe('succeeded');
  });

  it('runs an assisted step on confirmation only; pause, resume and cancel hold', async () => {
    const id = await start(`  - id: call
    mode: assisted
    http: { url: "BASE/assisted" }
  - id: later
    mode: manual
    checklist: [Tell the owner]
`);
    await engine().tick();
    expect(calls.size).toBe(0);
    await expect(completeStep(deps, alice, id, 'call', { outcome: 'done' })).rejects.toThrow(/assisted: confirm it/);
    await pauseRun(deps, alice, id);
    await expect(completeStep(deps, alice, id, 'call', { outcome: 'confirmed' })).rejects.toThrow(/only a step waiting/);
    await resumeRun(deps, alice, id);
    await engine().tick();
    expect((await store.playbooks.getRun(id))!.state).toBe('waiting');
    await completeStep(deps, alice, id, 'call', { outcome: 'confirmed', timeSpentMs: 5000 });
    await engine().tick();
    expect(calls.get(`${id}.call`)).toBe(1);
    expect(await store.playbooks.getStep(id, 0)).toMatchObject({ state: 'done', doneBy: 'cli:alice' });
    await cancelRun(deps, alice, id);
    expect((await store.playbooks.steps(id)).map((s) => s.state)).toEqual(['done', 'cancelled']);
    await expect(cancelRun(deps, alice, id)).rejects.toThrow(/has ended/);
  });

  it('dry-runs without writing, and refuses inputs that do not fit', async () => {
    await applyPlaybook(deps, alice, file(AUTO_THEN_MANUAL.replaceAll('BASE', base)));
    const r = await startRun(deps, alice, 'contain', { inputs: { ip: '10.1.1.1' }, dryRun: true });
    expect('plan' in r && r.plan[0]!.request!.body).toEqual({ ip: '10.1.1.1' });
    expect(await store.playbooks.listRuns({ limit: 5 })).toEqual([]);
    await expect(startRun(deps, alice, 'contain', { inputs: {} })).rejects.toThrow(/input 'ip' is required/);
  });

  it('starts a scheduled playbook once in each matching minute, however often it looks', async () => {
    await applyPlaybook(
      deps,
      alice,
      file('  - id: look\n    mode: manual\n    checklist: [Look]\n', "trigger: { manual: false, schedule: '*/5 * * * *' }\n").replace(
        '  ip: { type: string, required: true }',
        '  ip: { type: string, default: 10.0.0.1 }',
      ),
    );
    const started = async (iso: string) => (await triggerSchedules(deps, new Date(iso))).started.length;
    expect(await started('2026-06-01T12:05:10Z')).toBe(1);
    expect(await started('2026-06-01T12:05:50Z')).toBe(0);
    expect(await started('2026-06-01T12:06:00Z')).toBe(0);
    expect(await started('2026-06-01T12:10:00Z')).toBe(1);
    const runs = await store.playbooks.listRuns({ playbook: 'contain', limit: 5 });
    expect(runs.map((r) => r.triggerKey).sort()).toEqual(['schedule:2026-06-01T12:05:00.000Z', 'schedule:2026-06-01T12:10:00.000Z']);
    expect(runs[0]!.inputs).toEqual({ ip: '10.0.0.1' });
    await expect(startRun(deps, alice, 'contain')).rejects.toThrow(/starts only from its trigger/);
  });

  it('keeps a run cancelled while its request was in flight cancelled, with one end in the ledger', async () => {
    script.set('/inflight', ['hang']);
    const id = await start(`  - id: call
    mode: auto
    timeout: 300ms
    http: { url: "BASE/inflight" }
`);
    const ticking = engine().tick();
    for (let i = 0; i < 100 && !calls.has(`${id}.call`); i++) await new Promise((r) => setTimeout(r, 5));
    await cancelRun(deps, alice, id);
    await ticking;
    expect((await store.playbooks.getRun(id))!.state).toBe('cancelled');
    expect((await kinds()).filter((k) => k === 'playbook.run.finished')).toHaveLength(1);
  });
  it('refuses a request to a host the file does not allow before sending it, and fails the step saying why', async () => {
    const id = await start(`  - id: call
    mode: auto
    retry: { attempts: 3 }
    http: { url: "http://169.254.169.254/latest/meta-data/" }
  - id: other
    mode: auto
    http: { url: "https://hooks.example.com/x" }
`);
    await engine().tick();
    expect((await store.playbooks.getRun(id))!.state).toBe('failed');
    const step = await store.playbooks.getStep(id, 0);
    expect(step).toMatchObject({ state: 'failed', attempts: 1 });
    expect(step!.error).toMatch(/refused before sending: 169\.254\.169\.254 is a link-local or cloud metadata address/);
    expect(calls.size).toBe(0);
    expect((await kinds()).filter((k) => k === 'playbook.step.started')).toHaveLength(0);
  });

  it('sends a parallel branch whose id is also a name every object has (constructor), and keeps its outputs', async () => {
    const id = await start(`  - id: fan
    mode: auto
    parallel:
      - { id: constructor, http: { url: "BASE/c" } }
      - { id: edge, http: { url: "BASE/e" } }
  - id: after
    if: { condition: "steps.fan.constructor.status == 200", then: [{ id: noted, set: { ok: "true" } }] }
`);
    await engine().tick();
    expect(calls.get(`${id}.fan.constructor`)).toBe(1);
    expect(calls.get(`${id}.fan.edge`)).toBe(1);
    // Its outputs read in CEL as any other key (a JSON object is a map there, not an object with a constructor).
    expect((await store.playbooks.getRun(id))!).toMatchObject({ state: 'succeeded', reason: 'all 3 steps done' });
    const steps = await store.playbooks.steps(id);
    expect(steps[0]!.outputs).toMatchObject({ constructor: { status: 200, body: { path: '/c' } }, edge: { status: 200 } });
    expect(steps.map((s) => s.state)).toEqual(['done', 'done', 'done']);
  });
});
