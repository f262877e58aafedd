/**
 * Per-control coverage over HTTP, in process against a real SQLite store: runs stored with the
 * per-control results the runner records in their journals, old runs without them, the map and
 * its control filter, staleness per control on the server's clock and back to covered after a
 * new run, the KRIs on /metrics, and the exports carrying the controls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { parseLayers } from '../../core/coverage/navigator.ts';
import type { RunRecord } from '../../store/experiments/port.ts';

const T0 = Date.parse('2026-05-01T12:00:00.000Z');
const DAY = 86_400_000;
let nowMs = T0 + DAY;
let t: TestApp;

const TITLE = 'SQL injection against the WAF';
const run = (id: string, outcome: string, endMs: number, controls?: unknown[], ttdMs: number | null = null): RunRecord => ({
  id,
  experiment: TITLE,
  state: 'done',
  outcome,
  reason: null,
  startedAt: new Date(endMs - 2000).toISOString(),
  endedAt: new Date(endMs).toISOString(),
  leaseOwner: null,
  leaseUntil: null,
  rollbacks: [],
  journal: controls ? { bulwark: { techniques: ['T1190'], controls: controls as never } } : { bulwark: { techniques: ['T1190'] } },
  ttdMs,
  dryRun: false,
});

const get = (url: string) => t.app.inject({ method: 'GET', url, headers: bearer(t.adminToken) });
const cellOf = (body: { techniques: { technique: string }[] }, id: string) => body.techniques.find((c) => c.technique === id) as any;

beforeAll(async () => {
  t = await makeTestApp({ clock: { now: () => new Date(nowMs) } });
  await t.deps.store.experiments.put(
    {
      name: 'waf-sqli',
      title: TITLE,
      description: '',
      techniques: ['T1190'],
      file: `title: ${TITLE}\n`,
      fileSha256: 'a'.repeat(64),
      schedule: null,
      privileged: false,
      appliedBy: 'test',
    },
    new Date(T0).toISOString(),
  );
  const runs = t.deps.store.runs;
  // An old run, from before per-control results: its outcome is the control `default`.
  await runs.insert(run('old0000000000001', 'detected', T0 - 1000, undefined, 300));
  // Logged but not alerted: missed as an outcome, `logged` as evidence.
  await runs.insert(
    run('waf0000000000001', 'missed', T0, [
      { control: 'waf', results: ['logged'], alertedTtdMs: null, loggedTtdMs: 120, findings: ['logged-not-alerted'] },
      { control: 'ids', results: ['none'], alertedTtdMs: null, loggedTtdMs: null, findings: ['not-alerted'] },
    ]),
  );
  // A T1059 run where only a log records it.
  await runs.insert({
    ...run('cmd0000000000001', 'missed', T0, [{ control: 'edr', results: ['logged'], alertedTtdMs: null, loggedTtdMs: 50 }]),
    journal: {
      bulwark: { techniques: ['T1059.004'], controls: [{ control: 'edr', results: ['logged'], alertedTtdMs: null, loggedTtdMs: 50 }] },
    },
  });
});

afterAll(async () => {
  await t?.close();
});

describe('per-control coverage', () => {
  it('shows per technique the controls tested, their last result and when verified; logged is not none', async () => {
    const body = (await get('/v1/coverage')).json();
    const c = cellOf(body, 'T1190');
    expect(c).toMatchObject({ status: 'logged', evidence: 'logged', runs: 2 });
    expect(c.controls).toEqual([
      expect.objectContaining({ control: 'default', results: ['alerted'], lastRun: 'old0000000000001', status: 'alerted' }),
      expect.objectContaining({ control: 'ids', results: ['none'], status: 'none', lastRun: 'waf0000000000001' }),
      expect.objectContaining({
        control: 'waf',
        results: ['logged'],
        status: 'logged',
        loggedTtdMs: 120,
        verifiedAt: new Date(T0).toISOString(),
      }),
    ]);
    expect(cellOf(body, 'T1059.004')).toMatchObject({ status: 'logged' });
    expect(body.kris).toMatchObject({ logged: 2, none: 0 });
  });

  it('filters the map to one control, and refuses a malformed control name', async () => {
    const ids = (await get('/v1/coverage?control=ids')).json();
    expect(cellOf(ids, 'T1190')).toMatchObject({ status: 'none', runs: 1 });
    expect(cellOf(ids, 'T1059.004')).toMatchObject({ status: 'never' });
    const old = (await get('/v1/coverage?control=default')).json();
    expect(cellOf(old, 'T1190')).toMatchObject({ status: 'alerted', ttd: { lastMs: 300 } });
    const bad = await get('/v1/coverage?control=Not%20A%20Name');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/control/);
  });

  it('turns a control stale at its age on the server’s clock and back to covered after a new run', async () => {
    nowMs = T0 + 30 * DAY;
    try {
      let c = cellOf((await get('/v1/coverage')).json(), 'T1190');
      expect(c.status).toBe('stale');
      expect(c.controls.find((x: { control: string }) => x.control === 'waf').status).toBe('stale');
      const metrics = (await get('/metrics')).body;
      expect(metrics).toMatch(/bulwark_coverage_techniques\{state="stale"\} 2/);
      expect(metrics).toMatch(/bulwark_coverage_techniques\{state="never_exercised"\} \d+/);
      await t.deps.store.runs.insert(
        run(
          'waf0000000000002',
          'prevented',
          nowMs - 1000,
          [{ control: 'waf', results: ['blocked', 'alerted', 'logged'], alertedTtdMs: 900, loggedTtdMs: 100 }],
          100,
        ),
      );
      c = cellOf((await get('/v1/coverage')).json(), 'T1190');
      expect(c.status).toBe('blocked');
      expect(c.controls.find((x: { control: string }) => x.control === 'waf')).toMatchObject({
        status: 'blocked',
        results: ['blocked', 'alerted', 'logged'],
        runs: 2,
      });
      // The IDS was not tested again: its last result stays, not refreshed by the WAF's run.
      expect(c.controls.find((x: { control: string }) => x.control === 'ids')).toMatchObject({ lastRun: 'waf0000000000001' });

      const csv = (await get('/v1/coverage/export/vectr-csv')).body;
      const line = csv.split('\r\n').find((l) => l.includes(',T1190,'))!;
      expect(line).toContain('Blocked');
      expect(line).toMatch(/controls: default: alerted \(stale\); ids: none; waf: blocked, alerted, logged/);
      // Alert Triggered, Activity Logged: from the last run's controls.
      expect(line).toMatch(/,Yes,Yes,/);
      const cmd = csv.split('\r\n').find((l) => l.includes(',T1059.004,'))!;
      expect(cmd).toMatch(/,NotDetected,.*,No,Yes,/);

      const layer = parseLayers((await get('/v1/coverage/export/navigator?control=waf')).body);
      expect(layer.ok).toBe(true);
      if (layer.ok) {
        expect(layer.layers[0]!.name).toBe('Bulwark coverage: waf');
        const tech = layer.layers[0]!.techniques!.find((x) => x.techniqueID === 'T1190')!;
        expect(tech.metadata).toContainEqual(expect.objectContaining({ name: 'control waf' }));
      }
      const technique = (await get('/v1/coverage/techniques/T1190')).json();
      expect(technique.runs[0]).toMatchObject({ id: 'waf0000000000002', evidence: 'blocked', controls: [{ control: 'waf' }] });
      expect(technique.runs.find((r: { id: string }) => r.id === 'waf0000000000001')).toMatchObject({
        outcome: 'missed',
        evidence: 'logged',
      });
    } finally {
      nowMs = T0 + DAY;
    }
  });
});
