/**
 * Signal ingestion on SQLite (WAL, synchronous=FULL: every acknowledged signal is on disk).
 *
 *   (a) Throughput: N concurrent producers (64) each submit one signal at a time, as webhook
 *       senders do, through the ingest use case and its group-commit batcher: dedup insert,
 *       evidence, one ledger entry per signal, one transaction per batch. Against a plain
 *       INSERT of the same rows into a table with the same columns, in the same database with
 *       the same durability, batched by the same batcher. Rounds interleave the two; the median
 *       rate of each and the median per-round ratio are reported.
 *   (b) Latency: real loopback HTTP POSTs to /v1/signals/webhook/:source, from the moment the
 *       request is sent to the moment a waiting run matched it as its detection: the signal is
 *       committed, announced on the bus, and judged by the runs' detection trackers (the
 *       runner's own DetectionTracker, a CEL expression each). Each POST carries the id of one
 *       run; WAITING_RUNS runs wait at any time, each subscribed to the bus as a run is, so
 *       every signal is offered to all of them. From one client and from several at once. The
 *       clients run in a worker thread, off the server's event loop, and both sides read the
 *       process's monotonic clock. The time to the announcement on the bus is reported beside.
 *
 *   tsx bench/signal-ingest.ts [--quick]
 */
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { createSignalIngest, evidenceOf, type IngestSubmission } from '../src/app/signals/ingest.ts';
import { createBatcher } from '../src/app/group-commit.ts';
import { systemClock, type AppDeps } from '../src/app/deps.ts';
import { memoryKeyRing } from '../src/app/ledger/key-ring.ts';
import { bootstrap, ensureOrigin } from '../src/app/bootstrap.ts';
import { verifyStore } from '../src/app/ledger/verify.ts';
import { mapWebhook, parseWebhookMapping } from '../src/core/signals/webhook-mapping.ts';
import { createServer } from '../src/server/create-server.ts';
import { busDetections, DetectionTracker } from '../src/app/experiments/runner/detections.ts';
import { createLogger } from '../src/server/logging.ts';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite.ts';
import { startSqliteWriteThread } from '../src/adapters/sqlite-write-thread.ts';
import type { SignalsTable } from '../src/store/signals/tables.ts';
import type { Store } from '../src/store/store.ts';
import {
  assert,
  fmtMs,
  fmtRate,
  fmtRatio,
  log,
  machineFacts,
  median,
  now,
  parseArgs,
  printFacts,
  printTable,
  runMain,
  settle,
  summarize,
  tempDir,
  writeJson,
} from './lib/common.ts';
import { kyselyOverHandle } from './lib/sqlite-immediate.ts';
import { systemActor } from '../src/core/ledger/actor.ts';

const args = parseArgs();
const PRODUCERS = 64;
const SIGNALS_PER_PHASE = args.quick ? 4_000 : 10_000;
// Many short rounds, interleaved, and medians: on a shared machine a burst of other work then
// spoils a round or two, not the figure.
const ROUNDS = args.quick ? 2 : 8;
const HTTP_POSTS = args.quick ? 1_000 : 4_000;
/**
 * How the clients send: one at a time (the latency floor); at a steady rate well below what the
 * server can take (signals arrive when things happen, not as fast as a server answers), the
 * case the goal is about; and 16 at once, each sending again as soon as it is answered, which
 * saturates the server: its throughput, and latency when queueing dominates, are reported only.
 */
const HTTP_LOADS: Load[] = [
  { kind: 'closed', clients: 1, goal: true },
  { kind: 'open', rate: 300, goal: true },
  { kind: 'closed', clients: 16, goal: false },
];
type Load = { kind: 'closed'; clients: number; goal: boolean } | { kind: 'open'; rate: number; goal: boolean };
const describeLoad = (l: Load) =>
  l.kind === 'open' ? `${l.rate} POSTs/s, steady` : l.clients === 1 ? '1 client' : `${l.clients} clients, saturating`;
/** Runs waiting for their detection at any time during the latency phases. */
const WAITING_RUNS = 200;
/** The run whose detection POST i brings: 16 characters of [a-z0-9], as run ids are. */
const runOf = (i: number) => `bench${String(i).padStart(11, '0')}`;
const DETECTED = { name: 'waf', when: 'signal.labels.rule.startsWith("9421") && signal.severity != "low"', withinMs: 120_000 };

const mapping = parseWebhookMapping({
  source: 'waf',
  id: '$.id',
  time: '$.timestamp',
  severity: '$.rule.level',
  severityMap: { '7': 'high', '12': 'critical' },
  labels: { rule: '$.rule.id', agent: '$.agent.name', uri: '$.data.url' },
  runId: "$.data.headers['X-Bulwark-Run']",
  body: '$.data',
});

