/**
 * The server's allow-lists for the providers that act on its own host: `file` providers change
 * only paths under `experiments.allowPaths` (their backups too), `process` providers start only
 * the executables on `experiments.allowExecutables`. Paths are compared once made absolute and
 * normalised (path.resolve), so `..` cannot climb out of an allowed directory and a sibling that
 * merely shares the prefix is not inside it; and with their symbolic links followed, so a link
 * under an allowed directory (to a directory or to the file itself) cannot lead a change outside.
 *
 * Then the same lists as the runner applies them on the resolved file (a `${…}` value is judged
 * only once resolved), over a real SQLite store and real files: the allowed change is made and
 * restored; the refused one is refused before anything is sent or stored.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { experiment, runnerFixture, type RunnerFixture } from '../../../test/support/runner.ts';
import { DomainError } from '../../core/errors.ts';
import { createExperimentRunner } from './run-experiment.ts';
import { EMPTY_SERVER_POLICY, serverPolicyViolations, type ServerPolicy } from './server-policy.ts';
import { systemActor } from '../../core/ledger/actor.ts';

const policy = (p: Partial<ServerPolicy>): ServerPolicy => ({ ...EMPTY_SERVER_POLICY, ...p });

/** A file whose method modifies `file` (with `backup` when given). */
const modifies = (file: string, extra: { backup?: string; rollbacks?: string } = {}) =>
  experiment(`
title: change a config file
description: flip a setting
method:
  - type: action
    name: flip
    provider:
      type: file
      operation: modify
      path: "${file}"
      find: "on"
      replace: "off"
${extra.backup !== undefined ? `      backup: "${extra.backup}"` : ''}
${extra.rollbacks ?? ''}
`);

