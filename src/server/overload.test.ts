import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, ensureOrigin } from '../app/bootstrap.ts';
import { systemClock, type AppDeps } from '../app/deps.ts';
import { memoryKeyRing } from '../app/ledger/key-ring.ts';
import { loadConfig } from '../config.ts';
import { openSqliteStore } from '../store/sqlite/open-sqlite.ts';
import { tmpDir, type TmpDir } from '../../test/support/tmp.ts';
import { createServer, type BulwarkServer } from './create-server.ts';
import { createLogger } from './logging.ts';
import { AdmissionController, overloadLimits, type LoadSource, type Priority, type ShedReason } from './overload.ts';

/** A clock and a heap the test moves by hand. */
function fakeSource(): LoadSource & { t: number; used: number; limit: number; util: number } {
  const s = {
    t: 1000,
    used: 100,
    limit: 1000,
    util: 0.2,
    now: () => s.t,
    heap: () => ({ used: s.used, limit: s.limit }),
    utilization: () => s.util,
  };
  return s;
}

/** Samples taken `lateMs` late each, as the timer would take them in a lagging loop. */
function lateSamples(c: AdmissionController, src: ReturnType<typeof fakeSource>, lateMs: number, n: number): void {
  for (let i = 0; i < n; i++) {
    src.t += 20 + lateMs;
    c.sample();
  }
}

const admits = (c: AdmissionController, p: Priority): ShedReason | 'admitted' => {
  const r = c.admit(p);
  if (r === undefined) {
    c.release();
    return 'admitted';
  }
  return r;
};

describe('overloadLimits', () => {
  it('derives low and critical from the normal bounds', () => {
    expect(overloadLimits()).toEqual({
      low: { inFlight: 128, lagMs: 250, heapFraction: 0.75, utilization: 0.9 },
      normal: { inFlight: 256, lagMs: 500, heapFraction: 0.85, utilization: 0.98 },
      critical: { inFlight: 1024, lagMs: 2500, heapFraction: 0.95, utilization: Infinity },
    });
    const l = overloadLimits({ maxInFlight: 1, maxEventLoopDelayMs: 100, maxHeapFraction: 0.95, limits: { critical: { lagMs: 10_000 } } });
    expect(l.low).toEqual({ inFlight: 1, lagMs: 50, heapFraction: 0.85, utilization: 0.9 });
    expect(l.critical).toEqual({ inFlight: 4, lagMs: 10_000, heapFraction: 0.98, utilization: Infinity });
  });
});

describe('configuration', () => {
  it('takes the delay and heap bounds from the file or the environment, within their ranges', () => {
    const c = loadConfig({}, {});
    expect([c.maxInFlight, c.maxEventLoopDelayMs, c.maxHeapFraction]).toEqual([256, 500, 0.85]);
    const e = loadConfig({}, { BULWARK_MAX_EVENT_LOOP_DELAY_MS: '200', BULWARK_MAX_HEAP_FRACTION: '0.9' });
    expect([e.maxEventLoopDelayMs, e.maxHeapFraction]).toEqual([200, 0.9]);
    expect(() => loadConfig({}, { BULWARK_MAX_EVENT_LOOP_DELAY_MS: '5' })).toThrow(/maxEventLoopDelayMs/);
    expect(() => loadConfig({}, { BULWARK_MAX_HEAP_FRACTION: '1' })).toThrow(/maxHeapFraction/);
  });
});

