import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { destructiveReason, importAtomic, type AtomicImportResult, type ImportedAtomicTest } from './atomic.ts';
import { resolveConfiguration } from './configuration.ts';
import { parseExperiment } from './experiment-file.ts';
import type { Activity, Experiment, ProcessProvider } from './types.ts';

/**
 * Modelled on Atomic Red Team's T1070.004 (Indicator Removal: File Deletion): linux tests with sh
 * and bash executors, input arguments, a dependency, cleanup commands — and the tests an importer
 * must skip (PowerShell, elevation, manual).
 */
const T1070_004 = `---
attack_technique: T1070.004
display_name: 'Indicator Removal on Host: File Deletion'
atomic_tests:
- name: Delete a single file - Linux/macOS
  auto_generated_guid: 562d737f-2fc6-4b09-8c2a-7f8ff0828480
  description: |
    Delete a single file from a temporary directory.
  supported_platforms:
  - linux
  - macos
  input_arguments:
    parent_folder:
      description: Folder holding the file
      type: path
      default: /tmp/victim-files/
    file_to_delete:
      description: The file to delete
      type: path
      default: /tmp/victim-files/T1070.004-test.txt
  dependency_executor_name: sh
  dependencies:
  - description: |
      The file must exist in order to be deleted
    prereq_command: |
      test -e #{file_to_delete} && exit 0 || exit 1
    get_prereq_command: |
      mkdir -p #{parent_folder} && touch #{file_to_delete}
  executor:
    command: |
      rm -f #{file_to_delete}
    cleanup_command: |
      rm -rf #{parent_folder}
    name: sh
- name: Delete an entire folder with bash
  auto_generated_guid: a415f17e-ce8d-4ce2-a8b4-83b674e7017e
  description: |
    Recursively delete a temporary directory; report how many files went, with \${#files[@]}.
  supported_platforms:
  - linux
  input_arguments:
    folder_to_delete:
      description: Folder to delete
      type: path
      default: /tmp/victim-folder
    max_files:
      description: Refuse to delete more files than this
      type: integer
      default: 10
  executor:
    command: |
      files=(#{folder_to_delete}/*); echo "deleting \${#files[@]} files (pid $$)"; [ \${#files[@]} -le #{max_files} ] && rm -rf #{folder_to_delete}
    name: bash
- name: Delete a single file - Windows PowerShell
  auto_generated_guid: 9dee89bd-9a98-4c4f-9e2d-4256690b0e72
  description: Delete a file with Remove-Item.
  supported_platforms:
  - windows
  input_arguments:
    file_to_delete:
      description: File to delete
      type: string
      default: $env:TEMP\\deleteme_T1551.004
  executor:
    command: |
      Remove-Item -path #{file_to_delete}
    name: powershell
- name: Delete the system journal
  auto_generated_guid: 2d943c18-e74a-44bf-936f-25ade6cccab4
  description: Needs root.
  supported_platforms:
  - linux
  executor:
    command: |
      rm -rf /var/log/journal/*
    name: sh
    elevation_required: true
- name: Delete a file by hand
  description: A person deletes the file.
  supported_platforms:
  - linux
  executor:
    name: manual
    steps: |
      1. Open a terminal. 2. rm the file.
`;

function ok(r: AtomicImportResult): Extract<AtomicImportResult, { ok: true }> {
  if (!r.ok) throw new Error(JSON.stringify(r.errors, null, 2));
  return r;
}

function experimentOf(t: ImportedAtomicTest): Experiment {
  const p = parseExperiment(t.text);
  if (!p.ok) throw new Error(JSON.stringify(p.errors, null, 2));
  return p.experiment;
}

/** argv of a process activity after the run resolves its configuration (`$$` → `$`). */
function resolvedProcess(exp: Experiment, pick: (e: Experiment) => Activity): ProcessProvider {
  const r = resolveConfiguration(exp, {}, {});
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return pick(r.value.experiment).provider as ProcessProvider;
}

const argvOf = (p: ProcessProvider) => (p.arguments.kind === 'argv' ? p.arguments.argv : []);

