import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluatePolicies } from '../../app/slos/policy-job.ts';
import type { KriColourChange } from '../../app/slos/kri-signals.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import { makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';

let app: TestApp;
const clock = new ManualClock(Date.parse('2026-06-15T12:00:00.000Z'));
const auth = () => ({ authorization: `Bearer ${app.adminToken}` });

let n = 0;
function run(experiment: string, outcome: string, hoursAgo: number, techniques: string[]): RunRecord {
  const end = new Date(clock.now().getTime() - hoursAgo * 3_600_000).toISOString();
  return {
    id: `krirun${String(n++).padStart(10, '0')}`,
    experiment,
    state: 'done',
    outcome,
    reason: 'test',
    startedAt: end,
    endedAt: end,
    leaseOwner: null,
    leaseUntil: null,
    rollbacks: [],
    journal: { bulwark: { techniques, detections: [{ name: 'waf' }] }, experiment: { tags: ['waf'] } },
    ttdMs: null,
    dryRun: false,
  };
}

const SLO = `apiVersion: bulwark/v1
kind: SLO
name: waf-detects
service: shop
objective: 99
window: 7d
sli: {experiments: {technique: T1190}}
alerting: {minEvents: 3}
policy: {freezeBelow: 50}
`;

beforeAll(async () => {
  app = await makeTestApp({ clock });
  const experiment = (name: string) =>
    app.deps.store.experiments.put(
      {
        name,
        title: name,
        description: '',
        techniques: ['T1190'],
        file: 'x',
        fileSha256: '0'.repeat(64),
        schedule: null,
        privileged: false,
        appliedBy: 'test',
      },
      clock.now().toISOString(),
    );
  await experiment('sqli');
  await experiment('xss');
  const runs = app.deps.store.runs;
  // sqli: passed, then missed twice → regressed; xss: missed then detected → not regressed.
  await runs.insert(run('sqli', 'detected', 5, ['T1190']));
  await runs.insert(run('sqli', 'missed', 3, ['T1190']));
  await runs.insert(run('sqli', 'missed', 2, ['T1190']));
  await runs.insert(run('xss', 'missed', 4, ['T1190']));
  await runs.insert(run('xss', 'detected', 1, ['T1190']));
  await runs.insert(run('xss', 'missed', 24 * 40, ['T1190'])); // missed, but 40 days ago
  await runs.insert(run('xss', 'not-run', 1, ['T1190']));
  const put = await app.app.inject({
    method: 'PUT',
    url: '/v1/coverage/settings',
    headers: auth(),
    payload: { scope: { techniques: ['T1190', 'T1059'] } },
  });
  expect(put.statusCode, put.body).toBe(200);
  expect((await app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth(), payload: { file: SLO } })).statusCode).toBe(201);
});
afterAll(async () => {
  await app.close();
});

type Kri = { kri: string; value: number | null; colour: string; items: string[]; why: string };

describe('KRIs over HTTP', () => {
  it('counts from the records and colours by the thresholds', async () => {
    const res = await app.app.inject({ method: 'GET', url: '/v1/kris', headers: auth() });
    expect(res.statusCode, res.body).toBe(200);
    const kris = new Map(res.json<{ kris: Kri[] }>().kris.map((k) => [k.kri, k]));
    expect(kris.get('missed-detections-30d')).toMatchObject({ value: 3, colour: 'amber' });
    expect(kris.get('controls-regressed')).toMatchObject({ value: 1, colour: 'amber', items: ['sqli'] });
    const idle = kris.get('techniques-not-exercised-30d')!;
    expect(idle.items).toContain('T1059');
    expect(idle.items).not.toContain('T1190');
    // 3 bad of 6 counted runs against a 1% budget: spent, and the policy freezes.
    expect(kris.get('slos-low-budget')).toMatchObject({ value: 1, colour: 'amber', items: ['waf-detects'] });
    expect(kris.get('slos-freezing')).toMatchObject({ value: 1, colour: 'amber', items: ['waf-detects'] });
  });

  it('exposes KRIs on /metrics: the count and a one-hot colour', async () => {
    const text = (await app.app.inject({ method: 'GET', url: '/metrics', headers: auth() })).body;
    expect(text).toContain('bulwark_kri_value{kri="missed-detections-30d"} 3');
    expect(text).toContain('bulwark_kri_colour{kri="missed-detections-30d",colour="amber"} 1');
    expect(text).toContain('bulwark_kri_colour{kri="missed-detections-30d",colour="green"} 0');
  });

  it('announces a KRI that changes colour as a signal, once; the first look at a green KRI says nothing', async () => {
    const heard: KriColourChange[] = [];
    await evaluatePolicies(app.deps, { ingest: app.signals, onKri: (k) => heard.push(k) });
    const first = new Map(heard.map((k) => [k.kri, k]));
    expect(first.get('missed-detections-30d')).toMatchObject({ from: null, to: 'amber' });
    expect(first.has('slos-low-budget')).toBe(true);
    heard.length = 0;
    await evaluatePolicies(app.deps, { ingest: app.signals, onKri: (k) => heard.push(k) });
    expect(heard).toEqual([]);
    // Three more misses, six in all: red.
    for (let i = 0; i < 3; i++) await app.deps.store.runs.insert(run('xss', 'missed', 0.5, ['T1190']));
    await evaluatePolicies(app.deps, { ingest: app.signals, onKri: (k) => heard.push(k) });
    expect(heard.filter((k) => k.kri === 'missed-detections-30d')).toMatchObject([{ from: 'amber', to: 'red' }]);
    const signal = await app.deps.store.signals.get(heard.find((k) => k.kri === 'missed-detections-30d')!.signalId);
    expect(signal).toMatchObject({
      source: 'bulwark',
      severity: 'high',
      labels: { alertname: 'KriColour', kri: 'missed-detections-30d', colour: 'red' },
    });
  });
});