describe('AdmissionController', () => {
  it('counts requests in flight and refuses low first, then normal, critical last', () => {
    const c = new AdmissionController({ maxInFlight: 8 }, fakeSource());
    for (let i = 0; i < 4; i++) expect(c.admit('normal')).toBeUndefined();
    expect(c.admit('low')).toBe('in_flight');
    for (let i = 0; i < 4; i++) expect(c.admit('normal')).toBeUndefined();
    expect(c.admit('normal')).toBe('in_flight');
    for (let i = 0; i < 24; i++) expect(c.admit('critical')).toBeUndefined();
    expect(c.admit('critical')).toBe('in_flight');
    expect(c.stats().inFlight).toBe(32);
    for (let i = 0; i < 29; i++) c.release();
    expect(c.admit('low')).toBeUndefined();
    expect(c.stats().shed).toEqual({ 'low:in_flight': 1, 'normal:in_flight': 1, 'critical:in_flight': 1 });
  });

  it('sheds by smoothed event-loop delay, by priority, and admits again once the loop is on time', () => {
    const src = fakeSource();
    const c = new AdmissionController({}, src);
    c.sample();
    expect(c.lagMs()).toBe(0);
    lateSamples(c, src, 400, 20);
    expect(c.lagMs()).toBeGreaterThan(390);
    expect(admits(c, 'low')).toBe('event_loop_delay');
    expect(admits(c, 'normal')).toBe('admitted');
    expect(admits(c, 'critical')).toBe('admitted');
    lateSamples(c, src, 3000, 20);
    expect(admits(c, 'normal')).toBe('event_loop_delay');
    expect(admits(c, 'critical')).toBe('event_loop_delay');
    // On time again: the smoothed delay falls below each bound within a few samples.
    let samples = 0;
    while (admits(c, 'low') !== 'admitted') {
      lateSamples(c, src, 0, 1);
      samples += 1;
    }
    expect(samples).toBeGreaterThan(2);
    expect(samples).toBeLessThan(20);
  });

  it('sees a long turn of the loop while it is going on, before the next sample', () => {
    const src = fakeSource();
    const c = new AdmissionController({}, src);
    c.sample();
    src.t += 200;
    expect(admits(c, 'low')).toBe('admitted');
    src.t += 100; // the sample due 20 ms after the last one is now 280 ms late
    expect(c.lagMs()).toBe(280);
    expect(admits(c, 'low')).toBe('event_loop_delay');
    expect(admits(c, 'normal')).toBe('admitted');
    src.t += 300;
    expect(admits(c, 'normal')).toBe('event_loop_delay');
    expect(admits(c, 'critical')).toBe('admitted');
    expect(c.admit('low', false)).toBeUndefined();
    c.release();
    c.sample();
    expect(c.lagMs()).toBeCloseTo(0.3 * 580);
  });

  it('measures nothing before sampling starts or after it stops', () => {
    const src = fakeSource();
    const c = new AdmissionController({}, src);
    src.t += 10_000;
    expect(c.lagMs()).toBe(0);
    expect(admits(c, 'low')).toBe('admitted');
    c.sample();
    src.t += 10_000;
    expect(admits(c, 'low')).toBe('event_loop_delay');
    c.stop();
    expect(admits(c, 'low')).toBe('admitted');
  });

  it('sheds by heap in use, by priority', () => {
    const src = fakeSource();
    const c = new AdmissionController({}, src);
    src.used = 800;
    c.sample();
    expect(admits(c, 'low')).toBe('heap');
    expect(admits(c, 'normal')).toBe('admitted');
    src.used = 900;
    c.sample();
    expect(admits(c, 'normal')).toBe('heap');
    expect(admits(c, 'critical')).toBe('admitted');
    src.used = 960;
    c.sample();
    expect(admits(c, 'critical')).toBe('heap');
    src.used = 100;
    c.sample();
    expect(admits(c, 'low')).toBe('admitted');
  });

  it('sheds low, then normal, by event-loop utilisation (smoothed), never critical', () => {
    const src = fakeSource();
    const c = new AdmissionController({}, src);
    src.util = 1; // busy all the time, in turns too short to be late
    lateSamples(c, src, 0, 5);
    expect(admits(c, 'low')).toBe('admitted');
    lateSamples(c, src, 0, 30);
    expect(c.stats().utilization).toBeGreaterThan(0.95);
    expect(admits(c, 'low')).toBe('event_loop_utilization');
    expect(admits(c, 'normal')).toBe('admitted');
    lateSamples(c, src, 0, 30);
    expect(admits(c, 'normal')).toBe('event_loop_utilization');
    expect(admits(c, 'critical')).toBe('admitted');
    // A request made in the process is not refused for a busy loop, only for the in-flight count or the heap.
    expect(c.admit('low', false)).toBeUndefined();
    c.release();
    src.util = 0.3;
    lateSamples(c, src, 0, 10);
    expect(admits(c, 'low')).toBe('admitted');
  });

  it('disabled: one in-flight bound for every priority, nothing measured', () => {
    const src = fakeSource();
    const c = new AdmissionController({ enabled: false, maxInFlight: 2 }, src);
    c.sample();
    src.used = 999;
    lateSamples(c, src, 5000, 5);
    expect(c.lagMs()).toBe(0);
    expect(c.admit('low')).toBeUndefined();
    expect(c.admit('low')).toBeUndefined();
    expect(c.admit('critical')).toBe('in_flight');
  });

  it('tells its listeners about each refusal', () => {
    const src = fakeSource();
    const c = new AdmissionController({}, src);
    const seen: string[] = [];
    const off = c.onShed((p, r) => seen.push(`${p}:${r}`));
    c.sample();
    src.t += 400;
    c.admit('low');
    c.admit('normal');
    off();
    c.admit('low');
    expect(seen).toEqual(['low:event_loop_delay']);
    expect(c.stats().shed).toEqual({ 'low:event_loop_delay': 2 });
  });

  it('with the real clock, a blocked loop is seen at once', () => {
    const c = new AdmissionController({ sampleIntervalMs: 5, limits: { low: { lagMs: 100 }, normal: { lagMs: 60_000 } } });
    c.start();
    try {
      const end = performance.now() + 120;
      while (performance.now() < end) {
        // a synchronous handler holding the loop
      }
      expect(c.lagMs()).toBeGreaterThanOrEqual(100);
      expect(c.admit('low')).toBe('event_loop_delay');
      expect(c.admit('normal')).toBeUndefined();
    } finally {
      c.stop();
    }
  });
});

