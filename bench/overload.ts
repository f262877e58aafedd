/**
 * Overload: load far beyond capacity at a listing page (GET /v1/ledger/entries, a `low` route,
 * one page of 100 entries) against a server in a child process (SQLite file with 3,000 entries,
 * signal commits on the write thread, as in `bulwark serve`), each run on a fresh server, three
 * ways in the same run:
 *
 *   before       the in-flight count only (`overload.enabled: false`) and Node's listen backlog
 *                of 511: the behaviour the review measured
 *   backlog      the in-flight count only, with the listen backlog of `bulwark serve` (4096)
 *   controller   the admission controller (priorities; requests in flight, event-loop delay,
 *                heap) with that backlog: the behaviour now
 *
 * under two loads:
 *
 *   burst      N requests at once over 1,000 client sockets (the overload test's burst, larger)
 *   4× open    an open loop at four times the measured capacity for a few seconds: requests are
 *              sent at their time whether or not earlier ones were answered (the review's case)
 *
 * Reported for each: the share answered 503, the latency of the admitted requests (p50, p99),
 * client timeouts (15 s, as in the review), the longest wait, the latency of /healthz during the
 * load (one request at a time on a new connection every 100 ms, as a health checker sends them),
 * and the recovery time: from the end of sending (for a burst: its start) until a listing request
 * on a new connection is answered 200 within max(50 ms, 5 × its latency on the idle server).
 * The load and the /healthz probes each run on a thread of their own; how late the load's thread
 * sent its requests is reported too (a client short of CPU shows there, not as server latency).
 * Rounds alternate the order of the servers; the table shows the medians.
 *
 *   tsx bench/overload.ts [--quick]
 */
import os from 'node:os';
import path from 'node:path';
import {
  load,
  loadInThread,
  probeInThread,
  quantile,
  startOverloadServer,
  summarise,
  type Outcome,
  type RequestSpec,
  type ThreadResult,
} from '../test/support/burst.ts';
import type { OverloadServerOptions } from '../test/support/overload-server.ts';
import { fmtMs, log, machineFacts, parseArgs, printFacts, printTable, runMain, tempDir, writeJson } from './lib/common.ts';

const args = parseArgs();
const ENTRIES = 3000;
const BURST = args.quick ? 2000 : 3000;
const OPEN_SECONDS = args.quick ? 3 : 6;
const CLIENT_TIMEOUT_MS = 15_000;
const SOCKETS = 1000;
const ROUNDS = args.quick ? 1 : 3;

const MODES: { name: string; overload: OverloadServerOptions['overload']; backlog: number }[] = [
  { name: 'before: in-flight count only, backlog 511', overload: { enabled: false }, backlog: 511 },
  { name: 'in-flight count only, backlog 4096', overload: { enabled: false }, backlog: 4096 },
  { name: 'admission controller, backlog 4096', overload: {}, backlog: 4096 },
];

interface Result {
  scenario: string;
  mode: string;
  requests: number;
  byStatus: Record<string, number>;
  shedRate: number;
  admittedMs: { p50: number; p99: number };
  timeouts: number;
  maxMs: number;
  healthzMs: { n: number; p50: number; max: number; failed: number };
  recoveryMs: number;
  sendMs: number;
  /** How late the client thread sent its requests (p99): large values mean the client was short of CPU. */
  clientLateP99Ms: number;
  /** The load thread's own event-loop delay (p99, max): the client's share of the CPU. */
  clientDelayMs: ThreadResult['clientDelayMs'];
  /** The open loop's rate, requests per second. */
  rate?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** When the last request of a load was due, on this thread's clock (at least `t`). */
const endOfSending = (t: number, outcomes: readonly Outcome[]) =>
  Math.max(t, ...outcomes.map((o) => o.dueEpochMs - performance.timeOrigin));

async function recovery(port: number, spec: RequestSpec, fastMs: number, from: number): Promise<number> {
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    const t = performance.now();
    const [o] = await load({ port, spec, requests: 1, sockets: 1, timeoutMs: CLIENT_TIMEOUT_MS });
    if (o!.status === 200 && o!.ms <= fastMs) return t - from;
    await sleep(20);
  }
  return NaN;
}

