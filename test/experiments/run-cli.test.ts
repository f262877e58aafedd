/**
 * `bulwark experiments validate` and `bulwark run` as an operator runs them: child processes over
 * a real SQLite state directory, a loopback target in this process, real signals (SIGTERM,
 * SIGKILL). The SIGKILL case is the crash the lease exists for: the next `bulwark run` on the
 * same state directory rolls the dead run back and the file it changed is restored.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureOrigin } from '../../src/app/bootstrap.ts';
import { systemClock } from '../../src/app/deps.ts';
import { memoryKeyRing } from '../../src/app/ledger/key-ring.ts';
import { createSignalIngest, type SignalIngest } from '../../src/app/signals/ingest.ts';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite.ts';
import { describeRun, runCli } from '../support/cli.ts';
import { startTarget, type Target } from '../support/experiment-target.ts';
import { killAllChildren, spawnBulwark } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';
import { until, withStore } from '../support/wait.ts';

const T = 60_000;

let dir: TmpDir;
let target: Target;
afterEach(async () => {
  await target?.close();
  await dir?.cleanup();
});
afterAll(async () => {
  await killAllChildren();
});
beforeEach(async () => {
  dir = await tmpDir('bulwark-run-cli-');
  target = await startTarget();
});

const write = (name: string, text: string) => {
  const f = path.join(dir.path, name);
  writeFileSync(f, text);
  return f;
};

/** A method that changes a file, then holds (so that the test can stop or kill the run there). */
function flipAndHold(conf: string): string {
  return `
title: config flip is noticed
description: turn the input filter off and wait
method:
  - type: action
    name: disable-filter
    provider: {type: file, operation: modify, path: "${conf}", find: "filter = on", replace: "filter = off"}
    pauses: {after: 30}
rollbacks:
  - type: probe
    name: filter-is-back
    tolerance: {type: regex, pattern: "filter = on", target: stdout}
    provider: {type: process, path: cat, arguments: ["${conf}"]}
`;
}

/** The database of the state directory. */
const stateDb = () => `sqlite:${path.join(dir.path, 'bulwark.db')}`;

