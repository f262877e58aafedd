/**
 * The process allow-list over HTTP, with real processes: on a server whose
 * `experiments.allowExecutables` allows `/bin/true` with no variables, every variable of the
 * dangerous class (LD_PRELOAD, NODE_OPTIONS, PATH, …) is refused at apply (403, nothing stored)
 * and at run (an experiment stored before the allow-list was narrowed, the value inline or from
 * `vars`), naming the variable and the config key; nothing is started. A variable the entry
 * lists reaches the child (a real `/usr/bin/env` and `/bin/sh -c 'echo "$X"'`), and nothing of
 * the server's environment beyond the small base does. Argument rules (exact, patterns) hold at
 * apply and, for templated arguments, at run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DANGEROUS_VARIABLES } from '../../../test/support/dangerous-variables.ts';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { sha256Hex } from '../../app/experiments/apply-experiment.ts';
import type { ExecutableEntry } from '../../core/experiments/process-policy.ts';

let t: TestApp;

const allowExecutables: ExecutableEntry[] = [
  '/bin/true',
  {
    path: '/usr/bin/env',
    env: [{ name: 'PROBE_ALLOWED' }, { name: 'PROXY_URL', pattern: 'http://127\\.0\\.0\\.1:\\d+' }],
    args: [{ exact: [] }],
  },
  { path: '/bin/echo', env: [], args: [{ exact: ['hello'] }, { patterns: ['-n', 'x[0-9]+'] }] },
  { path: '/bin/sh', env: [{ name: 'X' }], args: [{ exact: ['-c', 'echo "$X"'] }] },
];

beforeAll(async () => {
  process.env.BULWARK_TEST_SERVER_SECRET = 'must-not-leak';
  try {
    t = await makeTestApp({ experiments: { policy: { allowExecutables, allowPaths: [] } } });
  } finally {
    delete process.env.BULWARK_TEST_SERVER_SECRET;
  }
});

afterAll(async () => {
  await t.close();
});

/** A file whose one action runs `path` with `argv` (a YAML flow list or a string) and `env` (a YAML flow mapping). */
const runs = (path: string, argv = '[]', env = '{}', configuration = '') => `
title: Runs a process
description: a process action with an environment
${configuration}
method:
  - type: action
    name: run-it
    provider: { type: process, path: ${path}, arguments: ${argv}, env: ${env} }
`;

async function apply(file: string, name: string) {
  return t.app.inject({ method: 'POST', url: '/v1/experiments', headers: bearer(t.adminToken), payload: { file, name } });
}

async function startRun(name: string, vars: Record<string, string> = {}) {
  return t.app.inject({ method: 'POST', url: `/v1/experiments/${name}/runs`, headers: bearer(t.adminToken), payload: { vars } });
}

/** Store a file as if applied before the allow-list was narrowed: no check, as an older server did. */
async function storeUnchecked(file: string, name: string) {
  await t.deps.store.experiments.put(
    {
      name,
      title: 'stored before',
      description: 'applied under a wider allow-list',
      techniques: [],
      file,
      fileSha256: sha256Hex(file),
      schedule: null,
      privileged: true,
      appliedBy: 'test',
    },
    new Date().toISOString(),
  );
}

