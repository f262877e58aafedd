/**
 * ATTiRe import over HTTP, in process against a real SQLite store: the format's published sample
 * (test/fixtures/attire) imported as a run of its technique, matched to an Alertmanager alert the
 * server received about the target host (outcome and time to detect), in the map, the technique's
 * runs and the ledger; a second import adds nothing; a log that cannot be mapped is refused naming
 * the field, nothing stored.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';

const SAMPLE = readFileSync(new URL('../../../test/fixtures/attire/attire-1.1-readme-sample.json', import.meta.url), 'utf8');
const START = Date.parse('2021-10-27T02:02:23.000Z');
let nowMs = START;
let t: TestApp;

const alert = (host: string) => ({
  version: '4',
  groupKey: '{}:{alertname="Regsvr32Scriptlet"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'bulwark',
  groupLabels: { alertname: 'Regsvr32Scriptlet' },
  commonLabels: { alertname: 'Regsvr32Scriptlet' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'Regsvr32Scriptlet', severity: 'high', host },
      annotations: {},
      startsAt: new Date(nowMs).toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph',
      fingerprint: `f-${host}-${nowMs}`,
    },
  ],
});

const post = (url: string, payload: unknown) =>
  t.app.inject({ method: 'POST', url, headers: bearer(t.adminToken), payload: payload as object });

beforeAll(async () => {
  t = await makeTestApp({ clock: { now: () => new Date(nowMs) } });
  // Another host alerts first; then, 4.2 s after the procedure started, the target does.
  nowMs = START + 1000;
  expect((await post('/v1/signals/alertmanager', alert('web-1'))).statusCode).toBe(202);
  nowMs = START + 4200;
  expect((await post('/v1/signals/alertmanager', alert('WINDEV2009EVAL'))).statusCode).toBe(202);
  nowMs = START + 3_600_000;
}, 30_000);

afterAll(async () => {
  await t?.close();
});

describe('POST /v1/coverage/imports/attire', () => {
  it('imports each procedure as a run of its technique, detected by the alert that names its host, once', async () => {
    const res = await post('/v1/coverage/imports/attire', { log: SAMPLE });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      source: 'Invoke-Atomicredteam',
      target: { host: 'WINDEV2009EVAL', ip: '192.168.204.129', user: 'User' },
      windowSeconds: 300,
      match: 'host',
      runs: [
        {
          technique: 'T1218.010',
          procedure: 'Regsvr32 remote COM scriptlet execution',
          startedAt: '2021-10-27T02:02:23.000Z',
          outcome: 'detected',
          ttdMs: 4200,
          imported: true,
        },
      ],
    });
    const runId = body.runs[0].id as string;
    // In the map: the technique is alerted, from the imported run, with its time to detect.
    const map = (await t.app.inject({ url: '/v1/coverage', headers: bearer(t.adminToken) })).json();
    const cell = map.techniques.find((c: { technique: string }) => c.technique === 'T1218.010');
    expect(cell).toMatchObject({
      status: 'alerted',
      experiments: ['Invoke-Atomicredteam (ATTiRe)'],
      lastRun: { id: runId, outcome: 'detected' },
      ttd: { lastMs: 4200, samples: 1 },
    });
    // Its parent rolls it up.
    expect(map.techniques.find((c: { technique: string }) => c.technique === 'T1218').rollup).toMatchObject({
      status: 'alerted',
      exercised: 1,
    });
    const technique = (await t.app.inject({ url: '/v1/coverage/techniques/T1218.010', headers: bearer(t.adminToken) })).json();
    expect(technique.runs[0]).toMatchObject({ id: runId, external: { format: 'attire', target: 'WINDEV2009EVAL' } });
    // One ledger entry, naming the run.
    const entries = (await t.app.inject({ url: '/v1/ledger/entries?kind=coverage.attire-imported', headers: bearer(t.adminToken) })).json();
    const mine = (entries.entries as { kind: string }[]).filter((e) => e.kind === 'coverage.attire-imported');
    expect(mine).toHaveLength(1);
    expect(JSON.stringify(mine[0])).toContain(runId);
    // A second import of the same log adds nothing.
    const again = (await post('/v1/coverage/imports/attire', { log: SAMPLE, match: 'any' })).json();
    expect(again.runs[0]).toMatchObject({ id: runId, imported: false });
    expect(await t.deps.store.coverageExternalRuns.list()).toHaveLength(1);
  });

  it('refuses a log that cannot be mapped, naming the field; nothing is stored', async () => {
    const bad = JSON.parse(SAMPLE);
    bad.procedures[0]['mitre-technique-id'] = 'T9999';
    const res = await post('/v1/coverage/imports/attire', { log: JSON.stringify(bad) });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('procedures[0].mitre-technique-id: T9999 is not a technique of ATT&CK v18.1');
    delete bad.procedures[0].steps[0]['time-start'];
    const noTime = await post('/v1/coverage/imports/attire', { log: JSON.stringify(bad) });
    expect(noTime.json().message).toContain('procedures[0].steps[0].time-start: missing');
    expect((await post('/v1/coverage/imports/attire', { log: SAMPLE, windowSeconds: 0 })).statusCode).toBe(400);
    const late = await post('/v1/coverage/imports/attire', { log: SAMPLE, windowSeconds: 60, deadlineSeconds: 60 });
    expect([late.statusCode, late.json().message]).toEqual([400, expect.stringContaining('deadlineSeconds 60 must be')]);
    expect(await t.deps.store.coverageExternalRuns.list()).toHaveLength(1);
  });
});
