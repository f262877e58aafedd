/**
 * SIGINT (Ctrl-C) to `bulwark run` mid-method, as docs/cli.md promises: the run stops, its
 * rollbacks run (the file the method changed is restored) and the process exits 7, the `aborted`
 * code. A second SIGINT while the rollbacks run does not cut them short. The SIGTERM case is in
 * run-cli.test.ts; this is the same over a real child process and a real SQLite state directory.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/core/experiments/outcome.ts';
import { killAllChildren, spawnBulwark } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';
import { until, withStore } from '../support/wait.ts';

const T = 60_000;

let dir: TmpDir;
beforeEach(async () => {
  dir = await tmpDir('bulwark-run-sigint-');
});
afterEach(async () => {
  await dir?.cleanup();
});
afterAll(async () => {
  await killAllChildren();
});

const write = (name: string, text: string) => {
  const f = path.join(dir.path, name);
  writeFileSync(f, text);
  return f;
};

/** A method that changes a file, then holds for 30 s; a verifying probe and `extra` rollbacks. */
function flipAndHold(conf: string, extraRollbacks = ''): string {
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
${extraRollbacks}`;
}

async function runsAndLedger(): Promise<{
  runs: { id: string; state: string; outcome: string | null; reason: string | null; journal: unknown }[];
  kinds: string[];
}> {
  return withStore(`sqlite:${path.join(dir.path, 'bulwark.db')}`, async (s) => {
    const { runs } = await s.runs.list({ limit: 10 });
    const entries = await s.ledger.page({ limit: 1000, order: 'asc' });
    return { runs, kinds: entries.filter((e) => e.subject === `run:${runs[0]?.id}`).map((e) => e.kind) };
  });
}

describe('bulwark run on SIGINT', () => {
  it('stops, runs the rollbacks (the file is restored) and exits 7, the aborted code', { timeout: T }, async () => {
    expect(EXIT_CODES.aborted).toBe(7); // the code docs/cli.md documents
    const conf = write('shop.conf', 'filter = on\n');
    const run = spawnBulwark(['run', write('flip.yaml', flipAndHold(conf)), '--state-dir', dir.path]);
    await until('the file change', () => readFileSync(conf, 'utf8') === 'filter = off\n', 30_000, run.stderr);
    const sentAt = Date.now();
    run.child.kill('SIGINT');
    const exit = await run.exited;
    expect(exit, run.stderr()).toEqual({ code: 7, signal: null });
    // Stopped at once, not after the 30 s pause.
    expect(Date.now() - sentAt).toBeLessThan(15_000);
    expect(readFileSync(conf, 'utf8')).toBe('filter = on\n');
    expect(run.stderr()).toMatch(/stop +SIGINT: stopping; the rollbacks run before exit/);
    expect(run.stderr()).toMatch(/rollback 'filter-is-back': ok/);
    const { runs, kinds } = await runsAndLedger();
    expect(runs).toMatchObject([{ state: 'done', outcome: 'aborted', reason: 'aborted: stopped: SIGINT received' }]);
    // The file change was made before the stop (during its pause after): it is on the record,
    // in the ledger and in the journal, then both rollbacks (the automatic restore, the probe).
    expect(kinds).toEqual(['run.started', 'run.injected', 'run.rollback', 'run.rollback', 'run.finished']);
    const j = runs[0]!.journal as any;
    expect(j.status).toBe('aborted');
    expect(j.run.map((a: any) => [a.activity.name, a.status])).toEqual([['disable-filter', 'succeeded']]);
    expect(j.bulwark.injections).toMatchObject([{ activity: 'disable-filter', ok: true }]);
    expect(j.rollbacks.map((a: any) => [a.activity.name, a.status])).toEqual([
      [`restore ${conf}`, 'succeeded'],
      ['filter-is-back', 'succeeded'],
    ]);
  });

  it('a second SIGINT while the rollbacks run does not interrupt them', { timeout: T }, async () => {
    const conf = write('shop.conf', 'filter = on\n');
    const log = path.join(dir.path, 'rollback.log');
    // A slow rollback: it is running when the second SIGINT arrives, and must still finish.
    const slow = `
  - type: action
    name: slow-cleanup
    provider: {type: process, path: sh, arguments: ["-c", "sleep 1.5; echo cleaned >> '${log}'"], timeout: 10}
`;
    const run = spawnBulwark(['run', write('flip.yaml', flipAndHold(conf, slow)), '--state-dir', dir.path]);
    await until('the file change', () => readFileSync(conf, 'utf8') === 'filter = off\n', 30_000, run.stderr);
    run.child.kill('SIGINT');
    await until('the rollback of the file', () => /rollback 'filter-is-back': ok/.test(run.stderr()), 30_000, run.stderr);
    expect(existsSync(log)).toBe(false); // slow-cleanup is running now
    run.child.kill('SIGINT');
    const exit = await run.exited;
    expect(exit, run.stderr()).toEqual({ code: 7, signal: null });
    expect(run.stderr()).toMatch(/SIGINT again: the rollbacks are running and will finish/);
    expect(run.stderr()).toMatch(/rollback 'slow-cleanup': ok/);
    expect(readFileSync(log, 'utf8')).toBe('cleaned\n');
    expect(readFileSync(conf, 'utf8')).toBe('filter = on\n');
    const { runs } = await runsAndLedger();
    expect(runs).toMatchObject([{ state: 'done', outcome: 'aborted' }]);
  });
});
