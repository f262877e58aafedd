/** `bulwark playbooks …` in process against an in-process server on loopback. */
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTestApp, type TestApp } from '../../test/support/app.ts';
import { playbookCommands } from './playbooks.ts';

const FIXTURE = path.join(import.meta.dirname, '../../test/fixtures/playbooks/block-ip.yaml');
let t: TestApp;
let url: string;

beforeAll(async () => {
  t = await makeTestApp();
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await t?.close();
});

async function cli(...args: string[]): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  try {
    const program = new Command('bulwark').exitOverride();
    playbookCommands(program);
    const remoteCmd = !['validate'].includes(args[0]!);
    await program.parseAsync(['node', 'bulwark', 'playbooks', ...args, ...(remoteCmd ? ['--url', url, '--token', t.adminToken] : [])]);
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

describe('bulwark playbooks', () => {
  it('validates a file, and names the line of an error', async () => {
    expect(await cli('validate', FIXTURE)).toMatch(/block-sqli-source: .* 5 steps, triggered by signal.labels.alertname/);
    await expect(cli('validate', path.join(import.meta.dirname, '../core/playbooks/permissions.ts'))).rejects.toThrow(/permissions.ts:\d+:\d+: /);
  });

  it('applies, runs, shows the checklist item, records it done, and reports the toil', async () => {
    expect(await cli('apply', FIXTURE)).toMatch(/applied block-sqli-source \(version 1\)/);
    expect(await cli('list')).toMatch(/block-sqli-source .* v1 .*block:auto/);
    expect(await cli('run', 'block-sqli-source', '--input', 'ip=10.0.0.7', '--dry-run')).toMatch(
      /POST http:\/\/127.0.0.1:9\/v1\/blocklist/,
    );
    const started = await cli('run', 'block-sqli-source', '--input', 'ip=10.0.0.7');
    const id = /started (pbr_[a-z0-9]{16})/.exec(started)![1]!;
    // The block step calls port 9 (discard, closed here): make it a manual step's turn by skipping ahead.
    await t.deps.store.playbooks.updateStep(id, 0, { state: 'done', outputs: { status: 200, body: { got: null } } });
    await t.deps.store.playbooks.updateRun(id, { cursor: 1 });
    await t.playbooks.engine.tick();
    const shown = await cli('show-run', id);
    expect(shown).toMatch(/verify_logs .* waiting/);
    expect(shown).toMatch(/\[ \] Search the access log for the user agent/);
    expect(await cli('complete-step', id, 'verify_logs', '--outcome', 'done', '--time', '10m', '--notes', 'nothing else')).toMatch(
      /recorded verify_logs done/,
    );
    expect(await cli('runs', '--playbook', 'block-sqli-source')).toContain(id);
    expect(await cli('toil')).toMatch(/verify_logs +manual +1 done, 0 failed, 10 min/);
  });
});
