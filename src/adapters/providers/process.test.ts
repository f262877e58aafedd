import { describe, expect, it } from 'vitest';
import type { ProcessProvider } from '../../core/experiments/types.ts';
import { ActivityFailed, type ProviderContext } from '../../app/experiments/runner/providers.ts';
import { processProvider } from './process.ts';

const RUN = 'abcdefgh12345678';
const ctx = (signal = new AbortController().signal): ProviderContext => ({ runId: RUN, signal, sent: () => {} });
const node = (script: string, ...rest: string[]): ProcessProvider => ({
  type: 'process',
  path: process.execPath,
  arguments: { kind: 'argv', argv: ['-e', script, ...rest] },
  env: {},
  secrets: [],
});

describe('process provider', () => {
  const run = processProvider({ maxOutputBytes: 1000, killGraceMs: 200 });

  it('passes argv without a shell and a small environment with the run id', async () => {
    process.env.BULWARK_TEST_SECRET = 'must-not-leak';
    try {
      const p = node(
        'console.log(JSON.stringify([process.argv[1], process.env.BULWARK_RUN, process.env.BULWARK_TEST_SECRET ?? null, process.env.EXTRA]))',
        'a b; echo pwned',
      );
      const r = await run({ ...p, env: { EXTRA: 'yes' } }, ctx());
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(['a b; echo pwned', RUN, null, 'yes']);
    } finally {
      delete process.env.BULWARK_TEST_SECRET;
    }
  });

  it('runs a string of arguments through a shell, as Chaos Toolkit does', async () => {
    const r = await run(
      { type: 'process', path: 'echo', arguments: { kind: 'shell', line: 'hello && echo "$BULWARK_RUN"' }, env: {}, secrets: [] },
      ctx(),
    );
    expect(r).toEqual({ status: 0, stdout: `hello\n${RUN}\n`, stderr: '' });
  });

  it('reports the exit status and stderr as a result, and bounds the output', async () => {
    const r = await run(node('process.stdout.write("y".repeat(100000)); process.stderr.write("bad"); process.exit(3)'), ctx());
    expect(r.status).toBe(3);
    expect(r.stdout.length).toBe(1000);
    expect(r.stderr).toBe('bad');
  });

  it('kills the whole process group at the timeout', async () => {
    const t0 = Date.now();
    const p: ProcessProvider = {
      type: 'process',
      path: 'sleep',
      arguments: { kind: 'shell', line: '30 & sleep 30' },
      env: {},
      timeoutMs: 200,
      secrets: [],
    };
    await expect(run(p, ctx())).rejects.toThrow(/did not finish within 200 ms/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('stops when the run is aborted', async () => {
    const ac = new AbortController();
    const p = run(node('setTimeout(() => {}, 30000)'), ctx(ac.signal));
    setTimeout(() => ac.abort(new Error('stop')), 150);
    await expect(p).rejects.toThrow('stop');
  });

  it('does not wait for a background child that keeps the pipes open', async () => {
    const t0 = Date.now();
    const r = await run(
      { type: 'process', path: 'sleep', arguments: { kind: 'shell', line: '5 & echo started' }, env: {}, secrets: [] },
      ctx(),
    );
    expect(r.stdout).toBe('started\n');
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("starts from a clean environment: nothing of this process's beyond the small base, whatever it holds", async () => {
    const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, BASH_ENV: process.env.BASH_ENV };
    process.env.NODE_OPTIONS = '--require /nonexistent/evil.js';
    process.env.BASH_ENV = '/nonexistent/evil.sh';
    process.env.BULWARK_TEST_SECRET = 'must-not-leak';
    try {
      const fresh = processProvider();
      const r = await fresh(
        { type: 'process', path: '/usr/bin/env', arguments: { kind: 'argv', argv: [] }, env: { EXTRA: 'yes' }, secrets: [] },
        ctx(),
      );
      const names = r.stdout
        .trim()
        .split('\n')
        .map((l) => l.slice(0, l.indexOf('=')));
      const base = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER'];
      expect(names.filter((n) => !base.includes(n)).sort()).toEqual(['BULWARK_RUN', 'EXTRA']);
      expect(r.stdout).not.toContain('must-not-leak');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      delete process.env.BULWARK_TEST_SECRET;
    }
  });

  it('refuses a variable name that would set another variable, before anything starts', async () => {
    for (const name of ['', 'A=B', 'LD_PRELOAD=/tmp/x.so:']) {
      const err = await run(
        { type: 'process', path: '/usr/bin/env', arguments: { kind: 'argv', argv: [] }, env: { [name]: 'x' }, secrets: [] },
        { ...ctx(), sent: () => expect.fail('started') },
      ).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(ActivityFailed);
      expect(String(err), name).toContain('is not an environment variable name');
    }
  });

  it('fails when the executable does not exist', async () => {
    const err = await run(
      { type: 'process', path: '/no/such/tool', arguments: { kind: 'argv', argv: [] }, env: {}, secrets: [] },
      ctx(),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActivityFailed);
    expect(String(err)).toMatch(/no such executable/);
  });
});
