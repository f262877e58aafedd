/**
 * `safety.dryRun: true` written in the file (not the --dry-run flag): `bulwark run FILE` sends
 * nothing — no request reaches the target, not even a steady-state probe; no process starts; no
 * file changes — and the run is recorded in the database as a dry run, with its plan, and a
 * `run.dry-run` ledger entry instead of the entries of a real run.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite.ts';
import { describeRun, runCli } from '../support/cli.ts';
import { startTarget, type Target } from '../support/experiment-target.ts';
import { killAllChildren } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

const T = 60_000;

let dir: TmpDir;
let target: Target;
beforeEach(async () => {
  dir = await tmpDir('bulwark-dry-file-');
  target = await startTarget();
});
afterEach(async () => {
  await target?.close();
  await dir?.cleanup();
});
afterAll(async () => {
  await killAllChildren();
});

describe('safety.dryRun: true in the file', () => {
  it('sends nothing, changes nothing, and records a dry run', { timeout: T }, async () => {
    const conf = path.join(dir.path, 'shop.conf');
    writeFileSync(conf, 'filter = on\n');
    const marker = path.join(dir.path, 'marker');
    const file = path.join(dir.path, 'dry.yaml');
    writeFileSync(
      file,
      `
title: dry by the file
description: every kind of activity, none of which may run
configuration:
  target: http://127.0.0.1:1
steady-state-hypothesis:
  title: the shop is up
  probes:
    - type: probe
      name: shop-up
      tolerance: 200
      provider: {type: http, url: "\${target}/health"}
method:
  - type: action
    name: disable-filter
    provider: {type: file, operation: modify, path: "${conf}", find: "filter = on", replace: "filter = off"}
  - type: action
    name: touch-marker
    provider: {type: process, path: touch, arguments: ["${marker}"]}
  - type: action
    name: inject-sqli
    provider: {type: http, url: "\${target}/search", arguments: {q: "' OR 1=1--"}}
expect:
  blocked: {tolerance: 403}
rollbacks:
  - type: action
    name: tell-the-shop
    provider: {type: http, url: "\${target}/rollback", method: POST}
safety:
  dryRun: true
`,
    );
    // No --dry-run flag: the file alone asks for it.
    const r = await runCli(['run', file, '--state-dir', dir.path, '--var', `target=${target.url}`, '--json']);
    expect(r.code, describeRun(r)).toBe(0);
    const out = JSON.parse(r.stdout) as { runId: string; dryRun: boolean; outcome: string | null; plan: string[]; injections: unknown[] };
    expect(out).toMatchObject({ dryRun: true, outcome: null, injections: [] });
    expect(out.plan).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ {2}3\. action 'inject-sqli': GET http:\/\/127\.0\.0\.1:\d+\/search .*\[injection\]$/),
        expect.stringMatching(/\(automatic\) action 'restore .*shop\.conf'/),
      ]),
    );

    // Nothing was sent, started or changed.
    expect(target.requests).toEqual([]);
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(conf, 'utf8')).toBe('filter = on\n');

    const store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
    try {
      const { runs } = await store.runs.list({ limit: 10 });
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ id: out.runId, dryRun: true, state: 'done', outcome: null, reason: 'dry run: nothing was sent' });
      const j = runs[0]!.journal as any;
      expect(j.bulwark).toMatchObject({ dryRun: true, injections: [] });
      expect(j.bulwark.plan).toEqual(out.plan);
      expect(j.run).toEqual([]);
      expect(j.rollbacks).toEqual([]);
      const kinds = (await store.ledger.page({ limit: 1000, order: 'asc' }))
        .filter((e) => e.subject === `run:${out.runId}`)
        .map((e) => e.kind);
      expect(kinds).toEqual(['run.dry-run']);
    } finally {
      await store.close();
    }
  });
});
