/**
 * The postmortem clause of the budget policy, with real incidents: while the budget is exhausted,
 * every incident of the period requires a postmortem; one without is named in the SLO's policy and
 * counted by the KRI postmortems-missing (restricted ones counted, not named); generating the
 * postmortem (the incidents capability's route) clears it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../store/experiments/port.ts';
import { makeTestApp, type TestApp } from '../../../test/support/app.ts';

const FILE = (postmortemBelow: number) => `apiVersion: bulwark/v1
kind: SLO
name: waf-blocks
service: shop
objective: 90
window: 7d
sli:
  experiments:
    technique: T1190
alerting:
  minEvents: 3
policy:
  freezeBelow: 10
  postmortemBelow: ${postmortemBelow}
`;

let app: TestApp;
const auth = () => ({ authorization: `Bearer ${app.adminToken}` });

function run(id: string, outcome: string, minutesAgo: number): RunRecord {
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
    journal: { bulwark: { techniques: ['T1190'], detections: [{ name: 'waf' }] }, experiment: { tags: ['waf'] } },
    ttdMs: null,
    dryRun: false,
  };
}

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
const policy = async () => {
  const res = await app.app.inject({ method: 'GET', url: '/v1/slos/waf-blocks', headers: auth() });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<any>().policy;
};
const kri = async () => {
  const res = await app.app.inject({ method: 'GET', url: '/v1/kris', headers: auth() });
  return res.json<any>().kris.find((k: { kri: string }) => k.kri === 'postmortems-missing');
};

beforeAll(async () => {
  app = await makeTestApp();
  // 4 missed of 5: the budget (10%) is spent eight times over.
  await app.deps.store.runs.insert(run('ok', 'detected', 120));
  for (let i = 0; i < 4; i++) await app.deps.store.runs.insert(run(`miss${i}`, 'missed', 60 - i));
});
afterAll(async () => {
  await app.close();
});

describe('the postmortem clause of the budget policy', () => {
  it('requires a postmortem of every incident of the period once the budget is exhausted; the KRI counts those without', async () => {
    expect((await app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth(), payload: { file: FILE(0) } })).statusCode).toBe(201);
    const old = await declare('last month', { impactStartedAt: new Date(Date.now() - 20 * 86_400_000).toISOString() });
    const a = await declare('WAF bypass');
    const b = await declare('credential stuffing', { restricted: true });
    const p = await policy();
    expect(p.postmortem).toMatchObject({ evaluated: true, required: true, missing: [a], restricted: { incidents: 1, missing: 1 } });
    expect(p.postmortem.incidents.map((i: { id: number }) => i.id)).toEqual([a]);
    expect(p.postmortem.incidents.map((i: { id: number }) => i.id)).not.toContain(old);
    expect(p.postmortem.why).toMatch(/is exhausted: each of the 2 incidents of the period requires a postmortem; 2 have none/);
    expect(await kri()).toMatchObject({ value: 2, colour: 'amber', items: ['a restricted incident', `incident ${a}`] });

    const pm = await app.app.inject({ method: 'POST', url: `/v1/incidents/${a}/postmortem`, headers: auth() });
    expect(pm.statusCode, pm.body).toBe(200);
    expect((await policy()).postmortem).toMatchObject({ required: true, missing: [], incidents: [{ id: a, postmortem: true }] });
    expect(await kri()).toMatchObject({ value: 1, items: ['a restricted incident'] });
    await app.app.inject({ method: 'POST', url: `/v1/incidents/${b}/postmortem`, headers: auth() });
    expect(await kri()).toMatchObject({ value: 0, colour: 'green' });
  });

  it('requires nothing while the budget is above the bound, and says so', async () => {
    const runs = app.deps.store.runs;
    for (let i = 0; i < 60; i++) await runs.insert(run(`g${String(i).padStart(3, '0')}`, 'detected', 200 + i));
    await declare('another');
    // 4 bad of 65 at 90%: 38% of the budget left, above 20%.
    await app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth(), payload: { file: FILE(20) } });
    const p = await policy();
    expect(p.postmortem).toMatchObject({ evaluated: true, required: false, missing: [] });
    expect(p.postmortem.why).toMatch(/is not at or under 20%: no postmortem is required/);
    expect(await kri()).toMatchObject({ value: 0, colour: 'green' });
  });
});