async function scenario(
  dir: string,
  name: string,
  mode: (typeof MODES)[number],
  run: (
    port: number,
    spec: RequestSpec,
  ) => Promise<{ outcomes: Outcome[]; sentAt: number; sendMs: number; clientDelayMs: ThreadResult['clientDelayMs'] }>,
): Promise<Result> {
  const server = await startOverloadServer({
    db: path.join(dir, `${name.replace(/\W+/g, '-')}-${mode.name.replace(/\W+/g, '-')}.db`),
    entries: ENTRIES,
    overload: mode.overload,
    backlog: mode.backlog,
  });
  try {
    const spec: RequestSpec = { method: 'GET', path: '/v1/ledger/entries', headers: { authorization: `Bearer ${server.admin}` } };
    const idle = await load({ port: server.port, spec, requests: 30, sockets: 1, timeoutMs: CLIENT_TIMEOUT_MS });
    const idleMs = quantile(
      idle.map((o) => o.ms),
      0.5,
    );
    const health = probeInThread(
      server.port,
      { method: 'GET', path: '/healthz' },
      { everyMs: 100, timeoutMs: CLIENT_TIMEOUT_MS, deadlineMs: 120_000 },
    );
    const { outcomes, sentAt, sendMs, clientDelayMs } = await run(server.port, spec);
    const rec = await recovery(server.port, spec, Math.max(50, 5 * idleMs), sentAt);
    health.stop();
    const { outcomes: h } = await health.result;
    const s = summarise(outcomes);
    const hOk = h.filter((o) => o.status === 200).map((o) => o.ms);
    const r: Result = {
      scenario: name,
      mode: mode.name,
      requests: s.requests,
      byStatus: s.byStatus,
      shedRate: s.shedRate,
      admittedMs: { p50: s.admittedMs.p50, p99: s.admittedMs.p99 },
      timeouts: s.timeouts,
      maxMs: s.maxMs,
      healthzMs: { n: h.length, p50: quantile(hOk, 0.5), max: Math.max(...h.map((o) => o.ms)), failed: h.length - hOk.length },
      recoveryMs: rec,
      sendMs,
      clientLateP99Ms: s.sentLateP99Ms,
      clientDelayMs,
    };
    log(
      `${name}, ${mode.name}: ${JSON.stringify(s.byStatus)}, admitted p50 ${fmtMs(s.admittedMs.p50)} p99 ${fmtMs(s.admittedMs.p99)}, timeouts ${s.timeouts}, healthz max ${fmtMs(r.healthzMs.max)}, recovery ${fmtMs(rec)}, client late p99 ${fmtMs(s.sentLateP99Ms)}, client loop delay p99 ${fmtMs(clientDelayMs.p99)}`,
    );
    return r;
  } finally {
    await server.stop();
  }
}