/** A Wazuh-like alert about a blocked SQL injection, about 450 bytes of JSON. */
function payload(i: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      timestamp: new Date(Date.UTC(2026, 2, 1, 10) + i).toISOString(),
      id: `alert-${i}`,
      rule: { id: String(942100 + (i % 7)), level: i % 5 === 0 ? 12 : 7, description: 'SQL injection attempt blocked at the edge.' },
      agent: { id: '001', name: `shop-${i % 4}` },
      data: {
        srcip: '127.0.0.1',
        url: `/search?id=${i}%27%20OR%20%271%27%3D%271`,
        status: 403,
        headers: { 'X-Bulwark-Run': runOf(i) },
      },
    }),
    'utf8',
  );
}

/** What one webhook request brings: the mapped signal and its raw bytes. */
function submission(i: number, tag: string): IngestSubmission {
  const raw = payload(i);
  const parsed = mapWebhook({ ...(JSON.parse(raw.toString('utf8')) as object), id: `${tag}-${i}` }, mapping, {
    receivedAt: new Date().toISOString(),
  });
  assert(parsed.ok, 'fixture maps');
  return { actor: systemActor('token:bench'), items: [{ signal: parsed.signal, raw: evidenceOf(raw, 'application/json') }] };
}

/** Run `n` submissions through `submit` from PRODUCERS concurrent producers; answers ms. */
async function produce(subs: IngestSubmission[], submit: (s: IngestSubmission) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = now();
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < subs.length) await submit(subs[next++]!);
    }),
  );
  return now() - t0;
}

interface Phase {
  impl: 'ingest' | 'plain';
  round: number;
  ms: number;
  perSec: number;
  transactions: number;
}

async function throughput(store: Store, deps: AppDeps, file: string) {
  // The plain table, in the same file through a second handle with the store's durability: the
  // columns and unique index of `signals`, nothing else. Phases never overlap, so the two
  // handles never wait on each other's lock.
  const handle = new Database(file);
  handle.pragma('busy_timeout = 10000');
  handle.pragma('journal_mode = WAL');
  handle.pragma('synchronous = FULL');
  assert(Number(handle.pragma('synchronous', { simple: true })) === 2, 'the plain handle runs synchronous=FULL');
  const db = kyselyOverHandle<{ bench_plain_signals: SignalsTable }>(handle);
  await sql`create table bench_plain_signals as select * from signals where 0`.execute(db);
  await sql`create unique index bench_plain_fp on bench_plain_signals (fingerprint)`.execute(db);
  const counters = { ingest: 0, plain: 0 };
  const counted: Store = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'transaction') {
        return (fn: Parameters<Store['transaction']>[0]) => {
          counters.ingest += 1;
          return target.transaction(fn);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  const ingest = createSignalIngest({ ...deps, store: counted });
  const plain = createBatcher<IngestSubmission, true>({
    weight: (s) => s.items.length,
    run: async (subs) => {
      counters.plain += 1;
      const rows = subs.flatMap((s) =>
        s.items.map(({ signal: x, raw }) => ({
          id: x.id,
          source: x.source,
          fingerprint: x.fingerprint,
          time: x.time,
          received_at: x.receivedAt,
          severity: x.severity,
          labels: JSON.stringify(x.labels),
          body: JSON.stringify(x.body),
          run_id: x.runId ?? null,
          resolved: x.resolved ? 1 : 0,
          raw_digest: raw.digest,
        })),
      );
      await db.transaction().execute((trx) => trx.insertInto('bench_plain_signals').values(rows).execute());
      return subs.map(() => true as const);
    },
  });
  // Warm-up: code paths, statement caches.
  await produce(
    Array.from({ length: 500 }, (_, i) => submission(i, 'warm')),
    (s) => ingest.ingest(s),
  );
  await produce(
    Array.from({ length: 500 }, (_, i) => submission(i, 'warm')),
    (s) => plain.submit(s),
  );
  const phases: Phase[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order: Phase['impl'][] = round % 2 === 0 ? ['ingest', 'plain'] : ['plain', 'ingest'];
    for (const impl of order) {
      const subs = Array.from({ length: SIGNALS_PER_PHASE }, (_, i) => submission(i, `r${round}`));
      await settle();
      const before = counters[impl];
      const ms = await produce(subs, impl === 'ingest' ? (s) => ingest.ingest(s) : (s) => plain.submit(s));
      const perSec = SIGNALS_PER_PHASE / (ms / 1000);
      phases.push({ impl, round, ms, perSec, transactions: counters[impl] - before });
      log(`round ${round} ${impl}: ${fmtRate(perSec)} (${counters[impl] - before} transactions)`);
    }
  }
  await ingest.close();
  await plain.close();
  await db.destroy();
  const rate = (impl: Phase['impl']) => median(phases.filter((p) => p.impl === impl).map((p) => p.perSec));
  const perRound = Array.from({ length: ROUNDS }, (_, r) => {
    const a = phases.find((p) => p.round === r && p.impl === 'ingest')!;
    const b = phases.find((p) => p.round === r && p.impl === 'plain')!;
    return a.perSec / b.perSec;
  });
  const ingestPhases = phases.filter((p) => p.impl === 'ingest');
  const avgBatch = (ingestPhases.length * SIGNALS_PER_PHASE) / ingestPhases.reduce((n, p) => n + p.transactions, 0);
  // Everything written through the use case is in the ledger, and the ledger verifies.
  const head = await store.ledger.head();
  assert(head.size === 500 + ROUNDS * SIGNALS_PER_PHASE, `ledger holds every signal (${head.size})`);
  const verify = await verifyStore(store);
  assert(verify.ok, `ledger verifies: ${verify.message}`);
  return { ingestPerSec: rate('ingest'), plainPerSec: rate('plain'), ratio: median(perRound), perRound, avgBatch, phases };
}

/**
 * The HTTP client, in a worker thread: a sender is another program, and a client sharing the
 * server's event loop would add its own work to every request's latency. It records when it
 * sent each POST on process.hrtime, the monotonic clock every thread of the process shares.
 */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, token, bodies, load } = workerData;