describe('serverPolicyViolations: file paths and experiments.allowPaths', () => {
  it('refuses a path that is not under an allowed directory, naming where, the path and the config key', () => {
    expect(serverPolicyViolations(modifies('/etc/shop/waf.conf'), EMPTY_SERVER_POLICY)).toEqual([
      "method[0] 'flip' changes /etc/shop/waf.conf, which is not under this server's allow-list experiments.allowPaths (empty); " +
        "add a directory holding it to experiments.allowPaths in the server's config and restart, or run the file with the standalone CLI (bulwark run)",
    ]);
    const [only] = serverPolicyViolations(modifies('/etc/shop/waf.conf'), policy({ allowPaths: ['/srv/shop', '/opt/waf'] }));
    expect(only).toMatch(
      /changes \/etc\/shop\/waf\.conf, which is not under this server's allow-list experiments\.allowPaths \(\/srv\/shop, \/opt\/waf\)/,
    );
  });

  it('accepts a path under an allowed directory, at any depth, and the directory itself', () => {
    const allowed = policy({ allowPaths: ['/srv/shop'] });
    expect(serverPolicyViolations(modifies('/srv/shop/waf.conf'), allowed)).toEqual([]);
    expect(serverPolicyViolations(modifies('/srv/shop/conf.d/deep/waf.conf'), allowed)).toEqual([]);
    expect(serverPolicyViolations(modifies('/srv/shop'), allowed)).toEqual([]);
    // An allowed directory written with a trailing slash means the same directory.
    expect(serverPolicyViolations(modifies('/srv/shop/waf.conf'), policy({ allowPaths: ['/srv/shop/'] }))).toEqual([]);
    // Any entry of the list will do.
    expect(serverPolicyViolations(modifies('/opt/waf/rules.conf'), policy({ allowPaths: ['/srv/shop', '/opt/waf'] }))).toEqual([]);
  });

  it('does not take a sibling that shares the prefix for the allowed directory', () => {
    const allowed = policy({ allowPaths: ['/srv/shop'] });
    expect(serverPolicyViolations(modifies('/srv/shop-old/waf.conf'), allowed)).toEqual([
      expect.stringContaining('changes /srv/shop-old/waf.conf, which is not under'),
    ]);
    expect(serverPolicyViolations(modifies('/srv/shopping'), allowed)).toHaveLength(1);
    expect(serverPolicyViolations(modifies('/srv'), allowed)).toHaveLength(1);
  });

  it('resolves `..` before comparing: it cannot climb out of the allowed directory', () => {
    const allowed = policy({ allowPaths: ['/srv/shop'] });
    expect(serverPolicyViolations(modifies('/srv/shop/../../etc/passwd'), allowed)).toEqual([
      expect.stringContaining("method[0] 'flip' changes /etc/passwd, which is not under"),
    ]);
    expect(serverPolicyViolations(modifies('/srv/shop/conf/../../shop-old/x.conf'), allowed)).toEqual([
      expect.stringContaining('changes /srv/shop-old/x.conf, which is not under'),
    ]);
    // `..` that stays inside is fine, and so are `.` and doubled slashes.
    expect(serverPolicyViolations(modifies('/srv/shop/conf.d/../waf.conf'), allowed)).toEqual([]);
    expect(serverPolicyViolations(modifies('/srv//shop/./waf.conf'), allowed)).toEqual([]);
    // An allowed entry with `..` in it is normalised as well.
    expect(serverPolicyViolations(modifies('/srv/shop/waf.conf'), policy({ allowPaths: ['/srv/other/../shop'] }))).toEqual([]);
    expect(serverPolicyViolations(modifies('/srv/other/waf.conf'), policy({ allowPaths: ['/srv/other/../shop'] }))).toHaveLength(1);
  });

  it('judges a relative path where it resolves: against the working directory of the server', () => {
    expect(serverPolicyViolations(modifies('conf/waf.conf'), policy({ allowPaths: [process.cwd()] }))).toEqual([]);
    expect(serverPolicyViolations(modifies('../waf.conf'), policy({ allowPaths: [process.cwd()] }))).toEqual([
      expect.stringContaining(`changes ${path.resolve('../waf.conf')}, which is not under`),
    ]);
  });

  it('checks the backup too: an allowed path with a backup outside is refused', () => {
    const allowed = policy({ allowPaths: ['/srv/shop'] });
    expect(serverPolicyViolations(modifies('/srv/shop/waf.conf', { backup: '/srv/shop/.bak/waf.conf' }), allowed)).toEqual([]);
    expect(serverPolicyViolations(modifies('/srv/shop/waf.conf', { backup: '/tmp/../root/waf.conf' }), allowed)).toEqual([
      expect.stringContaining("method[0] 'flip' changes /root/waf.conf, which is not under"),
    ]);
  });

  it('checks file providers everywhere in the file: rollbacks, the hypothesis and abort probes included', () => {
    const exp = modifies('/srv/shop/waf.conf', {
      rollbacks: `
rollbacks:
  - type: action
    name: put-back
    provider: {type: file, operation: write, path: /etc/shop/waf.conf, content: "on"}
steady-state-hypothesis:
  title: config in place
  probes:
    - type: probe
      name: config-written
      tolerance: true
      provider: {type: file, operation: write, path: /var/tmp/probe.conf, content: "x"}
safety:
  abort:
    - every: 1s
      probe:
        type: probe
        name: still-written
        tolerance: true
        provider: {type: file, operation: write, path: /var/tmp/abort.conf, content: "x"}
`,
    });
    const out = serverPolicyViolations(exp, policy({ allowPaths: ['/srv/shop'] }));
    expect(out.map((m) => m.split(', which')[0])).toEqual([
      "steady-state-hypothesis.probes[0] 'config-written' changes /var/tmp/probe.conf",
      "rollbacks[0] 'put-back' changes /etc/shop/waf.conf",
      "safety.abort[0] 'still-written' changes /var/tmp/abort.conf",
    ]);
  });

  it('leaves a path holding ${…} to the runner, which judges it once resolved', () => {
    const exp = experiment(`
title: t
description: d
configuration:
  dir: /srv/shop
method:
  - type: action
    name: flip
    provider: {type: file, operation: write, path: "\${dir}/../../etc/passwd", content: "x"}
`);
    expect(serverPolicyViolations(exp, policy({ allowPaths: ['/srv/shop'] }))).toEqual([]);
  });
});

describe('serverPolicyViolations: executables and experiments.allowExecutables', () => {
  const runs = (provider: string) =>
    experiment(`title: t\ndescription: d\nmethod:\n  - type: action\n    name: run-it\n    provider: ${provider}\n`);

  it('allows exactly the listed paths; a shell line needs /bin/sh', () => {
    const allowed = policy({ allowExecutables: ['/bin/true'] });
    expect(serverPolicyViolations(runs('{type: process, path: /bin/true, arguments: []}'), allowed)).toEqual([]);
    // Same program, another path: not the listed one.
    expect(serverPolicyViolations(runs('{type: process, path: "true", arguments: []}'), allowed)).toEqual([
      expect.stringContaining(
        "method[0] 'run-it' runs true, which is not on this server's allow-list experiments.allowExecutables (/bin/true)",
      ),
    ]);
    expect(serverPolicyViolations(runs('{type: process, path: /bin/true, arguments: "--version"}'), allowed)).toEqual([
      expect.stringContaining('runs /bin/sh, which is not on'),
    ]);
    expect(
      serverPolicyViolations(runs('{type: process, path: /bin/true, arguments: "--version"}'), policy({ allowExecutables: ['/bin/sh'] })),
    ).toEqual([]);
  });
});

