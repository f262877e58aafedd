import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluatePolicies } from '../../app/slos/policy-job.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import { makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';

// Sunday 2026-06-14, 02:00–04:00 UTC each week: the WAF is redeployed and misses on purpose.
const FILE = `apiVersion: bulwark/v1
kind: SLO
name: waf-maintained
service: shop
objective: 90
window: 7d
sli:
  experiments: {tag: waf}
alerting: {minEvents: 3}
policy: {freezeBelow: 50}
exclusions:
  - name: sunday-redeploy
    start: 2026-01-04T02:00
    duration: 2h
    rrule: FREQ=WEEKLY;BYDAY=SU
`;

let app: TestApp;
const clock = new ManualClock(Date.parse('2026-06-14T03:00:00.000Z'));
const auth = () => ({ authorization: `Bearer ${app.adminToken}` });

let n = 0;
function run(outcome: string, endedAt: string): RunRecord {
  return {
    id: `exrun${String(n++).padStart(11, '0')}`,
    experiment: 'waf-probe',
    state: 'done',
    outcome,
    reason: 'test',
    startedAt: endedAt,
    endedAt,
    leaseOwner: null,
    leaseUntil: null,
    rollbacks: [],
    journal: { bulwark: { techniques: ['T1190'], detections: [{ name: 'waf' }] }, experiment: { tags: ['waf'] } },
    ttdMs: outcome === 'detected' ? 500 : null,
    dryRun: false,
  };
}

beforeAll(async () => {
  app = await makeTestApp({ clock });
});
afterAll(async () => {
  await app.close();
});

const status = async () => {
  const res = await app.app.inject({ method: 'GET', url: '/v1/slos/waf-maintained', headers: auth() });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ status: Record<string, unknown> & { alerts: { firing: boolean }[] }; policy: { state: string } }>();
};

describe('exclusion windows through the server (fake clock)', () => {
  it('leaves the misses of the weekly maintenance window out of the budget, and counts them once it is over', async () => {
    expect((await app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth(), payload: { file: FILE } })).statusCode).toBe(201);
    for (let i = 0; i < 5; i++) await app.deps.store.runs.insert(run('detected', `2026-06-13T1${i}:00:00.000Z`));
    // Inside the window (02:00–04:00 on Sunday).
    for (let i = 0; i < 6; i++) await app.deps.store.runs.insert(run('missed', `2026-06-14T02:${10 + i}:00.000Z`));

    const during = await status();
    expect(during.status).toMatchObject({
      good: 5,
      total: 5,
      consumed: 0,
      excluded: 6,
      exclusion: { name: 'sunday-redeploy', until: '2026-06-14T04:00:00.000Z' },
    });
    expect(during.status.alerts.every((a) => !a.firing)).toBe(true);
    expect(await evaluatePolicies(app.deps)).toMatchObject([{ name: 'waf-maintained', to: 'ok' }]);

    // After the window, misses count again.
    clock.set('2026-06-14T05:00:00.000Z');
    for (let i = 0; i < 6; i++) await app.deps.store.runs.insert(run('missed', `2026-06-14T04:${10 + i}:00.000Z`));
    const after = await status();
    expect(after.status).toMatchObject({ good: 5, total: 11, excluded: 6, exclusion: null });
    expect(after.policy.state).toBe('freeze');
  });
});

const SIGNALS_FILE = `apiVersion: bulwark/v1
kind: SLO
name: waf-alerts-critical
service: shop
objective: 75
window: 1d
sli:
  signals:
    total: signal.labels.alertname == "WafBlock"
    good: signal.severity == "critical"
`;

describe('signal SLIs through the server', () => {
  it('counts the signals received in the window that match total, good when they match good', async () => {
    const now = clock.now().getTime();
    const sig = (i: number, severity: 'critical' | 'low', alertname: string, agoMs: number, resolved = false) => {
      const at = new Date(now - agoMs).toISOString();
      return {
        id: `sig_${String(i).padStart(32, '0')}`,
        source: 'alertmanager',
        time: at,
        receivedAt: at,
        severity,
        labels: { alertname },
        body: {},
        fingerprint: String(i).padStart(64, '0'),
        resolved,
        rawDigest: '0'.repeat(64),
      };
    };
    await app.deps.store.signals.insertMany([
      sig(1, 'critical', 'WafBlock', 60_000),
      sig(2, 'critical', 'WafBlock', 120_000),
      sig(3, 'low', 'WafBlock', 180_000),
      sig(4, 'low', 'Other', 180_000), // not an event: total does not match
      sig(5, 'low', 'WafBlock', 180_000, true), // a resolution: not an event
      sig(6, 'low', 'WafBlock', 2 * 86_400_000), // before the window
    ]);
    expect((await app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth(), payload: { file: SIGNALS_FILE } })).statusCode).toBe(
      201,
    );
    const res = await app.app.inject({ method: 'GET', url: '/v1/slos/waf-alerts-critical', headers: auth() });
    expect(res.json()).toMatchObject({ sli: 'signals', status: { good: 2, total: 3 } });
    expect(res.json<{ status: { sli: number } }>().status.sli).toBeCloseTo(2 / 3, 9);
  });
});
