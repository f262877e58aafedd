import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluatePolicies } from '../../app/slos/policy-job.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import { makeTestApp, type TestApp } from '../../../test/support/app.ts';

const FILE = (freezeBelow = 50) => `apiVersion: bulwark/v1
kind: SLO
name: sqli-detected
displayName: SQL injection is detected in time
service: shop
owner: team-appsec
objective: 90
window: 7d
sli:
  experiments:
    technique: T1190
alerting:
  minEvents: 3
policy:
  freezeBelow: ${freezeBelow}
  pageOwner: true
`;

let app: TestApp;
const auth = () => ({ authorization: `Bearer ${app.adminToken}` });

function run(id: string, outcome: string, minutesAgo: number, techniques = ['T1190']): RunRecord {
  const end = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  return {
    id: id.padEnd(16, '0').slice(0, 16),
    experiment: 'sqli-products',
    state: 'done',
    outcome,
    reason: 'test',
    startedAt: end,
    endedAt: end,
    leaseOwner: null,
    leaseUntil: null,
    rollbacks: [],
    journal: { bulwark: { techniques, detections: [{ name: 'waf' }] }, experiment: { tags: ['waf'] } },
    ttdMs: outcome === 'detected' ? 500 : null,
    dryRun: false,
  };
}

beforeAll(async () => {
  app = await makeTestApp();
});
afterAll(async () => {
  await app.close();
});

const ledgerKinds = async () => {
  const res = await app.app.inject({ method: 'GET', url: '/v1/ledger/entries?limit=500', headers: auth() });
  return res.json<{ entries: { kind: string; data: Record<string, unknown> }[] }>().entries;
};

