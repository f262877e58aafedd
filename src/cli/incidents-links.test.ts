/** bulwark incidents link / postmortem-save / postmortem-show / export / verify-export, against a server over loopback. */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { makeTestApp, type TestApp } from '../../test/support/app.ts';
import { CliExit } from './exit.ts';
import { incidentCommands } from './incidents.ts';

let t: TestApp;
let url: string;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bulwark-incidents-links-cli-'));
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
  incidentCommands(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'bulwark', ...args, '--url', url, '--token', t.adminToken]);
    return { out };
  } catch (e) {
    if (e instanceof CliExit) return { out, error: e };
    throw e;
  } finally {
    spy.mockRestore();
  }
}

describe('bulwark incidents: links, versioned postmortem, export', () => {
  it('links a technique, saves and edits the postmortem (a stale base refused), exports a file that verifies and one altered that does not', async () => {
    await cli('incidents', 'declare', 'Token replay', '--severity', 'SEV3', '--technique', 'T1550.001');
    expect((await cli('incidents', 'links', '1')).out).toContain('techniques: T1550.001');
    expect((await cli('incidents', 'link', '1', '--technique', 'T1078')).out).toContain('techniques: T1078, T1550.001');
    expect((await cli('incidents', 'link', '1')).error?.code).toBe(2);
    expect((await cli('incidents', 'postmortem-save', '1', '--base', '0')).out).toMatch(
      /^saved version 1 \(generated, SHA-256 [0-9a-f]{64}\)\n$/,
    );
    const file = path.join(dir, 'pm.md');
    await writeFile(file, '# Postmortem\n\nEdited by the team.\n');
    expect((await cli('incidents', 'postmortem-save', '1', '--base', '1', '--file', file)).out).toMatch(/^saved version 2 \(edited/);
    const stale = await cli('incidents', 'postmortem-save', '1', '--base', '1', '--file', file);
    expect(stale.error?.message).toMatch(/at version 2/);
    expect((await cli('incidents', 'postmortem-show', '1')).out).toBe('# Postmortem\n\nEdited by the team.\n');
    expect((await cli('incidents', 'postmortem-versions', '1')).out.split('\n').filter(Boolean)).toHaveLength(2);
    const out = path.join(dir, 'inc1.json');
    await cli('incidents', 'export', '1', '-o', out);
    expect((await stat(out)).mode & 0o777).toBe(0o600); // the whole record: its owner's only
    const verified = (await cli('incidents', 'verify-export', out)).out;
    expect(verified).toMatch(/^ok: \d+ entries match the ledger\n/);
    expect(verified).toMatch(/checked: timeline: every entry hashes to its leaf hash/);
    await writeFile(out, (await readFile(out, 'utf8')).replace('Edited by the team.', 'Edited by nobody.'));
    const bad = await cli('incidents', 'verify-export', out);
    expect(bad.out).toMatch(/NOT OK[\s\S]*postmortem version 2/);
    process.exitCode = undefined;
    expect((await cli('incidents', 'export', '1', '--format', 'markdown')).out).toContain('# Incident export: INC-1 Token replay');
  });
});
