/**
 * The runner's own check of the process allow-list, on the file as the run resolves it (after
 * `${…}` from configuration and `--var`), over a real SQLite store and real processes: a
 * variable of the dangerous class is refused even when the policy given to the runner lists it,
 * before anything starts (the command would leave a file behind) and before a run is stored; a
 * listed variable reaches the child; argument rules hold on resolved arguments; an argument
 * holding a secret is redacted in the refusal.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DANGEROUS_VARIABLES } from '../../../../test/support/dangerous-variables.ts';
import { experiment, runnerFixture, type RunnerFixture } from '../../../../test/support/runner.ts';
import { DomainError } from '../../../core/errors.ts';
import type { ExecutableEntry } from '../../../core/experiments/process-policy.ts';
import { createExperimentRunner } from '../run-experiment.ts';
import { systemActor } from '../../../core/ledger/actor.ts';

let fx: RunnerFixture;
beforeEach(async () => {
  fx = await runnerFixture();
});
afterEach(async () => {
  await fx.close();
});

const runner = (executables: ExecutableEntry[]) => createExperimentRunner(fx.deps, { policy: { executables, paths: [] } });

/** `/bin/sh -c 'touch MARKER'` with one variable set from `${value}`. */
const touching = (marker: string, variable: string) =>
  experiment(`
title: touch a marker
description: leaves a file behind if it ever starts
configuration:
  value: /nowhere
method:
  - type: action
    name: touch
    provider:
      type: process
      path: /bin/sh
      arguments: [-c, "touch ${marker}"]
      env: {${variable}: "\${value}"}
`);

describe('the runner, on the resolved file', () => {
  it('refuses every variable of the dangerous class, even one the policy lists, before anything starts', async () => {
    const marker = path.join(fx.dir, 'started');
    for (const name of DANGEROUS_VARIABLES) {
      // A policy built by hand that lists the variable: the rule refuses it all the same.
      const r = runner([{ path: '/bin/sh', env: [{ name }] }]);
      const err = await r
        .run({ experiment: touching(marker, name), actor: systemActor('test'), vars: { value: '/tmp/x.so' } })
        .catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(DomainError);
      expect((err as DomainError).code).toBe('invalid');
      expect((err as Error).message, name).toContain(
        `refused before anything was sent: activity 'touch' sets environment variable ${name} for /bin/sh, which experiments.allowExecutables can never allow (`,
      );
      expect(existsSync(marker), name).toBe(false);
    }
    expect((await fx.store.runs.list({ limit: 10 })).runs).toEqual([]);
  });

  it('refuses a variable that is not listed, and runs one that is, which reaches the child', async () => {
    const marker = path.join(fx.dir, 'started');
    await expect(
      runner(['/bin/sh']).run({
        experiment: touching(marker, 'HTTPS_PROXY'),
        actor: systemActor('test'),
        vars: { value: 'http://127.0.0.1:1' },
      }),
    ).rejects.toThrow(
      'sets environment variable HTTPS_PROXY for /bin/sh, which experiments.allowExecutables does not allow for it (allowed: none)',
    );
    expect(existsSync(marker)).toBe(false);

    const echo = experiment(`
title: echo X
description: prints its variable
configuration:
  x: default
method:
  - type: action
    name: echo
    provider: {type: process, path: /bin/sh, arguments: [-c, 'echo "$X"'], env: {X: "\${x}"}}
`);
    const r = await runner([{ path: '/bin/sh', env: [{ name: 'X', pattern: '[a-z ]+' }], args: [{ exact: ['-c', 'echo "$X"'] }] }]).run({
      experiment: echo,
      actor: systemActor('test'),
      vars: { x: 'from a var' },
    });
    expect((r.journal as any).run[0].output).toMatchObject({ status: 0, stdout: 'from a var\n' });
    // The pattern holds on the resolved value.
    await expect(
      runner([{ path: '/bin/sh', env: [{ name: 'X', pattern: '[a-z ]+' }] }]).run({
        experiment: echo,
        actor: systemActor('test'),
        vars: { x: 'NOT-LOWER' },
      }),
    ).rejects.toThrow('sets environment variable X for /bin/sh to a value that does not match the pattern "[a-z ]+"');
  });

  it('judges resolved arguments, and redacts secrets in the refusal', async () => {
    const marker = path.join(fx.dir, 'started');
    const exp = experiment(`
title: templated arguments
description: the script comes from configuration
configuration:
  script: "true"
secrets:
  vault:
    token: s3cr3t-token-value
method:
  - type: action
    name: script
    provider: {type: process, path: /bin/sh, arguments: [-c, "\${script}", "\${token}"], secrets: [vault]}
`);
    const allowed: ExecutableEntry[] = [{ path: '/bin/sh', env: [], args: [{ patterns: ['-c', 'true', '.*'] }] }];
    const err = await runner(allowed)
      .run({ experiment: exp, actor: systemActor('test'), vars: { script: `touch ${marker}` } })
      .catch((e: unknown) => e);
    expect((err as Error).message).toContain('starts /bin/sh with arguments');
    expect((err as Error).message).toContain(`argument 2 "touch ${marker}" does not match the pattern "true"`);
    expect((err as Error).message).not.toContain('s3cr3t-token-value');
    expect((err as Error).message).toContain('"-c","touch ' + marker + '","[redacted]"');
    expect(existsSync(marker)).toBe(false);
    expect((await fx.store.runs.list({ limit: 10 })).runs).toEqual([]);
    const r = await runner(allowed).run({ experiment: exp, actor: systemActor('test') });
    expect((r.journal as any).run[0].output).toMatchObject({ status: 0 });
  });
});