runMain(async () => {
  const facts = machineFacts();
  if (!args.noFacts) printFacts(facts);
  console.log(`\n== overload ${args.quick ? '(quick)' : ''}`);
  const dir = tempDir('bulwark-bench-overload-');

  // Capacity, measured again before each round's open loop (a shared machine's speed drifts):
  // 16 clients, each sending again when answered; no shedding at this concurrency.
  const measureCapacity = async (round: number): Promise<number> => {
    const cap = await startOverloadServer({ db: path.join(dir, `capacity-${round}.db`), entries: ENTRIES, overload: { enabled: false } });
    try {
      const spec: RequestSpec = { method: 'GET', path: '/v1/ledger/entries', headers: { authorization: `Bearer ${cap.admin}` } };
      await load({ port: cap.port, spec, requests: 200, sockets: 16, timeoutMs: CLIENT_TIMEOUT_MS });
      const n = args.quick ? 400 : 1000;
      const t = performance.now();
      const out = await load({ port: cap.port, spec, requests: n, sockets: 16, timeoutMs: CLIENT_TIMEOUT_MS });
      const capacity = n / ((performance.now() - t) / 1000);
      log(`capacity: ${Math.round(capacity)} pages/s (${JSON.stringify(summarise(out).byStatus)})`);
      return capacity;
    } finally {
      await cap.stop();
    }
  };

  // Rounds interleave the servers (and reverse their order), so that a burst of other work on a
  // shared machine spoils a round of each, not one of them; the table shows medians.
  const results: Result[] = [];
  const capacities: number[] = [];
  // The load runs on a thread of its own; recovery counts from when its last request was due
  // (a burst: all at once), known once every request has its answer.
  const burst = async (port: number, spec: RequestSpec) => {
    const t = performance.now();
    const { outcomes, clientDelayMs } = await loadInThread({ port, spec, requests: BURST, sockets: SOCKETS, timeoutMs: CLIENT_TIMEOUT_MS });
    return { outcomes, sentAt: endOfSending(t, outcomes), sendMs: 0, clientDelayMs };
  };
  const open = (rate: number) => async (port: number, spec: RequestSpec) => {
    const t = performance.now();
    const { outcomes, clientDelayMs } = await loadInThread({
      port,
      spec,
      requests: rate * OPEN_SECONDS,
      ratePerSec: rate,
      sockets: SOCKETS,
      timeoutMs: CLIENT_TIMEOUT_MS,
    });
    const sentAt = endOfSending(t, outcomes);
    return { outcomes, sentAt, sendMs: sentAt - t, clientDelayMs };
  };
  const BURST_NAME = `burst of ${BURST}`;
  const OPEN_NAME = `4× capacity for ${OPEN_SECONDS} s`;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? MODES : [...MODES].reverse();
    for (const mode of order) results.push(await scenario(dir, BURST_NAME, mode, burst));
    const capacity = await measureCapacity(round);
    capacities.push(capacity);
    const rate = Math.round(4 * capacity);
    for (const mode of order) results.push({ ...(await scenario(dir, OPEN_NAME, mode, open(rate))), rate });
  }

  const med = (xs: number[]) => quantile(xs, 0.5);
  const rows: string[][] = [];
  for (const name of [BURST_NAME, OPEN_NAME]) {
    for (const mode of MODES) {
      const rs = results.filter((r) => r.scenario === name && r.mode === mode.name);
      const failed = rs.reduce((a, r) => a + r.healthzMs.failed, 0);
      rows.push([
        name === OPEN_NAME ? `${name} (${rs.map((r) => r.rate).join(', ')}/s)` : name,
        mode.name,
        `${Math.round(med(rs.map((r) => r.shedRate)) * 100)}% of ${rs[0]!.requests}`,
        `${fmtMs(med(rs.map((r) => r.admittedMs.p50)))} / ${fmtMs(med(rs.map((r) => r.admittedMs.p99)))}`,
        rs.map((r) => r.timeouts).join(', '),
        fmtMs(med(rs.map((r) => r.maxMs))),
        `${fmtMs(med(rs.map((r) => r.healthzMs.p50)))} / ${fmtMs(med(rs.map((r) => r.healthzMs.max)))}${failed ? ` (${failed} failed)` : ''}`,
        fmtMs(med(rs.map((r) => r.recoveryMs))),
      ]);
    }
  }
  printTable(
    `Overload at GET /v1/ledger/entries (capacity ${capacities.map(Math.round).join(', ')} pages/s; client timeout ${CLIENT_TIMEOUT_MS / 1000} s; medians of ${ROUNDS} round${ROUNDS > 1 ? 's' : ''}, timeouts of each)`,
    ['load', 'server', '503', 'admitted p50 / p99', 'timeouts', 'longest wait', '/healthz p50 / max', 'recovery'],
    rows,
  );
  const loadEnd = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(`\nload average at start ${facts.loadavg}, at end ${loadEnd} (${facts.cores} cores)`);
  writeJson('overload', {
    quick: args.quick,
    facts,
    loadEnd,
    capacities,
    burst: BURST,
    openSeconds: OPEN_SECONDS,
    rounds: ROUNDS,
    results,
  });
});
