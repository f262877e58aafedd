/**
 * Overload over real loopback HTTP: a server in a child process (SQLite file, 3,000 ledger
 * entries, signal commits on the write thread as in `bulwark serve`) and bursts of a few thousand
 * concurrent requests from threads of this process. Asserted are classes of behaviour, not figures: the
 * excess is refused with 503 + Retry-After (never a 500, never a hang), waits stay bounded,
 * health checks and the global stop answer during the burst, and signal ingest is admitted
 * before listing pages. Each request has a client timeout, so the test ends by itself.
 *
 * The listing requests ask for 1,000 entries a page, so that a burst is many times what the
 * server can serve on any machine; the `low` bound on event-loop delay is lowered to 50 ms so
 * that shedding starts early on a slow machine too. Other bounds are the defaults.
 *
 * Bounds: on a quiet machine no client waits 5 s and /healthz answers within 2.5 s. A shared
 * machine can be many times slower for a while, so the bounds grow with the time one page and
 * one signal take on the idle server, measured just before each burst: at most 300 times either
 * for any client, where a burst of 1,500 pages served without shedding makes the last client
 * wait about 1,500 page times (and most of them time out), and 200 times either for /healthz
 * (it waits for about one turn of the event loop, in which every flooding connection is read and
 * answered, and the client threads compete for the same cores).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  load,
  loadInThread,
  probeInThread,
  quantile,
  startOverloadServer,
  summarise,
  type ChildServer,
  type Outcome,
  type RequestSpec,
  type ThreadResult,
} from '../support/burst.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

let dir: TmpDir | undefined;
let server: ChildServer | undefined;
/** Set by pageTime() before each burst. */
let waitBoundMs = 5_000;
let healthBoundMs = 2_500;
const clientTimeoutMs = () => waitBoundMs * 2;

beforeAll(async () => {
  dir = await tmpDir('bulwark-overload-');
  server = await startOverloadServer({
    db: path.join(dir.path, 'bulwark.db'),
    entries: 3000,
    overload: { limits: { low: { lagMs: 50 } } },
  });
}, 180_000);

afterAll(async () => {
  await server?.stop(5000);
  await dir?.cleanup();
});

const s = () => server!;
const listing = (): RequestSpec => ({
  method: 'GET',
  path: '/v1/ledger/entries?limit=1000',
  headers: { authorization: `Bearer ${s().admin}` },
});
let nextSignal = 0;
const ingest = (): RequestSpec => {
  const base = (nextSignal += 100_000);
  return {
    method: 'POST',
    path: '/v1/signals/webhook/load',
    headers: { authorization: `Bearer ${s().ingest}` },
    body: JSON.stringify({ id: `sig-${base}-{i}`, rule: '942100' }),
  };
};

/** Health checks and the global stop, each one request at a time on a new connection (each on a thread of its own), while `during` runs. */
async function withProbes<T>(during: () => Promise<T>): Promise<{ result: T; healthz: Outcome[]; stopAll: Outcome[] }> {
  const opts = { timeoutMs: clientTimeoutMs(), deadlineMs: 4 * waitBoundMs };
  const healthz = probeInThread(s().port, { method: 'GET', path: '/healthz' }, { ...opts, everyMs: 50 });
  const stopAll = probeInThread(
    s().port,
    { method: 'POST', path: '/v1/experiments/stop-all', headers: { authorization: `Bearer ${s().admin}` } },
    { ...opts, everyMs: 250 },
  );
  let result: T;
  try {
    result = await during();
  } finally {
    healthz.stop();
    stopAll.stop();
  }
  return { result, healthz: (await healthz.result).outcomes, stopAll: (await stopAll.result).outcomes };
}

const outcomesOf = (r: ThreadResult) => r.outcomes;

function expectRefusedProperly(outcomes: readonly Outcome[], ok: number): void {
  const summary = summarise(outcomes);
  expect(Object.keys(summary.byStatus).map(Number).sort(), JSON.stringify(summary)).toEqual(
    [ok, 503].filter((c) => summary.byStatus[c] !== undefined).sort(),
  );
  expect(summary.shedWithoutRetryAfter).toBe(0);
  for (const o of outcomes.filter((x) => x.status === 503)) expect(o.error).toBe('overloaded');
  expect(summary.maxMs, JSON.stringify(summary)).toBeLessThan(waitBoundMs);
}

