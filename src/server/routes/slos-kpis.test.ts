import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../store/experiments/port.ts';
import { makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';

let app: TestApp;
const clock = new ManualClock(Date.parse('2026-06-15T12:00:00.000Z'));
const auth = () => ({ authorization: `Bearer ${app.adminToken}` });

let n = 0;
function run(outcome: string, ttdMs: number | null, hoursAgo: number, techniques: string[]): RunRecord {
  const end = new Date(clock.now().getTime() - hoursAgo * 3_600_000).toISOString();
  return {
    id: `kpirun${String(n++).padStart(10, '0')}`,
    experiment: 'probe',
    state: 'done',
    outcome,
    reason: 'test',
    startedAt: end,
    endedAt: end,
    leaseOwner: null,
    leaseUntil: null,
    rollbacks: [],
    journal: { bulwark: { techniques, detections: [{ name: 'waf' }] }, experiment: { tags: [] } },
    ttdMs,
    dryRun: false,
  };
}

beforeAll(async () => {
  app = await makeTestApp({ clock });
  const store = app.deps.store.runs;
  await store.insert(run('detected', 1_000, 1, ['T1190']));
  await store.insert(run('detected', 3_000, 2, ['T1190', 'T1059']));
  await store.insert(run('detected-late', 9_000, 3, ['T1059']));
  await store.insert(run('missed', null, 4, ['T1059'])); // incomplete: never detected
  await store.insert(run('not-run', null, 4, ['T1190'])); // nothing was injected: left out
  await store.insert(run('aborted', 500, 4, ['T1190'])); // left out
  await store.insert(run('detected', 100_000, 24 * 10, ['T1190'])); // outside a 7-day window
});
afterAll(async () => {
  await app.close();
});

type Report = {
  kpis: {
    kpi: string;
    group: string | null;
    status: string;
    count: number;
    incomplete: number;
    meanMs: number | null;
    p50Ms: number | null;
    p90Ms: number | null;
    why: string | null;
  }[];
};

describe('KPIs over HTTP', () => {
  it('gives time to detect from runs over the window; the incident KPIs without cases say no data (never zero) and why', async () => {
    const res = await app.app.inject({ method: 'GET', url: '/v1/kpis?window=7d', headers: auth() });
    expect(res.statusCode, res.body).toBe(200);
    const r = res.json<Report>();
    expect(r.kpis.find((k) => k.kpi === 'time-to-detect')).toMatchObject({
      status: 'ok',
      count: 3,
      incomplete: 1,
      meanMs: 13_000 / 3,
      p50Ms: 3_000,
      p90Ms: 9_000,
    });
    const ack = r.kpis.find((k) => k.kpi === 'time-to-acknowledge')!;
    expect(ack).toMatchObject({ status: 'no-data', count: 0, meanMs: null });
    expect(ack.why).toBe('no complete time to acknowledge pair in the window from cases and incidents');
    expect(r.kpis.find((k) => k.kpi === 'time-to-repair')).toMatchObject({
      status: 'no-data',
      why: 'no complete time to repair pair in the window from cases and incidents',
    });
  });

  it('groups by technique, and refuses a window that is not a duration', async () => {
    const r = (await app.app.inject({ method: 'GET', url: '/v1/kpis?window=7d&by=technique', headers: auth() })).json<Report>();
    const ttd = r.kpis.filter((k) => k.kpi === 'time-to-detect').map((k) => [k.group, k.count, k.incomplete]);
    expect(ttd).toEqual([
      [null, 3, 1],
      ['T1059', 2, 1],
      ['T1190', 2, 0],
    ]);
    const bad = await app.app.inject({ method: 'GET', url: '/v1/kpis?window=soon', headers: auth() });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ message: string }>().message).toMatch(/window is a duration/);
  });

  it('exposes KPIs on /metrics in seconds over 30 days, absent without data', async () => {
    const text = (await app.app.inject({ method: 'GET', url: '/metrics', headers: auth() })).body;
    expect(text).toContain('bulwark_kpi_seconds{kpi="time-to-detect",stat="p90"} 100');
    expect(text).toContain('bulwark_kpi_pairs{kpi="time-to-detect",kind="incomplete"} 1');
    expect(text).not.toMatch(/bulwark_kpi_seconds\{kpi="time-to-acknowledge"/);
  });
});
