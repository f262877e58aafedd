/** `bulwark roles …` in process against a server over loopback: validate (no server), apply, list, show, delete. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTestApp, type TestApp } from '../../test/support/app.ts';
import { roleCommands } from './access-roles.ts';
import { CliExit } from './exit.ts';

let t: TestApp;
let url: string;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bulwark-roles-cli-'));
  t = await makeTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ out: string; error?: CliExit }> {
  const program = new Command().exitOverride();
  roleCommands(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    const server = args[1] === 'validate' ? [] : ['--url', url, '--token', t.adminToken];
    await program.parseAsync(['node', 'bulwark', ...args, ...server]);
    return { out };
  } catch (e) {
    if (e instanceof CliExit) return { out, error: e };
    throw e;
  } finally {
    spy.mockRestore();
  }
}

describe('bulwark roles', () => {
  it('validates, applies, lists, shows and deletes custom roles', async () => {
    const good = path.join(dir, 'roles.yaml');
    await writeFile(
      good,
      'roles:\n  - name: team-runner\n    grants: [experiments:run]\n    condition: resource.labels.team in principal.groups\n',
    );
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'roles:\n  - name: admin\n    grants: [nukes:launch]\n');

    expect((await cli('roles', 'validate', good)).out).toBe(
      'team-runner: experiments:run  when resource.labels.team in principal.groups\n',
    );
    const refused = await cli('roles', 'validate', bad);
    expect(refused.error?.code).toBe(2);
    expect(refused.error?.message).toContain('roles.0.name: admin is a built-in role');
    expect(refused.error?.message).toContain('roles.0.grants.0: nukes:launch is not a permission');

    expect((await cli('roles', 'apply', good)).out).toBe('team-runner created (version 1)\n');
    expect((await cli('roles', 'apply', good)).out).toBe('team-runner unchanged\n');
    expect((await cli('roles', 'apply', bad)).error?.code).toBe(2);
    const list = (await cli('roles', 'list')).out;
    expect(list).toContain('viewer');
    expect(list).toMatch(/team-runner +v1 +experiments:run {2}when resource\.labels\.team in principal\.groups/);
    const show = (await cli('roles', 'show', 'team-runner')).out;
    expect(show).toContain('permissions: experiments:run');
    expect(show).toContain('held by:     nobody');
    expect((await cli('roles', 'show', 'nope')).error?.code).toBe(2);
    expect((await cli('roles', 'delete', 'team-runner')).out).toBe('deleted team-runner (it was at version 1)\n');
  });
});