/** Signals of source `load` this server has written, from its metrics. */
async function received(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${s().port}/metrics`, { headers: { authorization: `Bearer ${s().admin}` } });
  const m = /^bulwark_signals_received_total\{source="load"\} (\d+)$/m.exec(await res.text());
  return m ? Number(m[1]) : 0;
}

/** The median of five answers with this status, one request at a time (after a burst, once they come). */
async function oneAtATime(spec: RequestSpec, status: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 200 && times.length < 5; i++) {
    const [o] = await load({ port: s().port, spec, requests: 1, timeoutMs: 60_000 });
    if (o!.status === status) times.push(o!.ms);
    else await new Promise((r) => setTimeout(r, 100));
  }
  expect(times).toHaveLength(5);
  return quantile(times, 0.5);
}

/** The time of one listing page and of one signal on the idle server set the bounds of the next burst. */
async function calibrate(): Promise<void> {
  const page = await oneAtATime(listing(), 200);
  const post = await oneAtATime(ingest(), 202);
  waitBoundMs = Math.max(5_000, 300 * page, 300 * post);
  healthBoundMs = Math.max(2_500, 200 * page, 200 * post);
}

describe('overload over loopback', () => {
  it('a burst at a listing page: the excess gets 503 with Retry-After, nobody waits long, health and the global stop answer', async () => {
    await calibrate();
    const { result, healthz, stopAll } = await withProbes(async () =>
      outcomesOf(await loadInThread({ port: s().port, spec: listing(), requests: 1500, sockets: 500, timeoutMs: clientTimeoutMs() })),
    );
    const summary = summarise(result);
    expectRefusedProperly(result, 200);
    // The burst is far beyond capacity: most of it is refused.
    expect(summary.byStatus[503] ?? 0, JSON.stringify(summary)).toBeGreaterThan(750);
    expect(healthz.length).toBeGreaterThan(0);
    for (const h of healthz) expect(h.status).toBe(200);
    expect(Math.max(...healthz.map((h) => h.ms)), JSON.stringify(healthz.map((h) => Math.round(h.ms)))).toBeLessThan(healthBoundMs);
    expect(stopAll.length).toBeGreaterThan(0);
    for (const o of stopAll) expect(o.status).toBe(200);
    expect(Math.max(...stopAll.map((o) => o.ms))).toBeLessThan(waitBoundMs);
    // Afterwards the page is served again, as soon as the event loop has caught up.
    let after: Outcome | undefined;
    for (let i = 0; i < 100 && after?.status !== 200; i++) {
      [after] = await load({ port: s().port, spec: listing(), requests: 1, timeoutMs: clientTimeoutMs() });
      if (after!.status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(after!.status).toBe(200);
  }, 180_000);

  it('a burst at signal ingest: each signal is accepted (and stored) or refused with Retry-After, nobody waits long', async () => {
    await calibrate();
    const before = await received();
    const { result, healthz } = await withProbes(async () =>
      outcomesOf(await loadInThread({ port: s().port, spec: ingest(), requests: 1500, sockets: 500, timeoutMs: clientTimeoutMs() })),
    );
    expectRefusedProperly(result, 202);
    for (const h of healthz) expect(h.status).toBe(200);
    const accepted = result.filter((o) => o.status === 202).length;
    expect(accepted).toBeGreaterThan(0);
    expect((await received()) - before).toBe(accepted);
  }, 180_000);

  it('under a mixed burst, signal ingest is admitted before listing pages', async () => {
    await calibrate();
    const [pages, signals] = (
      await Promise.all([
        loadInThread({ port: s().port, spec: listing(), requests: 1500, sockets: 400, timeoutMs: clientTimeoutMs() }),
        loadInThread({ port: s().port, spec: ingest(), requests: 1000, sockets: 200, timeoutMs: clientTimeoutMs() }),
      ])
    ).map(outcomesOf) as [Outcome[], Outcome[]];
    expectRefusedProperly(pages, 200);
    expectRefusedProperly(signals, 202);
    const share = (os: readonly Outcome[], ok: number) => os.filter((o) => o.status === ok).length / os.length;
    const detail = JSON.stringify({ pages: summarise(pages), signals: summarise(signals) });
    expect(share(signals, 202), detail).toBeGreaterThan(0.5);
    expect(share(signals, 202), detail).toBeGreaterThan(share(pages, 200));
  }, 180_000);
});