async function waitDone(id: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.app.inject({ url: `/v1/runs/${id}`, headers: bearer(t.adminToken) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    if (body.run.state === 'done') return body;
    if (Date.now() > deadline) throw new Error(`run ${id} not done after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** The stdout of the run's one method action. */
async function stdoutOf(runId: string): Promise<string> {
  const body = await waitDone(runId);
  return body.journal.run[0].output.stdout as string;
}

const runsOf = async (name: string) =>
  (await t.app.inject({ url: `/v1/runs?experiment=${name}`, headers: bearer(t.adminToken) })).json().runs as unknown[];

const slug = (name: string) => `v-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`.slice(0, 64);

describe('the dangerous class on an allowed executable', () => {
  it('is refused at apply, for each variable, naming it and experiments.allowExecutables; nothing is stored', async () => {
    for (const name of DANGEROUS_VARIABLES) {
      const res = await apply(runs('/bin/true', '[]', `{${name}: /tmp/x.so}`), slug(name));
      expect(res.statusCode, name).toBe(403);
      expect(res.json().message, name).toContain(
        `method[0] 'run-it' sets environment variable ${name} for /bin/true, which experiments.allowExecutables can never allow (`,
      );
      expect(await t.deps.store.experiments.get(slug(name)), name).toBeUndefined();
    }
  });

  it('is refused at run for a file stored before, inline or from vars, before anything starts', async () => {
    for (const name of DANGEROUS_VARIABLES) {
      const inline = `${slug(name)}-inline`.slice(0, 64);
      await storeUnchecked(runs('/bin/true', '[]', `{${name}: /tmp/x.so}`), inline);
      const res = await startRun(inline);
      expect(res.statusCode, name).toBe(403);
      expect(res.json().message, name).toContain(
        `sets environment variable ${name} for /bin/true, which experiments.allowExecutables can never allow`,
      );
      expect(await runsOf(inline), name).toEqual([]);

      const templated = `${slug(name)}-var`.slice(0, 64);
      await storeUnchecked(runs('/bin/true', '[]', `{${name}: '\${lib}'}`, 'configuration:\n  lib: /nowhere'), templated);
      const viaVar = await startRun(templated, { lib: '/tmp/x.so' });
      expect(viaVar.statusCode, name).toBe(403);
      expect(viaVar.json().message, name).toContain(`sets environment variable ${name} for /bin/true`);
      expect(await runsOf(templated), name).toEqual([]);
    }
  });

  it('is refused for a variable that is not listed, too (deny by default)', async () => {
    const res = await apply(runs('/bin/true', '[]', '{HTTPS_PROXY: http://127.0.0.1:3128}'), 'not-listed');
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toContain(
      "sets environment variable HTTPS_PROXY for /bin/true, which experiments.allowExecutables does not allow for it (allowed: none); add HTTPS_PROXY to the env of /bin/true's entry in experiments.allowExecutables",
    );
  });

  it('cannot give a process a working directory: the provider has no such field', async () => {
    const res = await apply(runs('/bin/true').replace('env: {}', 'env: {}, cwd: /tmp'), 'with-cwd');
    expect(res.statusCode).toBe(400);
    expect(await t.deps.store.experiments.get('with-cwd')).toBeUndefined();
  });
});

describe('an allowed variable', () => {
  it('reaches the child, beside BULWARK_RUN and the small base, and nothing else of the server', async () => {
    const file = runs(
      '/usr/bin/env',
      '[]',
      "{PROBE_ALLOWED: '${value}', PROXY_URL: http://127.0.0.1:3128}",
      'configuration:\n  value: default',
    );
    expect((await apply(file, 'env-allowed')).statusCode).toBe(201);
    const res = await startRun('env-allowed', { value: 'from-a-var' });
    expect(res.statusCode).toBe(202);
    const runId = res.json().run.id as string;
    const lines = (await stdoutOf(runId)).trim().split('\n');
    expect(lines).toContain('PROBE_ALLOWED=from-a-var');
    expect(lines).toContain('PROXY_URL=http://127.0.0.1:3128');
    expect(lines).toContain(`BULWARK_RUN=${runId}`);
    const names = lines.map((l) => l.slice(0, l.indexOf('=')));
    const base = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER'];
    expect(names.filter((n) => !base.includes(n)).sort()).toEqual(['BULWARK_RUN', 'PROBE_ALLOWED', 'PROXY_URL']);
    expect(lines.join('\n')).not.toContain('must-not-leak');
  });

  it('reaches a shell through /bin/sh -c when the shell entry allows it', async () => {
    expect(
      (await apply(runs('/bin/sh', `[-c, 'echo "$X"']`, "{X: '${x}'}", 'configuration:\n  x: default'), 'sh-allowed')).statusCode,
    ).toBe(201);
    const res = await startRun('sh-allowed', { x: 'hello from X' });
    expect(res.statusCode).toBe(202);
    expect(await stdoutOf(res.json().run.id)).toBe('hello from X\n');
    // The same command as a shell line is the same /bin/sh -c.
    expect((await apply(runs('echo', `'"$X"'`, '{X: line}'), 'sh-line')).statusCode).toBe(201);
    const line = await startRun('sh-line');
    expect(line.statusCode).toBe(202);
    expect(await stdoutOf(line.json().run.id)).toBe('line\n');
    // Another script is not.
    const other = await apply(runs('/bin/sh', `[-c, 'echo "$X"; id']`, '{X: x}'), 'sh-other');
    expect(other.statusCode).toBe(403);
    expect(other.json().message).toContain('starts /bin/sh with arguments');
  });

  it('is refused at run when a var gives it a value its pattern does not allow', async () => {
    const file = runs('/usr/bin/env', '[]', "{PROXY_URL: '${proxy}'}", 'configuration:\n  proxy: http://127.0.0.1:1');
    expect((await apply(file, 'env-pattern')).statusCode).toBe(201);
    const res = await startRun('env-pattern', { proxy: 'http://attacker.example:3128' });
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toContain('sets environment variable PROXY_URL for /usr/bin/env to a value that does not match the pattern');
    expect(res.json().message).not.toContain('attacker.example');
    expect(await runsOf('env-pattern')).toEqual([]);
  });
});

describe('argument rules', () => {
  it('exact and patterns: allowed lists run, others are refused at apply naming the argument', async () => {
    expect((await apply(runs('/bin/echo', '[hello]'), 'echo-exact')).statusCode).toBe(201);
    const exact = await startRun('echo-exact');
    expect(exact.statusCode).toBe(202);
    expect(await stdoutOf(exact.json().run.id)).toBe('hello\n');

    expect((await apply(runs('/bin/echo', '[-n, x42]'), 'echo-pattern')).statusCode).toBe(201);
    const pattern = await startRun('echo-pattern');
    expect(pattern.statusCode).toBe(202);
    expect(await stdoutOf(pattern.json().run.id)).toBe('x42');

    for (const argv of ['[bye]', '[hello, world]', '[-n, x42y]', '[-e, x42]', '[]']) {
      const res = await apply(runs('/bin/echo', argv), 'echo-refused');
      expect(res.statusCode, argv).toBe(403);
      expect(res.json().message, argv).toContain('which no rule of args of its entry in experiments.allowExecutables allows');
      expect(res.json().message, argv).toContain("add a rule to args of /bin/echo's entry");
    }
    const named = await apply(runs('/bin/echo', '[-n, x4y]'), 'echo-refused');
    expect(named.json().message).toContain('argument 2 "x4y" does not match the pattern "x[0-9]+"');
  });

  it('a templated argument is judged at run, once resolved', async () => {
    expect((await apply(runs('/bin/echo', "['${word}']", '{}', 'configuration:\n  word: hello'), 'echo-var')).statusCode).toBe(201);
    const refused = await startRun('echo-var', { word: 'bye' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().message).toContain('starts /bin/echo with arguments ["bye"]');
    expect(await runsOf('echo-var')).toEqual([]);
    // A refusal quoting an argument that holds a secret does not show the secret.
    const secret = runs(
      '/bin/echo',
      "['${word}', '${token}']",
      '{}',
      'configuration:\n  word: hello\nsecrets:\n  vault:\n    token: s3cr3t-token-value',
    );
    expect((await apply(secret.replace('arguments:', 'secrets: [vault], arguments:'), 'echo-secret')).statusCode).toBe(201);
    const redacted = await startRun('echo-secret');
    expect(redacted.statusCode).toBe(403);
    expect(redacted.json().message).toContain('starts /bin/echo with arguments ["hello","[redacted]"]');
    expect(JSON.stringify(redacted.json())).not.toContain('s3cr3t-token-value');
    const ok = await startRun('echo-var', { word: 'hello' });
    expect(ok.statusCode).toBe(202);
    expect(await stdoutOf(ok.json().run.id)).toBe('hello\n');
  });
});
