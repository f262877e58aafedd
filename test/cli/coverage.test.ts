/**
 * `bulwark coverage show|export|settings|import-attire|profile` over real HTTP against an in-process server on
 * loopback, its store holding runs as the experiments capability writes them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { describeRun, runCli } from '../support/cli.ts';
import { parseLayers } from '../../src/core/coverage/navigator.ts';

let t: TestApp;
let env: Record<string, string>;

beforeAll(async () => {
  t = await makeTestApp();
  await t.deps.store.experiments.put(
    {
      name: 'sqli-products',
      title: 'SQLi is blocked',
      description: '',
      techniques: ['T1190'],
      file: 'x',
      fileSha256: 'a'.repeat(64),
      schedule: null,
      privileged: false,
      appliedBy: 't',
    },
    new Date().toISOString(),
  );
  const end = Date.now() - 60_000;
  await t.deps.store.runs.insert({
    id: 'sqli000000000001',
    experiment: 'SQLi is blocked',
    state: 'done',
    outcome: 'detected',
    reason: null,
    startedAt: new Date(end - 1000).toISOString(),
    endedAt: new Date(end).toISOString(),
    leaseOwner: null,
    leaseUntil: null,
    rollbacks: [],
    journal: {},
    ttdMs: 640,
    dryRun: false,
  });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  env = { BULWARK_URL: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, BULWARK_TOKEN: t.adminToken };
}, 30_000);

afterAll(async () => {
  await t?.close();
});

describe('bulwark coverage', () => {
  it('show prints the KRIs and the techniques with evidence; --stale filters', async () => {
    const r = await runCli(['coverage', 'show'], { env });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toMatch(/ATT&CK v18\.1/);
    expect(r.stdout).toMatch(/alerted 1/);
    expect(r.stdout).toMatch(/T1190\s+alerted\s+ttd 640 ms/);
    // A run from before per-control results is its own control, `default`.
    expect(r.stdout).toMatch(/control default: alerted, run sqli000000000001/);
    const stale = await runCli(['coverage', 'show', '--stale'], { env });
    expect(stale.stdout).toContain('no stale technique');
    const waf = await runCli(['coverage', 'show', '--control', 'waf'], { env });
    expect(waf.code, describeRun(waf)).toBe(0);
    expect(waf.stdout).toContain('no technique has evidence yet');
  }, 30_000);

  it('export writes a Navigator layer to a file and VECTR CSV to standard output (the JSON and DeTT&CT exports are the same route family, tested over HTTP); an unknown format is refused with exit 2', async () => {
    const layerFile = path.join(t.dir, 'layer.json');
    const nav = await runCli(['coverage', 'export', '--format', 'navigator', '--out', layerFile], { env });
    expect(nav.code, describeRun(nav)).toBe(0);
    const layers = parseLayers(await readFile(layerFile, 'utf8'));
    expect(layers.ok && layers.layers[0]!.techniques!.find((x) => x.techniqueID === 'T1190')?.score).toBe(67);
    const csv = await runCli(['coverage', 'export', '--format', 'vectr-csv'], { env });
    expect(csv.stdout.split('\r\n')[0]).toMatch(/^Campaign,Variant,/);
    const bad = await runCli(['coverage', 'export', '--format', 'xlsx'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('navigator, json, vectr-csv, dettect');
  }, 60_000);

  it('settings --set stores a YAML file; a bad one is refused with what to fix', async () => {
    const good = path.join(t.dir, 'coverage.yaml');
    await writeFile(good, 'scope:\n  tactics: [initial-access]\nstaleAfterDays:\n  default: 14\n');
    const r = await runCli(['coverage', 'settings', '--set', good], { env });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toContain('version 1');
    const bad = path.join(t.dir, 'bad.yaml');
    await writeFile(bad, 'scope:\n  tactics: [initial-acess]\n');
    const b = await runCli(['coverage', 'settings', '--set', bad], { env });
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("unknown tactic 'initial-acess'");
  }, 30_000);

  it('import-attire imports the published ATTiRe sample: one procedure of T1218.010, missed (no signal names its host)', async () => {
    const r = await runCli(['coverage', 'import-attire', 'test/fixtures/attire/attire-1.1-readme-sample.json', '--window', '60'], { env });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toContain('Invoke-Atomicredteam: 1 procedure(s), 1 imported, 0 imported before');
    expect(r.stdout).toMatch(/^[a-z0-9]{16} T1218\.010\s+missed\s+ttd -\s+Regsvr32 remote COM scriptlet execution$/m);
  }, 30_000);

  it('profile stores a threat profile from a list file and puts it in scope; a malformed id is refused naming its line, nothing stored', async () => {
    const list = path.join(t.dir, 'apt-x.txt');
    await writeFile(list, '# APT-X\nT1190, T1059.004\nT1083\n');
    const r = await runCli(['coverage', 'profile', 'APT-X', list, '--in-scope'], { env });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toContain('threat profile APT-X: 3 techniques from a list, in scope');
    const stored = (await t.deps.store.coverageSettings.get())!.settings as { profiles: object; scope: { profiles: string[] } };
    expect(stored.profiles).toMatchObject({ 'APT-X': ['T1190', 'T1059.004', 'T1083'] });
    expect(stored.scope.profiles).toEqual(['APT-X']);
    const bad = path.join(t.dir, 'bad.txt');
    await writeFile(bad, 'T1190\nT1190.1\n');
    const b = await runCli(['coverage', 'profile', 'APT-Y', bad], { env });
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("line 2: 'T1190.1' is not a technique id");
    // The server's refusal of an id the table does not know is the settings' (tested above): nothing is stored.
    expect(((await t.deps.store.coverageSettings.get())!.settings as { profiles: object }).profiles).not.toHaveProperty('APT-Y');
  }, 30_000);
});
