import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslAvailable } from '../../../../test/support/openssl.ts';
import { freePort } from '../../../../test/support/tmp.ts';
import { resolveConfiguration } from '../configuration.ts';
import { parseExperiment } from '../experiment-file.ts';
import { evaluateTolerance } from '../tolerance.ts';
import type { Activity, ProcessProvider } from '../types.ts';
import { toExperimentYaml } from './render.ts';
import { RUN_ID_KEY } from './technique.ts';
import { tlsCheck } from './tls-check.ts';

const RUN = 'tls00001run';

/** The checks of a rendered tls.check, each run for real, with its exit status judged by expect.blocked. */
function runChecks(
  target: string,
  params: Record<string, unknown> = {},
): { name: string; status: number | null; held: boolean; stdout: string }[] {
  const parsed = parseExperiment(toExperimentYaml(tlsCheck, params, { target, runId: RUN }));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const resolved = resolveConfiguration(parsed.experiment, {}, { [RUN_ID_KEY]: RUN });
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  const exp = resolved.value.experiment;
  const blocked = exp.expect!.blocked!.tolerance;
  return exp.method.map((s) => {
    const a = s as Activity;
    const p = a.provider as ProcessProvider;
    if (p.arguments.kind !== 'argv') throw new Error('argv expected');
    const r = spawnSync(p.path, p.arguments.argv, { encoding: 'utf8', timeout: p.timeoutMs });
    const result = { status: r.status, stdout: r.stdout, stderr: r.stderr };
    return { name: a.name, status: r.status, held: evaluateTolerance(blocked, result).ok, stdout: r.stdout };
  });
}

async function listening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}

// Without openssl: skipped with what to install, or a failure under CI=true (test/support/openssl.ts).
describe.skipIf(!opensslAvailable())('TLS checks against real openssl servers', () => {
  let dir: string;
  const servers: ChildProcess[] = [];
  let modern = 0;
  let legacy = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    // A certificate valid for 5 days: fine for a 1-day check, too short for the default 14.
    const req = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '5',
      '-subj',
      '/CN=localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    if (req.status !== 0) throw new Error(req.stderr.toString());
    const serve = (port: number, extra: string[]) => {
      const child = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-key', key, '-www', '-quiet', ...extra], {
        stdio: 'ignore',
      });
      servers.push(child);
    };
    modern = await freePort();
    serve(modern, []);
    legacy = await freePort();
    // A server that still speaks TLS 1.0 (and only that).
    serve(legacy, ['-tls1', '-cipher', 'DEFAULT:@SECLEVEL=0']);
    await Promise.all([listening(modern), listening(legacy)]);
  });

  afterAll(() => {
    for (const s of servers) s.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes a modern server on protocol versions and fails its 5-day certificate against a 14-day minimum', () => {
    const checks = runChecks(`https://127.0.0.1:${modern}`);
    expect(checks.map((c) => [c.name, c.held])).toEqual([
      ['tls.check refuses TLS 1.0', true],
      ['tls.check refuses TLS 1.1', true],
      ['tls.check accepts TLS 1.2', true],
      ['tls.check certificate valid 14 more days', false],
    ]);
    expect(checks[3]!.stdout).toContain('Certificate will expire');
  });

  it('holds with a 1-day minimum and checks TLS 1.3 when asked', () => {
    const checks = runChecks(`http://127.0.0.1`, { port: modern, minDaysValid: 1, accept: ['tls1_2', 'tls1_3'] });
    expect(checks.every((c) => c.held)).toBe(true);
  });

  it('catches a server that still accepts TLS 1.0 and refuses TLS 1.2', () => {
    const checks = runChecks(`https://127.0.0.1:${legacy}`, { checkExpiry: false });
    expect(checks.map((c) => [c.name, c.held])).toEqual([
      ['tls.check refuses TLS 1.0', false],
      ['tls.check refuses TLS 1.1', true],
      ['tls.check accepts TLS 1.2', false],
    ]);
    expect(checks[0]!.stdout).toContain('TLS 1.0 accepted');
  });
});

describe('tls.check parameters', () => {
  it('needs https or a port, and a version in one list only', () => {
    expect(() => toExperimentYaml(tlsCheck, {}, { target: 'http://127.0.0.1:8080', runId: RUN })).toThrow(/https target, or a port/);
    expect(() => toExperimentYaml(tlsCheck, { refuse: ['tls1_2'] }, { target: 'https://h.example', runId: RUN })).toThrow(
      /both in refuse and accept/,
    );
  });

  it('sends SNI for names and not for addresses, and never puts the host into the script text', () => {
    const parsed = parseExperiment(toExperimentYaml(tlsCheck, {}, { target: 'https://shop.example.test', runId: RUN }));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const p = (parsed.experiment.method[0] as Activity).provider as ProcessProvider;
    if (p.arguments.kind !== 'argv') throw new Error('argv expected');
    expect(p.arguments.argv.slice(3, 7)).toEqual(['-connect', 'shop.example.test:443', '-servername', 'shop.example.test']);
    expect(p.arguments.argv[1]).not.toContain('shop.example.test');
  });
});