describe('bulwark experiments validate', () => {
  it('names the line and column of each error and exits 2; a valid file exits 0', { timeout: T }, async () => {
    const bad = write(
      'bad.yaml',
      'title: x\ndescription: y\nmethod:\n  - type: action\n    name: a\n    provider: {type: http, url: "ftp://x"}\n',
    );
    const r = await runCli(['experiments', 'validate', bad]);
    expect(r.code, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6:\\d+: method\\[0\\]\\.provider\\.url: url must be an absolute http\\(s\\) URL`,
      ),
    );
    const good = write('good.yaml', flipAndHold('/tmp/x.conf'));
    const ok = await runCli(['experiments', 'validate', good]);
    expect(ok.code, describeRun(ok)).toBe(0);
    expect(ok.stdout).toMatch(/valid: "config flip is noticed": 1 method step\(s\), 1 rollback\(s\)/);
  });
});

describe('bulwark run', () => {
  it('detects across processes: a signal written to the database by another process matches the run', { timeout: T }, async () => {
    // This process stands for a `bulwark serve` on the same database, ingesting the WAF's report.
    const store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
    let ingest: SignalIngest | undefined;
    try {
      ingest = createSignalIngest({ store, clock: systemClock, keys: memoryKeyRing(), origin: await ensureOrigin(store) });
      await target.close();
      target = await startTarget({ ingest, decide: () => ({ status: 403, signal: { afterMs: 50 } }) });
      const file = write(
        'sqli.yaml',
        `
title: SQL injection is blocked and detected
description: standalone run, detection through the database
method:
  - type: action
    name: inject
    provider: {type: http, url: "\${target}/search", arguments: {q: "1' OR '1'='1"}}
expect:
  blocked: {tolerance: 403}
  detected:
    - {name: waf, when: 'signal.source == "waf"', within: 3s}
`,
      );
      const r = await runCli(['run', file, '--state-dir', dir.path, '--var', `target=${target.url}`, '--json', '--poll', '50']);
      expect(r.code, describeRun(r)).toBe(0);
      const out = JSON.parse(r.stdout) as { outcome: string; ttdMs: number; detections: { by: string }[]; runId: string };
      expect(out).toMatchObject({ outcome: 'prevented', detections: [{ by: 'run-id' }] });
      expect(out.ttdMs).toBeGreaterThanOrEqual(50);
      expect(r.stderr).toMatch(/inject +injected action 'inject': succeeded, status 403/);
      expect(target.attacks()[0]?.runId).toBe(out.runId);
    } finally {
      await ingest?.close();
      await store.close();
    }
  });

  it('prints the plan of a dry run and sends nothing', { timeout: T }, async () => {
    const file = write(
      'probe.yaml',
      `title: t\ndescription: d\nmethod:\n  - type: action\n    name: hit\n    provider: {type: http, url: "${target.url}/x"}\n`,
    );
    const r = await runCli(['run', file, '--state-dir', dir.path, '--dry-run']);
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toMatch(/action 'hit': GET http:\/\/127\.0\.0\.1:\d+\/x \[injection\]/);
    expect(r.stdout).toMatch(/dry run: nothing was sent/);
    expect(target.requests).toEqual([]);
  });

  it('refuses a target outside the blast radius with exit 2 and sends nothing', { timeout: T }, async () => {
    const file = write(
      'far.yaml',
      `title: t\ndescription: d\nmethod:\n  - type: action\n    name: hit\n    provider: {type: http, url: "http://shop.example.com/x"}\n`,
    );
    const r = await runCli(['run', file, '--state-dir', dir.path]);
    expect(r.code, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(/refused before anything was sent: .*shop\.example\.com is outside the blast radius/);
  });

  it('on SIGTERM stops, runs the rollbacks and exits with the aborted code', { timeout: T }, async () => {
    const conf = write('shop.conf', 'filter = on\n');
    const run = spawnBulwark(['run', write('flip.yaml', flipAndHold(conf)), '--state-dir', dir.path]);
    await until('the file change', () => readFileSync(conf, 'utf8') === 'filter = off\n', 30_000, run.stderr);
    run.child.kill('SIGTERM');
    const exit = await run.exited;
    expect(exit.code, run.stderr()).toBe(7);
    expect(readFileSync(conf, 'utf8')).toBe('filter = on\n');
    expect(run.stderr()).toMatch(/rollback 'filter-is-back': ok/);
    const runs = await withStore(stateDb(), (s) => s.runs.list({ limit: 10 }));
    expect(runs.runs).toMatchObject([{ state: 'done', outcome: 'aborted', reason: 'aborted: stopped: SIGTERM received' }]);
  });

  it('after SIGKILL mid-method, the next bulwark run on the state directory rolls the dead run back', { timeout: T }, async () => {
    const conf = write('shop.conf', 'filter = on\nlog = on\n');
    const killed = spawnBulwark(['run', write('flip.yaml', flipAndHold(conf)), '--state-dir', dir.path]);
    await until('the file change', () => readFileSync(conf, 'utf8').startsWith('filter = off'), 30_000, killed.stderr);
    killed.child.kill('SIGKILL');
    expect((await killed.exited).signal).toBe('SIGKILL');
    expect(readFileSync(conf, 'utf8')).toBe('filter = off\nlog = on\n');
    const [dead] = (await withStore(stateDb(), (s) => s.runs.list({ limit: 10 }))).runs;
    expect(dead).toMatchObject({ state: 'running' });

    const next = write(
      'noop.yaml',
      `title: noop\ndescription: anything\nmethod:\n  - type: probe\n    name: noop\n    provider: {type: process, path: "true"}\n`,
    );
    const r = await runCli(['run', next, '--state-dir', dir.path]);
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`recovering run ${dead!.id}`));
    expect(readFileSync(conf, 'utf8')).toBe('filter = on\nlog = on\n');
    const after = await withStore(stateDb(), (s) => s.runs.get(dead!.id));
    expect(after).toMatchObject({ state: 'done', outcome: 'aborted' });
    expect(after!.reason).toMatch(/stopped while the run was running; its rollbacks ran at recovery/);
  });
});