describe('SLOs over HTTP', () => {
  it('applies a file (201, then 200 for a new version), writing slo.applied; the same file again writes nothing', async () => {
    const first = await app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth(), payload: { file: FILE() } });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({ name: 'sqli-detected', version: 1, objective: 0.9, window: '7d', sli: 'experiments' });
    const again = await app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth(), payload: { file: FILE() } });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ version: 1 });
    const applied = (await ledgerKinds()).filter((e) => e.kind === 'slo.applied');
    expect(applied).toHaveLength(1);
    expect(applied[0]!.data).toMatchObject({ name: 'sqli-detected', version: 1, format: 'bulwark/v1', objective: 0.9 });
  });

  it('refuses a bad file with what to fix, and changes nothing', async () => {
    const res = await app.app.inject({
      method: 'POST',
      url: '/v1/slos',
      headers: auth(),
      payload: { file: FILE().replace('objective: 90', 'objective: 190') },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid' });
    expect(res.json().message).toMatch(/line 7, column 12 \(objective\): objective is a percentage below 100/);
    expect((await app.app.inject({ method: 'GET', url: '/v1/slos/sqli-detected', headers: auth() })).json()).toMatchObject({ version: 1 });
  });

  it("computes the status from experiment runs: not-run and aborted never count, others' techniques neither", async () => {
    for (const [i, o] of ['detected', 'prevented', 'detected', 'detected', 'not-run', 'aborted'].entries()) {
      await app.deps.store.runs.insert(run(`ok${i}`, o, 60 * 24 - i));
    }
    await app.deps.store.runs.insert(run('other', 'missed', 5, ['T1059']));
    const res = await app.app.inject({ method: 'GET', url: '/v1/slos/sqli-detected', headers: auth() });
    expect(res.statusCode).toBe(200);
    const s = res.json();
    expect(s.status).toMatchObject({ good: 4, total: 4, sli: 1, consumed: 0, remaining: 1, enoughData: true });
    expect(s.status.alerts.map((a: { firing: boolean }) => a.firing)).toEqual([false, false]);
    expect(s.policy).toMatchObject({ state: 'ok', recorded: null });
    expect(s.file).toBe(FILE());
  });

  it('burns the budget when the control starts missing: page fires, the policy freezes, the job records it once', async () => {
    for (let i = 0; i < 4; i++) await app.deps.store.runs.insert(run(`miss${i}`, 'missed', i + 1));
    const s = (await app.app.inject({ method: 'GET', url: '/v1/slos/sqli-detected', headers: auth() })).json();
    // 4 good of 8 at a 90% objective: half the runs bad is five times the budget.
    expect(s.status.total).toBe(8);
    expect(s.status.consumed).toBeCloseTo(5, 9);
    expect(s.status.timeToExhaustionMs).toBe(0);
    expect(s.status.alerts[0]).toMatchObject({ severity: 'page', firing: true });
    expect(s.policy).toMatchObject({ state: 'freeze', actions: ['freeze-non-security-deploys', 'page-owner'] });

    const changes = await evaluatePolicies(app.deps);
    expect(changes).toEqual([expect.objectContaining({ name: 'sqli-detected', from: null, to: 'freeze' })]);
    expect(await evaluatePolicies(app.deps)).toEqual([]);
    const entries = (await ledgerKinds()).filter((e) => e.kind === 'slo.policy.changed');
    expect(entries).toHaveLength(1);
    expect(entries[0]!.data).toMatchObject({ name: 'sqli-detected', from: null, to: 'freeze' });
    expect(entries[0]!.data.remaining).toBeCloseTo(-4, 9);
    const shown = (await app.app.inject({ method: 'GET', url: '/v1/slos/sqli-detected', headers: auth() })).json();
    expect(shown.policy.recorded).toBe('freeze');
  });

  it('exposes the SLO on /metrics with stable names and labels', async () => {
    const res = await app.app.inject({ method: 'GET', url: '/metrics', headers: auth() });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('bulwark_slo_objective_ratio{slo="sqli-detected",service="shop"} 0.9');
    expect(res.body).toMatch(/bulwark_slo_error_budget_remaining_ratio\{slo="sqli-detected",service="shop"\} -4(\.0+\d*)?\n/);
    expect(res.body).toMatch(/bulwark_slo_burn_rate\{slo="sqli-detected",service="shop",window="1h"\} \d/);
    expect(res.body).toContain('bulwark_slo_alert_firing{slo="sqli-detected",service="shop",severity="page"} 1');
    expect(res.body).toContain('bulwark_slo_policy_freeze{slo="sqli-detected",service="shop"} 1');
  });

  it('lists by remaining budget, lowest first, and deletes with a ledger entry', async () => {
    const openslo = `apiVersion: openslo/v1
kind: SLO
metadata:
  name: waf-ttd
spec:
  service: shop
  indicator:
    spec:
      ratioMetric:
        good:
          metricSource:
            type: Bulwark
            spec:
              timeToDetect: { technique: T1190, under: 1s }
        total:
          metricSource:
            type: Bulwark
            spec: {}
  timeWindow:
    - duration: 1w
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.5
`;
    const applied = await app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth(), payload: { file: openslo } });
    expect(applied.statusCode, applied.body).toBe(201);
    expect(applied.json()).toMatchObject({ format: 'openslo/v1', sli: 'time-to-detect' });
    const list = (await app.app.inject({ method: 'GET', url: '/v1/slos', headers: auth() })).json();
    expect(list.slos.map((s: { name: string }) => s.name)).toEqual(['sqli-detected', 'waf-ttd']);
    const del = await app.app.inject({ method: 'DELETE', url: '/v1/slos/waf-ttd', headers: auth() });
    expect(del.statusCode).toBe(200);
    expect((await app.app.inject({ method: 'GET', url: '/v1/slos/waf-ttd', headers: auth() })).statusCode).toBe(404);
    expect((await ledgerKinds()).filter((e) => e.kind === 'slo.deleted').map((e) => e.data.name)).toEqual(['waf-ttd']);
  });

  it('announces the burn-rate alert as a signal once when it fires, and once when it resolves', async () => {
    const file = FILE().replace('name: sqli-detected', 'name: burn-alerts').replace('technique: T1190', 'technique: T1110');
    expect((await app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth(), payload: { file } })).statusCode).toBe(201);
    for (let i = 0; i < 4; i++) await app.deps.store.runs.insert(run(`bg${i}`, 'detected', 60 * 24 - i, ['T1110']));
    for (let i = 0; i < 4; i++) await app.deps.store.runs.insert(run(`bm${i}`, 'missed', i + 1, ['T1110']));
    const burnSignals = async () =>
      (await app.deps.store.signals.list({ source: 'bulwark', limit: 50 })).signals.filter((x) => x.labels.alertname === 'SloBurnRate');
    const heard: string[] = [];
    const onAlert = (a: { severity: string; firing: boolean }) => heard.push(`${a.severity} ${a.firing ? 'firing' : 'resolved'}`);
    await evaluatePolicies(app.deps, { ingest: app.signals, onAlert });
    expect(heard).toContain('page firing');
    heard.length = 0;
    const fired = await burnSignals();
    expect(fired.find((x) => x.labels.slo === 'burn-alerts' && x.labels.severity === 'page')).toMatchObject({
      severity: 'critical',
      resolved: false,
      labels: { alertname: 'SloBurnRate', slo: 'burn-alerts', service: 'shop', severity: 'page' },
    });
    // Nothing changed: nothing more is said.
    await evaluatePolicies(app.deps, { ingest: app.signals, onAlert });
    expect(await burnSignals()).toHaveLength(fired.length);
    // The control holds again: a hundred detected runs in the last minutes bring the burn down.
    for (let i = 0; i < 100; i++) await app.deps.store.runs.insert(run(`bf${String(i).padStart(3, '0')}`, 'detected', 1, ['T1110']));
    heard.length = 0;
    await evaluatePolicies(app.deps, { ingest: app.signals, onAlert });
    expect(heard).toContain('page resolved');
    const resolved = (await burnSignals()).filter((x) => x.labels.slo === 'burn-alerts' && x.labels.severity === 'page' && x.resolved);
    expect(resolved).toHaveLength(1);
    const kinds = (await ledgerKinds()).filter((e) => e.kind === 'signal.received').length;
    expect(kinds).toBeGreaterThanOrEqual(2);
  });

  it('needs slos:read to read and slos:write to apply', async () => {
    expect((await app.app.inject({ method: 'GET', url: '/v1/slos' })).statusCode).toBe(401);
  });
});
