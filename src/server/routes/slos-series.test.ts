import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../store/experiments/port.ts';
import { makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';

const NOW = Date.parse('2026-06-15T12:00:00.000Z');
const FILE = `apiVersion: bulwark/v1
kind: SLO
name: sqli-detected
service: shop
objective: 90
window: 7d
sli:
  experiments:
    technique: T1190
alerting:
  minEvents: 3
`;

let app: TestApp;
const clock = new ManualClock(NOW);
const auth = () => ({ authorization: `Bearer ${app.adminToken}` });

function run(n: number, outcome: string, minutesAgo: number): RunRecord {
  const end = new Date(NOW - minutesAgo * 60_000).toISOString();
  return {
    id: `r${String(n).padStart(15, '0')}`,
    experiment: 'sqli-products',
    state: 'done',
    outcome,
    reason: 'test',
    startedAt: end,
    endedAt: end,
    leaseOwner: null,
    leaseUntil: null,
    rollbacks: [],
    journal: { bulwark: { techniques: ['T1190'], detections: [{ name: 'waf' }] } },
    ttdMs: null,
    dryRun: false,
  };
}

beforeAll(async () => {
  app = await makeTestApp({ clock });
  // Detected every 2 hours for 6 days, then 5 misses in the last 20 minutes.
  for (let i = 0; i < 72; i++) await app.deps.store.runs.insert(run(i, 'detected', 6 * 24 * 60 - i * 120));
  for (let i = 0; i < 5; i++) await app.deps.store.runs.insert(run(100 + i, 'missed', 20 - i * 4));
  expect((await app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth(), payload: { file: FILE } })).statusCode).toBe(201);
});
afterAll(async () => {
  await app.close();
});

describe('GET /v1/slos/{name}/series', () => {
  it('gives the budget and burn rates at evenly spaced instants; the last point is the status now', async () => {
    const res = await app.app.inject({ method: 'GET', url: '/v1/slos/sqli-detected/series?points=8', headers: auth() });
    expect(res.statusCode, res.body).toBe(200);
    const s = res.json<any>();
    expect(s.points).toHaveLength(8);
    expect(s.from).toBe('2026-06-08T12:00:00.000Z');
    expect(s.points.at(-1).at).toBe('2026-06-15T12:00:00.000Z');
    const status = (await app.app.inject({ method: 'GET', url: '/v1/slos/sqli-detected', headers: auth() })).json<any>().status;
    const last = s.points.at(-1);
    expect(last.remaining).toBeCloseTo(status.remaining, 12);
    for (const r of status.burnRates) expect(last.burnRates[r.window]).toBe(r.rate);
    expect(last.firing).toContain('page');
    // Before the misses nothing was spent, and nothing fired.
    expect(s.points[6].remaining).toBe(1);
    expect(s.points[6].firing).toEqual([]);
    // The first instant had no event in its window.
    expect(s.points[0].remaining).toBeNull();
  });

  it('refuses a bad point count and an unknown SLO, saying what to fix', async () => {
    const bad = await app.app.inject({ method: 'GET', url: '/v1/slos/sqli-detected/series?points=1', headers: auth() });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/points/);
    const missing = await app.app.inject({ method: 'GET', url: '/v1/slos/nope/series', headers: auth() });
    expect(missing.statusCode).toBe(404);
  });
});
