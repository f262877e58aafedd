import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfiguration } from '../configuration.ts';
import { parseExperiment } from '../experiment-file.ts';
import type { Activity, Experiment, FileProvider } from '../types.ts';
import { canaryCredential, configFlip, logTamper } from './host-tampering.ts';
import { toExperimentYaml } from './render.ts';
import { RUN_ID_KEY, type Technique } from './technique.ts';

const RUN = 'host0001run';

/**
 * The file provider as types.ts documents it — write replaces, modify replaces `find`, both keep
 * the original at `backup` first; restore copies the backup back, and deletes the file when
 * there was no original — with process activities run for real. Enough to check that each
 * technique's rollbacks undo its method.
 */
class Host {
  private absent = new Set<string>();

  run(a: Activity): void {
    const p = a.provider;
    if (p.type === 'process') {
      if (p.arguments.kind !== 'argv') throw new Error('techniques use argv');
      const r = spawnSync(p.path, p.arguments.argv, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${a.name} exited ${r.status}: ${r.stdout}${r.stderr}`);
      return;
    }
    if (p.type !== 'file') throw new Error(`unexpected provider ${p.type}`);
    this.file(p);
  }

  private keep(p: FileProvider): void {
    if (p.backup === undefined) return;
    if (existsSync(p.path)) copyFileSync(p.path, p.backup);
    else this.absent.add(p.backup);
  }

  private file(p: FileProvider): void {
    switch (p.operation) {
      case 'write':
        this.keep(p);
        writeFileSync(p.path, p.content!);
        return;
      case 'modify': {
        const current = readFileSync(p.path, 'utf8');
        if (!current.includes(p.find!)) throw new Error(`${p.path} does not contain ${JSON.stringify(p.find)}`);
        this.keep(p);
        writeFileSync(
          p.path,
          current.replace(p.find!, () => p.replace!),
        );
        return;
      }
      case 'restore':
        if (this.absent.has(p.backup!)) {
          if (existsSync(p.path)) unlinkSync(p.path);
        } else {
          copyFileSync(p.backup!, p.path);
          unlinkSync(p.backup!);
        }
    }
  }
}

function experiment(technique: Technique<any>, params: Record<string, unknown>): Experiment {
  const parsed = parseExperiment(toExperimentYaml(technique, params, { runId: 'rendered0001' }));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const r = resolveConfiguration(parsed.experiment, {}, { [RUN_ID_KEY]: RUN });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value.experiment;
}

function runMethod(host: Host, exp: Experiment): void {
  for (const s of exp.method) host.run('ref' in s ? s.activity : s);
}
function runRollbacks(host: Host, exp: Experiment): void {
  for (const s of exp.rollbacks) host.run('ref' in s ? s.activity : s);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bulwark-host-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('configuration flip', () => {
  it('turns the WAF to Off, reloads, and the rollback restores On and reloads again', () => {
    const conf = join(dir, 'modsec-main.conf');
    const original = 'Include /etc/nginx/modsecurity.conf\nSecRuleEngine On\nSecAuditLogFormat JSON\n';
    writeFileSync(conf, original);
    const reloads = join(dir, 'reloads');
    const exp = experiment(configFlip, {
      path: conf,
      key: 'SecRuleEngine',
      from: 'On',
      to: 'Off',
      reload: ['/bin/sh', '-c', 'echo reload >> "$0"', reloads],
    });
    const host = new Host();
    runMethod(host, exp);
    expect(readFileSync(conf, 'utf8')).toContain('SecRuleEngine Off\n');
    expect(readFileSync(conf, 'utf8')).not.toContain('SecRuleEngine On');
    runRollbacks(host, exp);
    expect(readFileSync(conf, 'utf8')).toBe(original);
    expect(readFileSync(reloads, 'utf8')).toBe('reload\nreload\n');
    expect(existsSync(`${conf}.bulwark-backup`)).toBe(false);
  });

  it('refuses a flip that changes nothing', () => {
    expect(() => experiment(configFlip, { path: join(dir, 'a.conf'), key: 'k', from: 'x', to: 'x' })).toThrow(/same/);
  });
});

describe('canary credential', () => {
  it('plants a credentials file whose secret names the run, and removes it when there was none', () => {
    const path = join(dir, 'credentials');
    const exp = experiment(canaryCredential, { path });
    const host = new Host();
    runMethod(host, exp);
    const planted = readFileSync(path, 'utf8');
    expect(planted).toContain(`aws_secret_access_key = bwk-canary-${RUN}-cred`);
    expect(planted).toMatch(/aws_access_key_id = AKIA[A-Z0-9]{16}\n/);
    runRollbacks(host, exp);
    expect(existsSync(path)).toBe(false);
  });

  it('restores the file that was there before', () => {
    const path = join(dir, '.env');
    writeFileSync(path, 'REAL=1\n');
    const exp = experiment(canaryCredential, { path, kind: 'env' });
    const host = new Host();
    runMethod(host, exp);
    expect(readFileSync(path, 'utf8')).toContain(`API_KEY=bwk-canary-${RUN}-cred`);
    runRollbacks(host, exp);
    expect(readFileSync(path, 'utf8')).toBe('REAL=1\n');
  });

  it('fills a template of your own', () => {
    const path = join(dir, 'notes.txt');
    const exp = experiment(canaryCredential, { path, kind: 'text', template: 'vault token: {canary}\n' });
    runMethod(new Host(), exp);
    expect(readFileSync(path, 'utf8')).toBe(`vault token: bwk-canary-${RUN}-cred\n`);
  });
});

describe('log tampering', () => {
  it('appends one forged line in place and removes exactly that line, keeping the inode and what the service logged meanwhile', () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, 'line one\nline two\n');
    const inode = statSync(log).ino;
    const exp = experiment(logTamper, { path: log });
    const host = new Host();
    runMethod(host, exp);
    const tampered = readFileSync(log, 'utf8');
    expect(tampered.startsWith('line one\nline two\n')).toBe(true);
    expect(tampered).toContain(`"bwk-canary-${RUN}-log"\n`);
    appendFileSync(log, 'line three, written by the service\n');
    runRollbacks(host, exp);
    expect(readFileSync(log, 'utf8')).toBe('line one\nline two\nline three, written by the service\n');
    expect(statSync(log).ino).toBe(inode);
    // A rollback that runs again (recovery after a crash) or without the method changes nothing.
    runRollbacks(host, exp);
    expect(readFileSync(log, 'utf8')).toBe('line one\nline two\nline three, written by the service\n');
  });

  it('keeps a forged line with shell metacharacters literal', () => {
    const log = join(dir, 'app.log');
    writeFileSync(log, '');
    const line = 'user=$(id) `whoami` ${HOME} "quoted" \\n {canary}';
    const exp = experiment(logTamper, { path: log, line });
    const host = new Host();
    runMethod(host, exp);
    expect(readFileSync(log, 'utf8')).toBe(`user=$(id) \`whoami\` \${HOME} "quoted" \\n bwk-canary-${RUN}-log\n`);
    runRollbacks(host, exp);
    expect(readFileSync(log, 'utf8')).toBe('');
  });