(async () => {
  const headers = { authorization: 'Bearer ' + token, 'content-type': 'application/json' };
  const sent = new Array(bodies.length);
  const post = async (i) => {
    sent[i] = process.hrtime.bigint();
    const res = await fetch(url, { method: 'POST', headers, body: bodies[i] });
    const text = await res.text();
    if (res.status !== 202) throw new Error('POST answered ' + res.status + ': ' + text);
  };
  const t0 = process.hrtime.bigint();
  if (load.kind === 'open') {
    // Each POST at its own time, answered or not: arrivals do not wait for the server.
    const pending = [];
    const start = performance.now();
    for (let i = 0; i < bodies.length; i++) {
      const due = start + (i * 1000) / load.rate;
      const wait = due - performance.now();
      if (wait > 0.5) await new Promise((r) => setTimeout(r, wait));
      pending.push(post(i));
    }
    await Promise.all(pending);
  } else {
    let next = 0;
    await Promise.all(Array.from({ length: load.clients }, async () => {
      while (next < bodies.length) await post(next++);
    }));
  }
  parentPort.postMessage({ sent, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
})().catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
`;

function runClient(data: { url: string; token: string; bodies: string[]; load: Load }): Promise<{ sent: bigint[]; ms: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(CLIENT, { eval: true, workerData: data });
    w.once('message', (m: { sent: bigint[]; ms: number } | { error: string }) => {
      void w.terminate();
      if ('error' in m) reject(new Error(m.error));
      else resolve(m);
    });
    w.once('error', reject);
  });
}

const uriOf = (i: number) => `/search?id=${i}%27%20OR%20%271%27%3D%271`;

async function latency(dir: string, load: Load, n: number) {
  const file = path.join(dir, `http-${load.kind}-${load.kind === 'open' ? load.rate : load.clients}.db`);
  const store = await openSqliteStore(file);
  const origin = await ensureOrigin(store);
  const deps: AppDeps = { store, clock: systemClock, keys: memoryKeyRing(), origin };
  const { adminToken } = await bootstrap(deps);
  // As `bulwark serve` on SQLite: signal batches commit on the write thread (BENCH_WRITES=here:
  // on the main thread).
  const thread = process.env.BENCH_WRITES === 'here' ? undefined : await startSqliteWriteThread(file);
  const server = await createServer({
    deps,
    logger: createLogger('silent'),
    webDir: path.join(dir, 'no-web'),
    signals: { webhooks: { waf: mapping }, ...(thread ? { commit: (subs) => thread.commitSignals(subs) } : {}) },
  });
  // On the bus (committed), and matched by the run waiting for it.
  const heard = new Map<string, bigint>();
  server.signals.bus.on('signal', (s) => heard.set(s.labels.uri ?? '', process.hrtime.bigint()));
  const matched = new Map<number, bigint>();
  const detections = busDetections(server.signals.bus);
  const injectedAt = Date.now() - 1000;
  // Run i waits from when run i − WAITING_RUNS was matched: WAITING_RUNS runs wait at any time.
  const wait = (i: number) => {
    let unsubscribe = () => {};
    const tracker = new DetectionTracker(runOf(i), [DETECTED], () => {
      matched.set(i, process.hrtime.bigint());
      unsubscribe();
      if (i + WAITING_RUNS < n) wait(i + WAITING_RUNS);
    });
    tracker.injected(injectedAt);
    unsubscribe = detections.subscribe((s) => void tracker.offer(s));
  };
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.app.server.address() as { port: number };
  const base = { url: `http://127.0.0.1:${port}/v1/signals/webhook/waf`, token: adminToken! };
  const bodies = (from: number, n: number) => Array.from({ length: n }, (_, k) => payload(from + k).toString('utf8'));
  await runClient({ ...base, load: { kind: 'closed', clients: 4, goal: false }, bodies: bodies(1_000_000, 300) }); // warm-up
  for (let i = 0; i < Math.min(WAITING_RUNS, n); i++) wait(i);
  const { sent, ms } = await runClient({ ...base, load, bodies: bodies(0, n) });
  const onBus = sent.map((t, i) => {
    const at = heard.get(uriOf(i));
    assert(at !== undefined && at > t, `signal ${i} was announced after its POST was sent and before it was acknowledged`);
    return Number(at - t) / 1e6;
  });
  const samples = sent.map((t, i) => {
    const at = matched.get(i);
    assert(at !== undefined && at > t, `signal ${i} was matched by its run after its POST was sent and before it was acknowledged`);
    return Number(at - t) / 1e6;
  });
  await server.app.close();
  await thread?.close();
  await store.close();
  return {
    load: describeLoad(load),
    goal: load.goal,
    posts: n,
    waitingRuns: WAITING_RUNS,
    postsPerSec: n / (ms / 1000),
    ms: summarize(samples),
    onBusMs: summarize(onBus),
  };
}

runMain(async () => {
  const facts = machineFacts();
  if (!args.noFacts) printFacts(facts);
  const dir = tempDir('bulwark-bench-signals-');
  const store = await openSqliteStore(path.join(dir, 'signals.db'));
  const deps: AppDeps = { store, clock: systemClock, keys: memoryKeyRing(), origin: 'bench' };
  const d = await store.durability();
  assert(d.settings.synchronous === 'full' && d.settings.journal_mode === 'wal', 'SQLite runs WAL with synchronous=FULL');
  log(`throughput: ${PRODUCERS} producers, ${SIGNALS_PER_PHASE.toLocaleString('en-US')} signals per phase, ${ROUNDS} rounds`);
  const tp = await throughput(store, deps, path.join(dir, 'signals.db'));
  await store.close();
  const lat = [];
  for (const load of HTTP_LOADS) {
    log(`latency: ${HTTP_POSTS} POSTs over loopback HTTP, ${describeLoad(load)}`);
    lat.push(await latency(dir, load, HTTP_POSTS));
  }

  const loadEnd = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  printTable(
    'Signal ingestion on SQLite (WAL, synchronous=FULL)',
    ['figure', 'goal', 'measured', 'verdict'],
    [
      [
        `durable signals/s, ${PRODUCERS} producers (ingest + evidence + ledger)`,
        '≥ 5,000/s',
        `${Math.round(tp.ingestPerSec).toLocaleString('en-US')}/s (avg ${tp.avgBatch.toFixed(1)} signals per transaction)`,
        tp.ingestPerSec >= 5000 ? 'met' : 'MISSED',
      ],
      ['plain INSERT of the same rows, same batching', '', `${Math.round(tp.plainPerSec).toLocaleString('en-US')}/s`, ''],
      [
        'ratio ingest / plain INSERT (median per round)',
        'report',
        `${fmtRatio(tp.ratio)} (rounds: ${tp.perRound.map(fmtRatio).join(', ')})`,
        '',
      ],
      [
        'ingest signals/s per round',
        '',
        tp.phases
          .filter((p) => p.impl === 'ingest')
          .map((p) => Math.round(p.perSec).toLocaleString('en-US'))
          .join(', '),
        '',
      ],
      ...lat.flatMap((l) => [
        [
          `HTTP POST → matched detection, ${l.load}: p50 / p99 (max), POSTs/s`,
          l.goal ? 'p99 < 20 ms' : 'report',
          `${fmtMs(l.ms.median)} / ${fmtMs(l.ms.p99)} (${fmtMs(l.ms.max)}), ${fmtRate(l.postsPerSec)}`,
          l.goal ? (l.ms.p99 < 20 ? 'met' : 'MISSED') : '',
        ],
        [`  of which POST → on the bus (committed): p50 / p99`, '', `${fmtMs(l.onBusMs.median)} / ${fmtMs(l.onBusMs.p99)}`, ''],
      ]),
      ['runs waiting for their detection during the latency phases', '', String(WAITING_RUNS), ''],
    ],
  );
  console.log(`\nload average at start ${facts.loadavg}, at end ${loadEnd} (${facts.cores} cores: above that, other processes competed)`);
  writeJson('signal-ingest', {
    loadEnd,
    quick: args.quick,
    facts,
    producers: PRODUCERS,
    signalsPerPhase: SIGNALS_PER_PHASE,
    rounds: ROUNDS,
    throughput: tp,
    latency: lat,
  });
});
