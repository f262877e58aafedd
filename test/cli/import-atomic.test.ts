/**
 * `bulwark experiments import-atomic FILE` as an operator runs it (a child process, files in a
 * temporary directory): an Atomic Red Team technique file with an `sh` test (input arguments, a
 * prerequisite, a cleanup_command) and a PowerShell test becomes one experiment file in --out;
 * that file is valid for `bulwark experiments validate`, and `bulwark run` runs it: the command,
 * then the cleanup as its rollback. An existing file is kept without --force; a file that is not
 * an Atomic Red Team file is refused with its line and column and exit 2.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { describeRun, runCli } from '../support/cli.ts';
import { killAllChildren } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

const T = 60_000;

let dir: TmpDir;
beforeEach(async () => {
  dir = await tmpDir('bulwark-import-atomic-');
});
afterEach(async () => {
  await dir?.cleanup();
});
afterAll(async () => {
  await killAllChildren();
});

const ATOMIC = `---
attack_technique: T1074.001
display_name: 'Data Staged: Local Data Staging'
atomic_tests:
- name: Stage a file in a work folder
  auto_generated_guid: 0f7a1c5e-5c53-4c39-9a39-3e2a4c1b2d10
  description: |
    Write a file to a staging folder, as an attacker collecting data would.
  supported_platforms:
  - linux
  input_arguments:
    work_dir:
      description: The staging folder
      type: path
      default: /tmp/atomic-staging
    staged_name:
      description: The name of the staged file
      type: string
      default: staged.txt
    log_file:
      description: Where the test notes what it did
      type: path
      default: /tmp/atomic-staging.log
  dependency_executor_name: sh
  dependencies:
  - description: |
      The staging folder must exist
    prereq_command: |
      test -d #{work_dir}
    get_prereq_command: |
      mkdir -p #{work_dir}
  executor:
    name: sh
    elevation_required: false
    command: |
      echo collected > #{work_dir}/#{staged_name}
      echo "staged by $0" >> #{log_file}
    cleanup_command: |
      rm -f #{work_dir}/#{staged_name}
      echo cleaned >> #{log_file}
- name: Stage a file with PowerShell
  auto_generated_guid: 1a2b3c4d-0000-4000-8000-000000000002
  description: The Windows variant.
  supported_platforms:
  - windows
  executor:
    name: powershell
    command: |
      Set-Content -Path $env:TEMP\\staged.txt -Value collected
`;

describe('bulwark experiments import-atomic', () => {
  it(
    'writes one experiment per sh test to --out; it validates, and bulwark run runs the command then the cleanup',
    { timeout: T },
    async () => {
      const atomic = path.join(dir.path, 'T1074.001.yaml');
      writeFileSync(atomic, ATOMIC);
      const work = path.join(dir.path, 'work');
      mkdirSync(work);
      const log = path.join(dir.path, 'atomic.log');
      const out = path.join(dir.path, 'experiments', 'atomic');
      const args = ['experiments', 'import-atomic', atomic, '--out', out, '--arg', `work_dir=${work}`, '--arg', `log_file=${log}`];

      const r = await runCli([...args, '--timeout', '20']);
      expect(r.code, describeRun(r)).toBe(0);
      const written = path.join(out, 'T1074.001-1-stage-a-file-in-a-work-folder.yaml');
      expect(r.stdout).toBe(`${written}\n`);
      expect(readdirSync(out)).toEqual([path.basename(written)]);
      expect(r.stderr).toContain(
        "warning: skipped test 2 'Stage a file with PowerShell': its executor is powershell; only sh and bash run",
      );
      expect(r.stderr).toContain("warning: test 1 'Stage a file in a work folder' checks prerequisites before it runs");

      const text = readFileSync(written, 'utf8');
      expect(text).toMatch(/^# Imported from Atomic Red Team T1074\.001 test 1 \(0f7a1c5e-5c53-4c39-9a39-3e2a4c1b2d10\)\./);
      const doc = parse(text);
      expect(doc).toMatchObject({
        title: 'T1074.001 Data Staged: Local Data Staging: Stage a file in a work folder',
        techniques: ['T1074.001'],
        tags: ['atomic-red-team', 'T1074.001', 'linux'],
        'steady-state-hypothesis': {
          probes: [{ type: 'probe', tolerance: 0, provider: { type: 'process', path: '/bin/sh', arguments: ['-c', `test -d ${work}\n`] } }],
        },
        method: [
          {
            type: 'action',
            name: 'atomic T1074.001-1: Stage a file in a work folder',
            provider: {
              type: 'process',
              path: '/bin/sh',
              // The arguments replaced, and `$` doubled so that it is not read as ${configuration}.
              arguments: ['-c', `echo collected > ${work}/staged.txt\necho "staged by $$0" >> ${log}\n`],
              timeout: 20,
            },
          },
        ],
        rollbacks: [
          {
            type: 'action',
            name: 'cleanup of T1074.001-1',
            provider: { type: 'process', path: '/bin/sh', arguments: ['-c', `rm -f ${work}/staged.txt\necho cleaned >> ${log}\n`] },
          },
        ],
        'x-atomic-red-team': {
          attack_technique: 'T1074.001',
          test_number: 1,
          input_arguments: { work_dir: work, staged_name: 'staged.txt', log_file: log },
        },
      });

      // Independent of each other: validated and run at once (each CLI start takes a second or two).
      const [valid, run] = await Promise.all([
        runCli(['experiments', 'validate', written]),
        runCli(['run', written, '--state-dir', path.join(dir.path, 'state'), '--json']),
      ]);
      expect(valid.code, describeRun(valid)).toBe(0);
      expect(valid.stdout).toContain(
        'valid: "T1074.001 Data Staged: Local Data Staging: Stage a file in a work folder": 1 method step(s), 1 rollback(s)',
      );

      // It runs as written: the prerequisite holds, the command stages the file, the cleanup removes it.
      expect(run.code, describeRun(run)).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        outcome: 'prevented',
        injections: [{ activity: 'atomic T1074.001-1: Stage a file in a work folder', ok: true, status: 0 }],
      });
      expect(readFileSync(log, 'utf8')).toBe('staged by /bin/sh\ncleaned\n');
      expect(existsSync(path.join(work, 'staged.txt'))).toBe(false);

      // A second import keeps the file unless --force.
      writeFileSync(written, '# edited by hand\n');
      const again = await runCli(args);
      expect(again.code, describeRun(again)).toBe(2);
      expect(again.stderr).toContain(`${written} exists already; pass --force to overwrite`);
      expect(readFileSync(written, 'utf8')).toBe('# edited by hand\n');
      const forced = await runCli([...args, '--force']);
      expect(forced.code, describeRun(forced)).toBe(0);
      expect(readFileSync(written, 'utf8')).toMatch(/^# Imported from Atomic Red Team/);
    },
  );

  it(
    'refuses a file that is not an Atomic Red Team technique file: line, column, what to fix, exit 2, nothing written',
    { timeout: T },
    async () => {
      const out = path.join(dir.path, 'out');
      const bad = path.join(dir.path, 'bad.yaml');
      writeFileSync(
        bad,
        ['attack_technique: T1074.001', 'display_name: Staging', 'atomic_tests:', '- name: no executor', '  description: x', ''].join('\n'),
      );
      const notArt = path.join(dir.path, 'experiment.yaml');
      writeFileSync(notArt, 'title: an experiment\ndescription: not an atomic file\nmethod: []\n');
      const absent = path.join(dir.path, 'nope.yaml');
      // A valid file none of whose tests can run here.
      const windowsOnly = path.join(dir.path, 'windows.yaml');
      writeFileSync(
        windowsOnly,
        ATOMIC.replace(/- name: Stage a file in a work folder[\s\S]*?(?=- name: Stage a file with PowerShell)/, ''),
      );
      const importTo = (file: string) => runCli(['experiments', 'import-atomic', file, '--out', out]);
      const [r, r2, missing, r3] = await Promise.all([importTo(bad), importTo(notArt), importTo(absent), importTo(windowsOnly)]);

      expect(r.code, describeRun(r)).toBe(2);
      expect(r.stderr).toContain(`${bad} is not a usable Atomic Red Team file:`);
      expect(r.stderr).toContain(`${bad}:4:3: atomic_tests[0].executor: executor is missing; add {name: sh, command: …}`);

      expect(r2.code, describeRun(r2)).toBe(2);
      expect(r2.stderr).toMatch(new RegExp(`${notArt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: .*attack_technique`));

      expect(missing.code, describeRun(missing)).toBe(2);
      expect(missing.stderr).toMatch(/cannot read .*nope\.yaml/);

      // Nothing to write: exit 1 (a check failed), not 2 (the file itself is fine).
      expect(r3.code, describeRun(r3)).toBe(1);
      expect(r3.stderr).toContain("warning: skipped test 1 'Stage a file with PowerShell'");
      expect(r3.stderr).toContain(`no test of ${windowsOnly} can be imported`);

      expect(existsSync(out)).toBe(false);
    },
  );
});
