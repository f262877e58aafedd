/**
 * Playbooks, two figures (SQLite, in process, the engine as `bulwark serve` drives it):
 *
 *   (a) 1,000 runs each waiting on a step (a `wait: 10m`), then a restart: the store is closed
 *       and opened again with the clock 11 minutes later, and a new engine resumes them all.
 *       Reported: the resident memory of the process with the 1,000 runs waiting (goal: bounded,
 *       under 200 MB; nothing is held per run) and its growth from before they were started, and
 *       the time from opening the store to all 1,000 runs done (goal: under 1 s per 1,000 runs).
 *   (b) Throughput of a 10-step `auto` playbook (10 `http` steps) against a loopback service, in
 *       runs per second, with the engine's concurrency (20 runs a tick), against the same 10 HTTP
 *       calls made in a plain loop through the same transport, 20 loops at once (a ratio).
 *
 *   tsx bench/playbooks.ts [--quick]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ensureOrigin } from '../src/app/bootstrap.ts';
import type { AppDeps, Clock } from '../src/app/deps.ts';
import { memoryKeyRing } from '../src/app/ledger/key-ring.ts';
import { applyPlaybook } from '../src/app/playbooks/apply-playbook.ts';
import { PlaybookEngine } from '../src/app/playbooks/engine.ts';
import { startRun } from '../src/app/playbooks/runs.ts';
import { fetchTransport } from '../src/app/playbooks/transport.ts';
import { cliActor } from '../src/core/ledger/actor.ts';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite.ts';
import { fmtMs, fmtRatio, log, machineFacts, now, parseArgs, printFacts, printTable, runMain, tempDir, writeJson } from './lib/common.ts';

const args = parseArgs();
const WAITING = 1_000;
const THROUGHPUT_RUNS = args.quick ? 100 : 500;
const CONCURRENCY = 20;
const MB = 1024 * 1024;

const WAIT_FILE = `apiVersion: bulwark/v1
kind: Playbook
name: wait-then-set
steps:
  - id: hold
    wait: 10m
  - id: after
    set: { done: "true" }
`;

const tenSteps = (url: string) => `apiVersion: bulwark/v1
kind: Playbook
name: ten-steps
steps:
${Array.from({ length: 10 }, (_, i) => `  - id: s${i}\n    mode: auto\n    http: { url: "${url}/step/${i}", body: { run: "\${{ run.id }}" } }\n`).join('')}`;

class BenchClock implements Clock {
  constructor(private t = Date.now()) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

async function waitingRuns() {
  const dir = tempDir('bulwark-bench-playbooks-');
  const file = path.join(dir, 'bulwark.db');
  const clock = new BenchClock();
  let store = await openSqliteStore(file);
  const origin = await ensureOrigin(store);
  let deps: AppDeps = { store, clock, keys: memoryKeyRing(), origin };
  const alice = cliActor('bench');
  await applyPlaybook(deps, alice, WAIT_FILE);
  gc();
  const rssBefore = process.memoryUsage().rss;
  let engine = new PlaybookEngine(deps, { transport: fetchTransport, random: Math.random, batch: 50 });
  const t0 = now();
  for (let i = 0; i < WAITING; i++) await startRun(deps, alice, 'wait-then-set');
  await engine.tick();
  const startMs = now() - t0;
  const waiting = (await store.playbooks.listRuns({ playbook: 'wait-then-set', limit: WAITING })).filter(
    (r) => r.state === 'running' && r.wakeAt !== null,
  ).length;
  gc();
  const rssWaiting = process.memoryUsage().rss;
  log(`${waiting} runs sleeping in a wait; rss ${(rssWaiting / MB).toFixed(1)} MB (${((rssWaiting - rssBefore) / MB).toFixed(1)} MB more)`);
  // The restart: the store closed and opened again, a new engine, the waits' deadlines passed.
  await store.close();
  clock.advance(11 * 60_000);
  const t1 = now();
  store = await openSqliteStore(file);
  deps = { ...deps, store };
  engine = new PlaybookEngine(deps, { transport: fetchTransport, random: Math.random, batch: 50 });
  await engine.tick();
  const resumeMs = now() - t1;
  const done = (await store.playbooks.listRuns({ playbook: 'wait-then-set', state: 'succeeded', limit: WAITING })).length;
  await store.close();
  if (done !== WAITING) throw new Error(`only ${done} of ${WAITING} runs ended after the restart`);
  return { waiting, startMs, rssBeforeMb: rssBefore / MB, rssWaitingMb: rssWaiting / MB, resumeMs, done };
}

async function throughput() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = tempDir('bulwark-bench-playbooks-tp-');
  const store = await openSqliteStore(path.join(dir, 'bulwark.db'));
  const deps: AppDeps = { store, clock: { now: () => new Date() }, keys: memoryKeyRing(), origin: await ensureOrigin(store) };
  const alice = cliActor('bench');
  await applyPlaybook(deps, alice, tenSteps(url), { mayApprove: true });
  const engine = new PlaybookEngine(deps, { transport: fetchTransport, random: Math.random, batch: CONCURRENCY });

  // Baseline: the same 10 calls per run, through the same transport, CONCURRENCY loops at once.
  const t0 = now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < THROUGHPUT_RUNS) {
        const run = `run${next++}`;
        for (let i = 0; i < 10; i++) {
          const r = await fetchTransport.send(
            { method: 'POST', url: `${url}/step/${i}`, headers: { 'Idempotency-Key': `${run}.s${i}` }, body: { run } },
            30_000,
          );
          if (!r.ok || r.status !== 200) throw new Error('the loopback service failed');
        }
      }
    }),
  );
  const loopMs = now() - t0;

  const t1 = now();
  for (let i = 0; i < THROUGHPUT_RUNS; i++) await startRun(deps, alice, 'ten-steps');
  while ((await store.playbooks.listRuns({ playbook: 'ten-steps', state: 'running', limit: 1 })).length > 0) await engine.tick();
  const engineMs = now() - t1;
  const ok = (await store.playbooks.listRuns({ playbook: 'ten-steps', state: 'succeeded', limit: THROUGHPUT_RUNS })).length;
  await store.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  if (ok !== THROUGHPUT_RUNS) throw new Error(`only ${ok} of ${THROUGHPUT_RUNS} runs succeeded`);
  const engineRate = THROUGHPUT_RUNS / (engineMs / 1000);
  const loopRate = THROUGHPUT_RUNS / (loopMs / 1000);
  return { runs: THROUGHPUT_RUNS, engineMs, loopMs, engineRate, loopRate, ratio: engineRate / loopRate };
}

runMain(async () => {
  if (!args.noFacts) printFacts(machineFacts());
  const a = await waitingRuns();
  const b = await throughput();
  printTable(
    'Playbooks',
    ['figure', 'goal', 'measured'],
    [
      [
        `${WAITING.toLocaleString('en-US')} waiting runs: resident memory (growth)`,
        '< 200 MB',
        `${a.rssWaitingMb.toFixed(0)} MB (+${(a.rssWaitingMb - a.rssBeforeMb).toFixed(1)} MB)`,
      ],
      [`${WAITING.toLocaleString('en-US')} waiting runs: resume all after a restart`, '< 1 s', fmtMs(a.resumeMs)],
      [`starting them (each run's rows and entry, then one tick)`, '', fmtMs(a.startMs)],
      [
        `10-step auto playbook, ${b.runs} runs: runs/s (plain loop of the same calls)`,
        'a ratio',
        `${b.engineRate.toFixed(1)} (${b.loopRate.toFixed(1)}), ratio ${fmtRatio(b.ratio)}`,
      ],
    ],
  );
  writeJson('playbooks', { waiting: a, throughput: b, quick: args.quick });
});