describe('importing Atomic Red Team tests', () => {
  it('makes one experiment per sh or bash test and names every skipped one with the reason', () => {
    const r = ok(importAtomic(T1070_004));
    expect(r.technique).toBe('T1070.004');
    expect(r.experiments.map((e) => e.fileName)).toEqual([
      'T1070.004-1-delete-a-single-file-linux-macos.yaml',
      'T1070.004-2-delete-an-entire-folder-with-bash.yaml',
    ]);
    expect(r.warnings).toEqual(
      expect.arrayContaining([
        "skipped test 3 'Delete a single file - Windows PowerShell': its executor is powershell; only sh and bash run",
        "skipped test 4 'Delete the system journal': it needs elevation (elevation_required: true); run it by hand as root on a test host",
        "skipped test 5 'Delete a file by hand': it is a manual test (steps for a person)",
        "test 2 'Delete an entire folder with bash' has no cleanup_command: its experiment has no rollback",
      ]),
    );
  });

  it('turns the command into a /bin/sh -c action, the cleanup into the rollback, the prerequisite into a gate probe', () => {
    const exp = experimentOf(ok(importAtomic(T1070_004)).experiments[0]!);
    expect(exp.techniques).toEqual(['T1070.004']);
    expect(exp.title).toBe('T1070.004 Indicator Removal on Host: File Deletion: Delete a single file - Linux/macOS');
    expect(exp.tags).toEqual(['atomic-red-team', 'T1070.004', 'linux', 'macos']);
    const action = exp.method[0] as Activity;
    expect(action.provider).toMatchObject({
      type: 'process',
      path: '/bin/sh',
      arguments: { kind: 'argv', argv: ['-c', 'rm -f /tmp/victim-files/T1070.004-test.txt\n'] },
      timeoutMs: 300_000,
    });
    expect((exp.rollbacks[0] as Activity).provider).toMatchObject({
      path: '/bin/sh',
      arguments: { argv: ['-c', 'rm -rf /tmp/victim-files/\n'] },
    });
    const probe = exp.steadyStateHypothesis!.probes[0]!;
    expect(probe.name).toBe('prerequisite 1: The file must exist in order to be deleted');
    expect(probe.tolerance).toEqual({ kind: 'int', value: 0 });
    expect(argvOf(probe.provider as ProcessProvider)[1]).toBe('test -e /tmp/victim-files/T1070.004-test.txt && exit 0 || exit 1\n');
    expect(exp.vendor['x-atomic-red-team']).toMatchObject({
      test_number: 1,
      auto_generated_guid: '562d737f-2fc6-4b09-8c2a-7f8ff0828480',
      executor: 'sh',
    });
  });

  it('keeps $ in commands literal through the experiment file: $$, ${#files[@]} reach bash as written', () => {
    const exp = experimentOf(ok(importAtomic(T1070_004)).experiments[1]!);
    const p = resolvedProcess(exp, (e) => e.method[0] as Activity);
    expect(p.path).toBe('/bin/bash');
    expect(argvOf(p)[1]).toBe(
      'files=(/tmp/victim-folder/*); echo "deleting ${#files[@]} files (pid $$)"; [ ${#files[@]} -le 10 ] && rm -rf /tmp/victim-folder\n',
    );
  });

  it('applies --arg overrides over defaults and checks them against the declared type', () => {
    const r = ok(importAtomic(T1070_004, { args: { folder_to_delete: '/tmp/other', max_files: '3', nope: 'x' } }));
    const argv = argvOf(resolvedProcess(experimentOf(r.experiments[1]!), (e) => e.method[0] as Activity));
    expect(argv[1]).toContain('rm -rf /tmp/other');
    expect(argv[1]).toContain('-le 3 ]');
    expect(r.warnings).toContain('--arg nope matches no input argument of an imported test');
    const bad = ok(importAtomic(T1070_004, { args: { max_files: 'many' } }));
    expect(bad.experiments).toHaveLength(1);
    expect(bad.warnings).toContain("skipped test 2 'Delete an entire folder with bash': --arg max_files=many is not an integer");
  });

  it('fetches prerequisites inside the gate probe only when asked', () => {
    const plain = experimentOf(ok(importAtomic(T1070_004)).experiments[0]!);
    expect(argvOf(plain.steadyStateHypothesis!.probes[0]!.provider as ProcessProvider)[1]).not.toContain('mkdir');
    const fetching = experimentOf(ok(importAtomic(T1070_004, { getPrereqs: true })).experiments[0]!);
    expect(argvOf(fetching.steadyStateHypothesis!.probes[0]!.provider as ProcessProvider)[1]).toContain(
      'mkdir -p /tmp/victim-files/ && touch /tmp/victim-files/T1070.004-test.txt',
    );
  });

  it('produces commands that really run: gate fetches the file, the action deletes it, the rollback cleans up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-atomic-'));
    try {
      const folder = `${dir}/victim/`;
      const file = `${dir}/victim/T1070.004-test.txt`;
      const exp = experimentOf(
        ok(importAtomic(T1070_004, { getPrereqs: true, args: { parent_folder: folder, file_to_delete: file } })).experiments[0]!,
      );
      const run = (p: ProcessProvider) => execFileSync(p.path, argvOf(p), { stdio: 'pipe' });
      run(resolvedProcess(exp, (e) => e.steadyStateHypothesis!.probes[0]!));
      expect(existsSync(file)).toBe(true);
      run(resolvedProcess(exp, (e) => e.method[0] as Activity));
      expect(existsSync(file)).toBe(false);
      run(resolvedProcess(exp, (e) => e.rollbacks[0] as Activity));
      expect(existsSync(folder)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('skips a test that needs the atomics folder unless it is given', () => {
    const file = `attack_technique: T1053.003
display_name: 'Scheduled Task/Job: Cron'
atomic_tests:
- name: Install a crontab shipped with the atomic
  supported_platforms: [linux]
  input_arguments:
    cron_file:
      description: the crontab to install
      type: path
      default: PathToAtomicsFolder/T1053.003/src/evil.cron
  executor:
    name: bash
    command: |
      crontab -l > /tmp/notevil; crontab #{cron_file}
    cleanup_command: |
      crontab /tmp/notevil
`;
    const without = ok(importAtomic(file));
    expect(without.experiments).toEqual([]);
    expect(without.warnings[0]).toMatch(/atomics folder; pass --arg PathToAtomicsFolder=/);
    const withFolder = ok(importAtomic(file, { args: { PathToAtomicsFolder: '/opt/art/atomics' } }));
    const exp = experimentOf(withFolder.experiments[0]!);
    expect(argvOf((exp.method[0] as Activity).provider as ProcessProvider)[1]).toBe(
      'crontab -l > /tmp/notevil; crontab /opt/art/atomics/T1053.003/src/evil.cron\n',
    );
    expect(withFolder.warnings).toEqual([]);
  });

  it('skips a test whose command uses an argument it does not declare, or one without a default', () => {
    const r = ok(
      importAtomic(`attack_technique: T1059.004
display_name: Unix Shell
atomic_tests:
- name: uses an undeclared argument
  executor: {name: sh, command: 'echo #{who}'}
- name: argument without default
  input_arguments:
    target: {description: where, type: string}
  executor: {name: sh, command: 'echo #{target}'}
`),
    );
    expect(r.experiments).toEqual([]);
    expect(r.warnings).toEqual([
      "skipped test 1 'uses an undeclared argument': it uses #{who}, which input_arguments does not define",
      "skipped test 2 'argument without default': input argument target has no default; pass --arg target=…",
    ]);
  });

  it('skips tests that would destroy the host unless asked, including through an override of the cleanup', () => {
    const wipe = `attack_technique: T1070.004
display_name: File Deletion
atomic_tests:
- name: Delete Filesystem - Linux
  supported_platforms: [linux]
  executor:
    name: bash
    command: |
      rm -rf / --no-preserve-root > /dev/null 2> /dev/null
`;
    const r = ok(importAtomic(wipe));
    expect(r.experiments).toEqual([]);
    expect(r.warnings[0]).toMatch(/^skipped test 1 'Delete Filesystem - Linux': it looks destructive \(rm --no-preserve-root\)/);
    expect(ok(importAtomic(wipe, { allowDestructive: true })).experiments).toHaveLength(1);
    const viaCleanup = ok(importAtomic(T1070_004, { args: { parent_folder: '/' } }));
    expect(viaCleanup.experiments.map((e) => e.testNumber)).toEqual([2]);
    expect(viaCleanup.warnings).toContain(
      "skipped test 1 'Delete a single file - Linux/macOS': it looks destructive (rm of /) and no rollback can undo it; pass --allow-destructive to import it anyway",
    );
  });

  it('tells destructive commands from ordinary deletions', () => {
    for (const c of [
      'rm -rf / --no-preserve-root',
      'chflags -R 0 /\nrm -rf / > /dev/null',
      'rm -rf /*',
      'sudo rm -r -f /',
      'mkfs.ext4 /dev/sdb1',
      'dd if=/dev/zero of=/dev/sda bs=1M',
      'cat x > /dev/nvme0n1',
      ':(){ :|:& };:',
    ]) {
      expect(destructiveReason(c), c).toBeDefined();
    }
    for (const c of [
      'rm -rf /tmp/victim-folder',
      'rm -f /tmp/x',
      'dd if=/dev/zero of=/tmp/file bs=1k count=1',
      'echo hi > /dev/null',
      'shred -u /tmp/victim-shred.txt',
      'rm -rf "$HOME/tmp"',
    ]) {
      expect(destructiveReason(c), c).toBeUndefined();
    }
  });

  it('refuses malformed files with the path, the line and what to fix', () => {
    const cases: [string, string, RegExp][] = [
      ['- just a list', '', /a mapping with attack_technique/],
      ['attack_technique: T1070.004\ndisplay_name: x\n', 'atomic_tests', /atomic_tests is missing/],
      ['attack_technique: exploit\natomic_tests: [{name: a, executor: {name: sh, command: id}}]', 'attack_technique', /ATT&CK id/],
      [
        'attack_technique: T1070\natomic_tests:\n  - name: a\n    executor: {name: sh}\n',
        'atomic_tests[0].executor.command',
        /add the command the sh executor runs/,
      ],
      [
        'attack_technique: T1070\natomic_tests:\n  - name: a\n    executor: {command: id}\n',
        'atomic_tests[0].executor.name',
        /executor.name is missing/,
      ],
      [
        'attack_technique: T1070\natomic_tests:\n  - name: a\n    input_arguments:\n      x: {type: bogus, default: 1}\n    executor: {name: sh, command: id}\n',
        'atomic_tests[0].input_arguments.x.type',
        /type of x must be one of string, path, url, integer, float/,
      ],
      [
        'attack_technique: T1070\natomic_tests: [{name: a, executor: {name: sh, command: [rm, x]}}]',
        'atomic_tests[0].executor.command',
        /must be a string/,
      ],
      ['attack_technique: [unclosed', '', /not valid YAML/],
    ];
    for (const [text, path, message] of cases) {
      const r = importAtomic(text);
      expect(r.ok, text).toBe(false);
      if (r.ok) continue;
      expect(r.errors[0]!.path, text).toBe(path);
      expect(r.errors[0]!.message, text).toMatch(message);
    }
    const r = importAtomic('attack_technique: T1070\natomic_tests:\n  - name: a\n    executor: {name: sh}\n');
    if (r.ok) throw new Error('expected errors');
    expect(r.errors[0]).toMatchObject({ line: 4, column: 15 });
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const r = importAtomic(text);
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) expect(r.errors.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary YAML data, and answers ok or errors', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4 }), (v) => {
        let text: string;
        try {
          text = stringify(v);
        } catch {
          return;
        }
        const r = importAtomic(text);
        if (!r.ok) expect(r.errors.length).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });

  it('turns any well-formed sh test into an experiment that parses, with its command intact', () => {
    const word = fc.stringMatching(/^[a-z_]{1,12}$/);
    const cmd = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 80 })
      .filter((s) => s.trim() !== '' && !s.includes('#{') && !s.includes('PathToAtomicsFolder'));
    const test = fc.record({
      name: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== ''),
      executor: fc.record(
        { name: fc.constantFrom('sh', 'bash'), command: cmd, cleanup_command: fc.option(cmd, { nil: undefined }) },
        { requiredKeys: ['name', 'command'] },
      ),
      input_arguments: fc.dictionary(
        word,
        fc.record({ description: fc.string(), type: fc.constant('string'), default: fc.string({ maxLength: 20 }) }),
        { maxKeys: 3 },
      ),
    });
    fc.assert(
      fc.property(fc.array(test, { minLength: 1, maxLength: 4 }), (tests) => {
        const r = importAtomic(stringify({ attack_technique: 'T1059.004', display_name: 'Unix Shell', atomic_tests: tests }));
        if (!r.ok) throw new Error(JSON.stringify(r.errors));
        expect(r.experiments).toHaveLength(tests.length);
        r.experiments.forEach((e, i) => {
          const p = resolvedProcess(experimentOf(e), (x) => x.method[0] as Activity);
          expect(argvOf(p)).toEqual(['-c', tests[i]!.executor.command]);
        });
      }),
      { numRuns: 100 },
    );
  });

  it('writes the fixture out as files that load as experiments', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-atomic-'));
    try {
      for (const e of ok(importAtomic(T1070_004)).experiments) {
        writeFileSync(join(dir, e.fileName), e.text);
        expect(parseExperiment(e.text).ok).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
