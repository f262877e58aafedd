/**
 * Coverage over HTTP, in process against a real SQLite store: runs and experiments as the
 * experiments capability stores them, the map with filters, one technique, every export, the
 * settings (stored with their ledger entry, refused with a clear message), staleness on the
 * server's clock, and the permissions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { createToken } from '../../app/access/tokens.ts';
import { parseCoverageExport } from '../../core/coverage/exports.ts';
import { parseLayers } from '../../core/coverage/navigator.ts';
import { systemActor } from '../../core/ledger/actor.ts';
import type { RunRecord } from '../../store/experiments/port.ts';

const T0 = Date.parse('2026-04-01T12:00:00.000Z');
const DAY = 86_400_000;
let nowMs = T0 + DAY;
let t: TestApp;
let readToken: string;
let otherToken: string;

const run = (id: string, experiment: string, outcome: string | null, endMs: number, over: Partial<RunRecord> = {}): RunRecord => ({
  id,
  experiment,
  state: 'done',
  outcome,
  reason: null,
  startedAt: new Date(endMs - 2000).toISOString(),
  endedAt: new Date(endMs).toISOString(),
  leaseOwner: null,
  leaseUntil: null,
  rollbacks: [],
  journal: {},
  ttdMs: null,
  dryRun: false,
  ...over,
});

async function get(url: string, token = t.adminToken) {
  return t.app.inject({ method: 'GET', url, headers: bearer(token) });
}

beforeAll(async () => {
  t = await makeTestApp({ clock: { now: () => new Date(nowMs) } });
  const put = (name: string, title: string, techniques: string[]) =>
    t.deps.store.experiments.put(
      {
        name,
        title,
        description: '',
        techniques,
        file: `title: ${title}\n`,
        fileSha256: 'a'.repeat(64),
        schedule: null,
        privileged: false,
        appliedBy: 'test',
      },
      new Date(T0).toISOString(),
    );
  await put('sqli-products', 'SQL injection on /products is blocked', ['T1190']);
  await put('login-brute-force', 'Brute force on /login is detected', ['T1110.001']);
  const runs = t.deps.store.runs;
  await runs.insert(run('sqli000000000001', 'SQL injection on /products is blocked', 'detected', T0, { ttdMs: 400 }));
  await runs.insert(run('sqli000000000002', 'SQL injection on /products is blocked', 'prevented', T0 + 1000, { ttdMs: 200 }));
  await runs.insert(run('brute00000000001', 'Brute force on /login is detected', 'detected-late', T0 + 2000, { ttdMs: 9000 }));
  // Not coverage: errored, not-run, a dry run, one still running.
  await runs.insert(run('brute00000000002', 'Brute force on /login is detected', 'errored', T0 + 3000));
  await runs.insert(run('brute00000000003', 'Brute force on /login is detected', 'not-run', T0 + 3000));
  await runs.insert(run('dry0000000000001', 'Brute force on /login is detected', null, T0 + 3000, { dryRun: true }));
  await runs.insert(run('live000000000001', 'Brute force on /login is detected', null, T0 + 3000, { state: 'running', endedAt: null }));
  // A run whose journal names the techniques it ran with (the experiment has changed since).
  await runs.insert(
    run('old0000000000001', 'An experiment deleted since', 'missed', T0 + 4000, { journal: { bulwark: { techniques: ['T1083'] } } }),
  );
  readToken = (await createToken(t.deps, systemActor('test'), { name: 'reader', scopes: ['coverage:read'] })).token;
  otherToken = (await createToken(t.deps, systemActor('test'), { name: 'other', scopes: ['experiments:read'] })).token;
});

afterAll(async () => {
  await t?.close();
});

describe('GET /v1/coverage', () => {
  it('maps the runs onto techniques: last evidence, experiments, time to detect, KRIs', async () => {
    const res = await get('/v1/coverage', readToken);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.attackVersion).toBe('18.1');
    expect(body.attribution).toMatch(/MITRE Corporation/);
    expect(body.tactics[0].shortname).toBe('reconnaissance');
    const cell = (id: string) => body.techniques.find((c: { technique: string }) => c.technique === id);
    expect(cell('T1190')).toMatchObject({
      status: 'blocked',
      experiments: ['sqli-products'],
      runs: 2,
      lastRun: { id: 'sqli000000000002', outcome: 'prevented' },
      ttd: { lastMs: 200, p50Ms: 200, p90Ms: 400, samples: 2 },
    });
    expect(cell('T1110.001')).toMatchObject({ status: 'alerted', runs: 1, lastRun: { id: 'brute00000000001' } });
    expect(cell('T1083')).toMatchObject({ status: 'none', experiments: ['An experiment deleted since'] });
    expect(body.kris).toMatchObject({ exercised: 3, blocked: 1, alerted: 1, none: 1, stale: 0 });
  });

  it('filters by tactic, platform and status, and refuses an unknown status saying which', async () => {
    const byTactic = (await get('/v1/coverage?tactic=credential-access&all=true')).json();
    expect(byTactic.techniques.every((c: { tactics: string[] }) => c.tactics.includes('credential-access'))).toBe(true);
    expect(byTactic.techniques.map((c: { technique: string }) => c.technique)).toContain('T1110.001');
    const blocked = (await get('/v1/coverage?status=blocked')).json();
    expect(blocked.techniques.map((c: { technique: string }) => c.technique)).toEqual(['T1190']);
    const onCloud = (await get('/v1/coverage?platform=Office%20Suite,PRE&status=blocked,alerted,none')).json();
    // Of the three with evidence, only T1110.001 is on Office Suite.
    expect(onCloud.techniques.map((c: { technique: string }) => c.technique)).toEqual(['T1110.001']);
    const bad = await get('/v1/coverage?status=green');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'invalid', message: expect.stringContaining('unknown status green') });
  });

  it('turns stale on the server’s clock, past 30 days', async () => {
    nowMs = T0 + 31 * DAY;
    try {
      const body = (await get('/v1/coverage?status=stale')).json();
      expect(body.techniques.map((c: { technique: string }) => c.technique).sort()).toEqual(['T1110.001', 'T1190']);
      expect(body.kris.stale).toBe(2);
    } finally {
      nowMs = T0 + DAY;
    }
  });

  it('needs coverage:read', async () => {
    expect((await get('/v1/coverage', otherToken)).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/v1/coverage' })).statusCode).toBe(401);
  });
});

describe('GET /v1/coverage/techniques/:id', () => {
  it('gives the technique’s cell, sub-techniques and its counted runs, newest first', async () => {
    const body = (await get('/v1/coverage/techniques/T1190')).json();
    expect(body.technique.technique).toBe('T1190');
    expect(body.runs.map((r: { id: string }) => r.id)).toEqual(['sqli000000000002', 'sqli000000000001']);
    expect(body.runs[0]).toMatchObject({ evidence: 'blocked', ttdMs: 200 });
    expect(body.applied).toEqual([{ name: 'sqli-products', title: 'SQL injection on /products is blocked', techniques: ['T1190'] }]);
    const parent = (await get('/v1/coverage/techniques/T1110')).json();
    expect(parent.subtechniques.find((c: { technique: string }) => c.technique === 'T1110.001')).toMatchObject({ status: 'alerted' });
    // An experiment naming a sub-technique tests its parent too.
    expect(parent.applied.map((e: { name: string }) => e.name)).toEqual(['login-brute-force']);
  });

  it('answers 404 for a technique not in the table, 400 for a malformed id', async () => {
    expect((await get('/v1/coverage/techniques/T9999')).statusCode).toBe(404);
    expect((await get('/v1/coverage/techniques/x')).json()).toMatchObject({ error: 'invalid', message: expect.stringContaining('T1234') });
  });
});

describe('exports', () => {
  it('gives a Navigator 4.5 layer its reader accepts, with the evidence', async () => {
    const res = await get('/v1/coverage/export/navigator', readToken);
    expect(res.statusCode).toBe(200);
    const r = parseLayers(res.body);
    if (!r.ok) throw new Error(r.message);
    expect(r.layers[0]!.techniques!.find((x) => x.techniqueID === 'T1190')).toMatchObject({ score: 100, color: '#2e7d32' });
  });

  it('gives the JSON export its reader accepts', async () => {
    const r = parseCoverageExport((await get('/v1/coverage/export/json')).body);
    expect(r.ok && r.value.techniques.find((c) => c.technique === 'T1110.001')?.status).toBe('alerted');
  });

  it('gives VECTR CSV with the detection time from the run', async () => {
    const res = await get('/v1/coverage/export/vectr-csv');
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const line = res.body.split('\r\n').find((l) => l.includes(',T1110.001,'))!;
    // Started 2 s before it ended, detected 9 s in.
    expect(line).toContain(`Detected,`);
    expect(line).toContain(new Date(T0 + 2000 - 2000 + 9000).toISOString());
  });

  it('gives a DeTT&CT techniques administration file', async () => {
    const res = await get('/v1/coverage/export/dettect');
    const doc = parseYaml(res.body) as {
      file_type: string;
      techniques: { technique_id: string; detection: { score_logbook: { score: number }[] }[] }[];
    };
    expect(doc.file_type).toBe('technique-administration');
    expect(doc.techniques.find((x) => x.technique_id === 'T1110.001')!.detection[0]!.score_logbook[0]!.score).toBe(2);
  });
});

describe('settings', () => {
  it('are the defaults until stored; a PUT stores the next version with its ledger entry and narrows the map', async () => {
    expect((await get('/v1/coverage/settings')).json()).toMatchObject({ version: 0, settings: { staleAfterDays: { default: 30 } } });
    const doc = {
      scope: { profiles: ['shop'], techniques: ['T1083'] },
      profiles: { shop: ['T1190', 'T1110.001', 'T1595.003'] },
      staleAfterDays: { techniques: { T1190: 7 } },
    };
    const res = await t.app.inject({ method: 'PUT', url: '/v1/coverage/settings', headers: bearer(t.adminToken), payload: doc });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ version: 1, settings: { scope: doc.scope } });
    const entries = await t.deps.store.ledger.page({ limit: 10, order: 'desc', kind: 'coverage.settings-set' });
    expect(entries).toHaveLength(1);
    expect(JSON.parse(entries[0]!.dataJson)).toMatchObject({
      version: 1,
      settings: { profiles: { shop: ['T1190', 'T1110.001', 'T1595.003'] } },
    });
    const map = (await get('/v1/coverage?all=true')).json();
    expect(map.kris).toMatchObject({ inScope: 4, exercised: 3, neverExercised: 1 });
    expect(map.techniques.find((c: { technique: string }) => c.technique === 'T1190').staleAfterDays).toBe(7);
  });

  it('refuses bad settings with what to fix, and changes nothing', async () => {
    const before = (await get('/v1/coverage/settings')).json();
    for (const [payload, says] of [
      [{ scope: { tactics: ['initial-acess'] } }, "unknown tactic 'initial-acess'"],
      [{ scope: { techniques: ['T1'] } }, 'T1234 or T1234.001'],
      [{ staleAfterDays: { default: 0 } }, 'staleAfterDays.default'],
      [{ surprise: true }, 'surprise'],
    ] as const) {
      const res = await t.app.inject({ method: 'PUT', url: '/v1/coverage/settings', headers: bearer(t.adminToken), payload });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid', message: expect.stringContaining(says) });
    }
    expect((await get('/v1/coverage/settings')).json()).toEqual(before);
  });

  it('need coverage:write to change', async () => {
    const res = await t.app.inject({ method: 'PUT', url: '/v1/coverage/settings', headers: bearer(readToken), payload: {} });
    expect(res.statusCode).toBe(403);
  });
});