describe('the runner applies the same lists to the resolved file', () => {
  let fx: RunnerFixture;
  let allowed: string;
  let outside: string;
  beforeEach(async () => {
    fx = await runnerFixture();
    allowed = path.join(fx.dir, 'allowed');
    mkdirSync(allowed);
    writeFileSync(path.join(allowed, 'waf.conf'), 'filter on\n');
    outside = path.join(fx.dir, 'outside.conf');
    writeFileSync(outside, 'filter on\n');
  });
  afterEach(async () => {
    await fx.close();
  });

  const flip = experiment(`
title: flip the filter
description: turn the filter off, then back on
configuration:
  file: /nowhere
method:
  - type: action
    name: flip
    provider: {type: file, operation: modify, path: "\${file}", find: "filter on", replace: "filter off"}
`);
  const runner = () => createExperimentRunner(fx.deps, { policy: { executables: [], paths: [allowed] } });

  it('makes (and restores) a change under an allowed directory', async () => {
    const file = path.join(allowed, 'waf.conf');
    const r = await runner().run({ experiment: flip, actor: systemActor('test'), vars: { file } });
    expect(r).toMatchObject({ outcome: 'prevented', injections: [{ activity: 'flip', ok: true }] });
    expect((r.journal as any).run[0].output).toMatchObject({ operation: 'modify', path: file, changed: true });
    expect(readFileSync(file, 'utf8')).toBe('filter on\n'); // restored by the automatic rollback
  });

  it('refuses a resolved path that climbs out with `..`, before anything is changed or stored', async () => {
    const sneaky = path.join(allowed, '..', 'outside.conf');
    const err = await runner()
      .run({ experiment: flip, actor: systemActor('test'), vars: { file: sneaky } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('invalid');
    expect(String((err as Error).message)).toBe(
      `refused before anything was sent: activity 'flip' changes ${outside}, which is not under this server's file allow-list (${allowed})`,
    );
    expect(readFileSync(outside, 'utf8')).toBe('filter on\n');
    expect((await fx.store.runs.list({ limit: 10 })).runs).toEqual([]);
  });

  it('follows symbolic links: a linked directory or file under the allowed one cannot lead outside', async () => {
    mkdirSync(path.join(fx.dir, 'elsewhere'));
    writeFileSync(path.join(fx.dir, 'elsewhere', 'secret.conf'), 'filter on\n');
    symlinkSync(path.join(fx.dir, 'elsewhere'), path.join(allowed, 'logs'));
    symlinkSync(outside, path.join(allowed, 'linked.conf'));
    for (const [file, real] of [
      [path.join(allowed, 'logs', 'secret.conf'), path.join(fx.dir, 'elsewhere', 'secret.conf')],
      [path.join(allowed, 'linked.conf'), outside],
    ] as const) {
      const err = await runner()
        .run({ experiment: flip, actor: systemActor('test'), vars: { file } })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DomainError);
      expect(String((err as Error).message)).toBe(
        `refused before anything was sent: activity 'flip' changes ${file} (${real} once its links are followed), which is not under this server's file allow-list (${allowed})`,
      );
      expect(readFileSync(real, 'utf8')).toBe('filter on\n');
      // The same at apply time, on the server's own check.
      expect(serverPolicyViolations(modifies(file), policy({ allowPaths: [allowed] }))).toEqual([
        expect.stringContaining(`changes ${file} (${real} once its links are followed), which is not under`),
      ]);
    }
    expect((await fx.store.runs.list({ limit: 10 })).runs).toEqual([]);
    // A link that stays inside is fine: an allowed directory reached through a link.
    symlinkSync(allowed, path.join(fx.dir, 'via-link'));
    const r = await runner().run({
      experiment: flip,
      actor: systemActor('test'),
      vars: { file: path.join(fx.dir, 'via-link', 'waf.conf') },
    });
    expect(r.outcome).toBe('prevented');
  });

  it('refuses an executable that is not listed, even when the file paths are fine', async () => {
    const exp = experiment(`
title: t
description: d
method:
  - type: action
    name: run-true
    provider: {type: process, path: /bin/true, arguments: []}
`);
    await expect(runner().run({ experiment: exp, actor: systemActor('test') })).rejects.toThrow(
      "refused before anything was sent: activity 'run-true' runs /bin/true, which is not on this server's executable allow-list (empty)",
    );
    expect((await fx.store.runs.list({ limit: 10 })).runs).toEqual([]);
  });
});
