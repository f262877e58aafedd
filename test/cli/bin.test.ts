/**
 * The installed `bulwark` (bin/bulwark.mjs, the TypeScript sources through tsx) runs commands.
 * The other tests spawn the CLI bundled once per run (test/support/cli-bundle.ts), which starts
 * faster; this file keeps the bin itself under test, and checks that the two say the same.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.ts';
import { describeRun, runCli, runNode } from '../support/cli.ts';
import { bulwarkCliFile, installedBinArgs } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

const T = 60_000;
let dir: TmpDir;

beforeAll(async () => {
  dir = await tmpDir('bulwark-bin-');
});
afterAll(async () => {
  await dir?.cleanup();
});

describe('bin/bulwark.mjs, as installed', () => {
  it('prints its version, and the same help as the CLI the other tests run', { timeout: T }, async () => {
    const [version, binHelp, testedHelp] = await Promise.all([
      runNode(installedBinArgs(['--version'])),
      runNode(installedBinArgs(['--help'])),
      runCli(['--help']),
    ]);
    expect(version.code, describeRun(version)).toBe(0);
    expect(version.stdout.trim()).toBe(VERSION);
    expect(binHelp.code, describeRun(binHelp)).toBe(0);
    expect(binHelp.stdout).toMatch(/\bserve\b/);
    expect(binHelp.stdout).toMatch(/\bledger\b/);
    expect(testedHelp.stdout).toBe(binHelp.stdout);
  });

  it('creates a token on a new SQLite database and verifies its ledger', { timeout: T }, async () => {
    const db = `sqlite:${path.join(dir.path, 'bulwark.db')}`;
    const flags = ['--db', db, '--data-dir', dir.path];
    const created = await runNode(installedBinArgs(['tokens', 'create', '--admin', '--name', 'bin', '--json', ...flags]));
    expect(created.code, describeRun(created)).toBe(0);
    expect((JSON.parse(created.stdout) as { token: string }).token).toMatch(/^bwk_/);
    const verified = await runNode(installedBinArgs(['ledger', 'verify', ...flags]));
    expect(verified.code, describeRun(verified)).toBe(0);
  });

  it('is what the tests run when TEST_BULWARK_CLI=bin, and the bundle otherwise', () => {
    const file = bulwarkCliFile();
    if (process.env.TEST_BULWARK_CLI === 'bin') expect(file).toBe(installedBinArgs([])[1]);
    else expect(path.basename(file)).toBe('bulwark-cli.mjs');
  });
});
