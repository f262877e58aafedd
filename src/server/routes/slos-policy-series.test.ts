/**
 * One server for two things an SLO page shows: the postmortem clause of the budget policy, with
 * real incidents (while the budget is exhausted every incident of the period requires a
 * postmortem; one without is named in the policy and counted by the KRI postmortems-missing;
 * restricted ones are left out of both for a reader who may not see them (counted, not named, for one who may); generating the postmortem through the incidents' route
 * clears it), and GET /v1/slos/{name}/series behind the charts. Each part sets the clock it needs
 * and counts runs of its own technique.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../store/experiments/port.ts';
import { makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { createToken } from '../../app/access/tokens.ts';
import { systemActor } from '../../core/ledger/actor.ts';
import { ManualClock } from '../../../test/support/clock.ts';

const clock = new ManualClock();
let app: TestApp;
const auth = () => ({ authorization: `Bearer ${app.adminToken}` });
const apply = (file: string) => app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth(), payload: { file } });

function run(id: string, outcome: string, endedAt: number, technique: string): RunRecord {
  const end = new Date(endedAt).toISOString();
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
    journal: { bulwark: { techniques: [technique], detections: [{ name: 'waf' }] }, experiment: { tags: ['waf'] } },
    ttdMs: null,
    dryRun: false,
  };
}

beforeAll(async () => {
  app = await makeTestApp({ clock });
});
afterAll(async () => {
  await app.close();
});

describe('the postmortem clause of the budget policy', () => {
  const NOW = Date.parse('2026-09-01T12:00:00.000Z');
  const FILE = (postmortemBelow: number) => `apiVersion: bulwark/v1
kind: SLO
name: waf-blocks
service: shop
objective: 90
window: 7d
sli:
  experiments:
    technique: T1110
alerting:
  minEvents: 3
policy:
  freezeBelow: 10
  postmortemBelow: ${postmortemBelow}
`;
  const ago = (minutes: number) => NOW - minutes * 60_000;
  const declare = async (title: string, extra: Record<string, unknown> = {}) => {
    const res = await app.app.inject({
      method: 'POST',
      url: '/v1/incidents',
      headers: auth(),
      payload: { title, severity: 'SEV2', priority: 'P2', ...extra },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: number }>().id;
  };
  const policy = async (headers = auth()) => {
    const res = await app.app.inject({ method: 'GET', url: '/v1/slos/waf-blocks', headers });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<any>().policy;
  };
  const kri = async () => {
    const res = await app.app.inject({ method: 'GET', url: '/v1/kris', headers: auth() });
    return res.json<any>().kris.find((k: { kri: string }) => k.kri === 'postmortems-missing');
  };

  beforeAll(async () => {
    clock.set(new Date(NOW).toISOString());
    // 4 missed of 5: the budget (10%) is spent several times over.
    await app.deps.store.runs.insert(run('pok', 'detected', ago(120), 'T1110'));
    for (let i = 0; i < 4; i++) await app.deps.store.runs.insert(run(`pmiss${i}`, 'missed', ago(60 - i), 'T1110'));
  });

  it('requires a postmortem of every incident of the period once the budget is exhausted; the KRI counts those without', async () => {
    expect((await apply(FILE(0))).statusCode).toBe(201);
    const old = await declare('last month', { impactStartedAt: new Date(ago(20 * 24 * 60)).toISOString() });
    const a = await declare('WAF bypass');
    const b = await declare('credential stuffing', { restricted: true });
    // A reader without incidents:restricted: the restricted incident is left out altogether.
    const reader = (await createToken(app.deps, systemActor('test'), { name: 'slo reader', scopes: ['slos:read'] })).token;
    const p = await policy({ authorization: `Bearer ${reader}` });
    expect(p.postmortem).toMatchObject({ evaluated: true, required: true, missing: [a], restricted: { incidents: 0, missing: 0 } });
    // One who may see restricted incidents: counted, never named.
    const admin = (await policy()).postmortem;
    expect(admin).toMatchObject({ missing: [a], restricted: { incidents: 1, missing: 1 } });
    expect(JSON.stringify(admin)).not.toContain('credential stuffing');
    expect(p.postmortem.incidents.map((i: { id: number }) => i.id)).toEqual([a]);
    expect(p.postmortem.incidents.map((i: { id: number }) => i.id)).not.toContain(old);
    expect(p.postmortem.why).toMatch(/is exhausted: each of the 1 incident of the period requires a postmortem; 1 has none/);
    expect(await kri()).toMatchObject({ value: 1, colour: 'amber', items: [`incident ${a}`] });

    const pm = await app.app.inject({ method: 'POST', url: `/v1/incidents/${a}/postmortem`, headers: auth() });
    expect(pm.statusCode, pm.body).toBe(200);
    expect((await policy()).postmortem).toMatchObject({ required: true, missing: [], incidents: [{ id: a, postmortem: true }] });
    expect(await kri()).toMatchObject({ value: 0, colour: 'green' });
    await app.app.inject({ method: 'POST', url: `/v1/incidents/${b}/postmortem`, headers: auth() });
    expect(await kri()).toMatchObject({ value: 0, colour: 'green' });
  });

  it('requires nothing while the budget is above the bound, and says so', async () => {
    for (let i = 0; i < 60; i++)
      await app.deps.store.runs.insert(run(`pg${String(i).padStart(3, '0')}`, 'detected', ago(200 + i), 'T1110'));
    await declare('another');
    // 4 bad of 65 at 90%: 38% of the budget left, above 20%.
    await apply(FILE(20));
    const p = await policy();
    expect(p.postmortem).toMatchObject({ evaluated: true, required: false, missing: [] });
    expect(p.postmortem.why).toMatch(/is not at or under 20%: no postmortem is required/);
    expect(await kri()).toMatchObject({ value: 0, colour: 'green' });
  });

  it('requires a postmortem of an incident linked to the SLO that spent more than postmortemAbove of its budget', async () => {
    const file = `apiVersion: bulwark/v1
kind: SLO
name: waf-above
service: shop
objective: 90
window: 7d
sli:
  experiments:
    technique: T1110
policy:
  freezeBelow: 10
  postmortemAbove: 30
`;
    expect((await apply(file)).statusCode).toBe(201);
    // Its impact covers the 4 misses: 4 bad of a budget of 6.5 (10% of 65 runs), 62%.
    const heavy = await declare('WAF down', { impactStartedAt: new Date(ago(61)).toISOString() });
    const light = await declare('slow WAF', { impactStartedAt: new Date(ago(30)).toISOString() });
    for (const id of [heavy, light]) {
      const res = await app.app.inject({
        method: 'POST',
        url: `/v1/incidents/${id}/links`,
        headers: auth(),
        payload: { slos: ['waf-above'] },
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    const res = await app.app.inject({ method: 'GET', url: '/v1/slos/waf-above', headers: auth() });
    const p = res.json<any>().policy.postmortem;
    expect(p).toMatchObject({ evaluated: true, required: true, missing: [heavy] });
    const spent = Object.fromEntries(p.incidents.map((i: { id: number; spent?: number }) => [i.id, i.spent]));
    expect(spent[heavy]).toBeCloseTo(4 / 6.5, 9);
    expect(spent[light]).toBe(0);
    expect(p.why).toMatch(/1 incident linked to this SLO spent more than 30% of its budget and requires a postmortem; 1 has none/);
  });
});

describe('GET /v1/slos/{name}/series', () => {
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
  beforeAll(async () => {
    clock.set(new Date(NOW).toISOString());
    // Detected every 2 hours for 6 days, then 5 misses in the last 20 minutes.
    const at = (minutesAgo: number) => NOW - minutesAgo * 60_000;
    for (let i = 0; i < 72; i++)
      await app.deps.store.runs.insert(run(`s${String(i).padStart(3, '0')}`, 'detected', at(6 * 24 * 60 - i * 120), 'T1190'));
    for (let i = 0; i < 5; i++) await app.deps.store.runs.insert(run(`sm${i}`, 'missed', at(20 - i * 4), 'T1190'));
    expect((await apply(FILE)).statusCode).toBe(201);
  });

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