describe('admission in the server', () => {
  let dir: TmpDir;
  let server: BulwarkServer;
  let admin: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    dir = await tmpDir('bulwark-overload-');
    const store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
    const deps: AppDeps = { store, clock: systemClock, keys: memoryKeyRing(), origin: await ensureOrigin(store) };
    admin = (await bootstrap(deps)).adminToken!;
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    // No low-priority request is admitted: listing pages are refused, the rest is not.
    server = await createServer({
      deps,
      logger: createLogger('warn', sink),
      webDir: path.join(dir.path, 'no-web'),
      overload: { limits: { low: { inFlight: 0 } }, retryAfterSeconds: 2 },
      experiments: { stateDir: dir.path },
    });
    await server.app.ready();
    close = async () => {
      await server.app.close();
      await store.close();
      await dir.cleanup();
    };
  });
  afterAll(() => close());

  it('reads the priority of the route before authentication, and never sheds health checks', async () => {
    const auth = { authorization: `Bearer ${admin}` };
    const listed = await server.app.inject({ url: '/v1/ledger/entries', headers: auth });
    expect(listed.statusCode).toBe(503);
    expect(listed.headers['retry-after']).toBe('2');
    expect(listed.json()).toEqual({ error: 'overloaded', message: 'the server is busy; retry after the Retry-After delay' });
    // Refused before the auth hook: no token needed to be told to come back later.
    expect((await server.app.inject({ url: '/v1/signals' })).statusCode).toBe(503);
    expect((await server.app.inject({ url: '/v1/session', headers: auth })).statusCode).toBe(200);
    expect((await server.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await server.app.inject({ method: 'POST', url: '/v1/experiments/stop-all', headers: auth })).statusCode).toBe(200);
    // Outside the route table (dashboard files, unknown paths): low.
    expect((await server.app.inject({ url: '/v1/nope', headers: auth })).statusCode).toBe(503);
    const metrics = (await server.app.inject({ url: '/metrics', headers: auth })).body;
    expect(metrics).toMatch(/bulwark_http_requests_shed_total\{priority="low",reason="in_flight"\} 3/);
    expect(metrics).toMatch(/bulwark_http_requests_shed_total\{priority="critical",reason="heap"\} 0/);
    // Only the scrape itself is in flight: every other request was released when it closed.
    expect(metrics).toMatch(/bulwark_http_requests_in_flight 1/);
    expect(metrics).toMatch(/bulwark_admission_event_loop_delay_seconds 0/);
  });
});