  it('empties the log in place and puts the original back in front of what was logged since', () => {
    const log = join(dir, 'audit.log');
    writeFileSync(log, 'entry 1\nentry 2\n');
    const inode = statSync(log).ino;
    const exp = experiment(logTamper, { path: log, mode: 'truncate' });
    const host = new Host();
    runMethod(host, exp);
    expect(readFileSync(log, 'utf8')).toBe('');
    expect(statSync(log).ino).toBe(inode);
    appendFileSync(log, 'entry 3\n');
    runRollbacks(host, exp);
    expect(readFileSync(log, 'utf8')).toBe('entry 1\nentry 2\nentry 3\n');
    expect(statSync(log).ino).toBe(inode);
    expect(existsSync(`${log}.bulwark-backup`)).toBe(false);
    runRollbacks(host, exp);
    expect(readFileSync(log, 'utf8')).toBe('entry 1\nentry 2\nentry 3\n');
  });

  it('finishes the restore of an earlier run that was never rolled back, instead of truncating again', () => {
    const log = join(dir, 'audit.log');
    // An earlier run truncated the log and died before its rollback: its backup holds the original.
    writeFileSync(`${log}.bulwark-backup`, 'entry 1\nentry 2\n');
    writeFileSync(log, 'entry 3\n');
    const exp = experiment(logTamper, { path: log, mode: 'truncate' });
    const host = new Host();
    expect(() => runMethod(host, exp)).toThrow(/an earlier run was not rolled back/);
    expect(readFileSync(log, 'utf8')).toBe('entry 3\n');
    runRollbacks(host, exp);
    expect(readFileSync(log, 'utf8')).toBe('entry 1\nentry 2\nentry 3\n');
  });

  it('refuses relative paths and .. segments', () => {
    expect(() => experiment(logTamper, { path: 'access.log' })).toThrow(/absolute path/);
    expect(() => experiment(logTamper, { path: '/var/log/../../etc/passwd' })).toThrow(/absolute path/);
  });
});
