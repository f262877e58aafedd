import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
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
  dir = await mkdtemp(path.join(tmpdir(), 'bulwark-incidents-cli-'));
  t = await makeTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Run `bulwark …args` in this process against the server over loopback; what it printed. */
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

describe('bulwark incidents and cases (against a server over loopback)', () => {
  it('declares, assigns, notes, adds and verifies evidence, changes status and writes the postmortem', async () => {
    expect((await cli('incidents', 'declare', 'Credential stuffing', '--severity', 'SEV2', '--priority', 'P1')).out).toBe(
      'declared INC-1  active    SEV2  P1  Credential stuffing\n',
    );
    expect((await cli('incidents', 'assign', 'INC-1', 'commander', 'person:alice')).out).toBe('commander: person:alice (INC-1)\n');
    expect((await cli('incidents', 'note', '1', 'blocked at the edge')).out).toBe('noted on INC-1\n');
    const added = await cli('incidents', 'evidence', 'add', '1', new URL(import.meta.url).pathname, '--origin', 'test');
    expect(added.out).toMatch(/^added incidents\.test\.ts: \d+ bytes, SHA-256 [0-9a-f]{64}\n$/);
    expect((await cli('incidents', 'evidence', 'verify', '1')).out).toMatch(
      /^ok {8}[0-9a-f]{64} {2}incidents\.test\.ts\n1 item verified\n$/,
    );
    expect((await cli('incidents', 'status', '1', 'resolved')).out).toContain('resolved');
    const show = await cli('incidents', 'show', '1');
    expect(show.out).toContain('commander       person:alice');
    expect(show.out).toContain('incident.evidence.verified');
    expect((await cli('incidents', 'postmortem', '1')).out).toContain('# Postmortem: INC-1 Credential stuffing');
    const pm = path.join(dir, 'pm-1.md');
    await cli('incidents', 'postmortem', '1', '-o', pm);
    expect((await stat(pm)).mode & 0o777).toBe(0o600); // the incident's record: its owner's only
    expect((await cli('incidents', 'list')).out).toBe('INC-1  resolved  SEV2  P1  Credential stuffing\n');
  });

  it('says what to fix, exit 2: an unknown severity, a case that does not exist, a bad id', async () => {
    const sev = await cli('incidents', 'declare', 'x', '--severity', 'SEV9');
    expect(sev.error?.code).toBe(2);
    expect(sev.error?.message).toMatch(/use one of SEV1, SEV2, SEV3, SEV4/);
    const missing = await cli('cases', 'ack', '99');
    expect(missing.error?.code).toBe(2); // what the server refuses is bad input
    expect(missing.error?.message).toMatch(/no case 99/);
    expect((await cli('cases', 'show', 'abc')).error?.code).toBe(2);
    expect((await cli('cases', 'list')).out).toBe('no cases\n');
  });

  it('keeps tasks and checklists: task add, done, list; checklist add from a template', async () => {
    await cli('incidents', 'declare', 'Leaked deploy key', '--severity', 'SEV2');
    const inc = (await cli('incidents', 'list')).out.match(/^INC-(\d+) .*Leaked deploy key$/m)![1]!;
    expect((await cli('incidents', 'task', 'add', inc, 'Revoke the key', '--owner', 'olga', '--due', '2030-01-01T00:00:00Z')).out).toBe(
      'added #1    open      olga             2030-01-01T00:00:00.000Z Revoke the key\n',
    );
    expect((await cli('incidents', 'task', 'done', inc, '1')).out).toMatch(/^#1 {4}done {6}olga/);
    const added = await cli('incidents', 'checklist', 'add', `INC-${inc}`, 'verify-recovery-tools');
    expect(added.out.split('\n')[0]).toBe('added checklist verify-recovery-tools: 3 tasks');
    const list = (await cli('incidents', 'task', 'list', inc, '--status', 'open')).out.trim().split('\n');
    expect(list.map((l) => l.slice(0, 4))).toEqual(['#2  ', '#3  ', '#4  ']);
    expect(list[0]).toMatch(/\[verify-recovery-tools\]$/);
    expect((await cli('incidents', 'checklist', 'add', inc, 'nope')).error?.message).toMatch(/no checklist template 'nope'/);
    expect((await cli('incidents', 'task', 'done', inc, 'x')).error?.code).toBe(2);
  });

  it('drafts, edits from a file, posts and shows a status report', async () => {
    await cli('incidents', 'declare', 'Report me', '--severity', 'SEV3');
    const inc = (await cli('incidents', 'list')).out.match(/^INC-(\d+) .*Report me$/m)![1]!;
    const draft = await cli('incidents', 'report', 'draft', inc, 'tactical', '--next-update', 'none');
    expect(draft.out).toMatch(/^report 1 {2}tactical {2}draft {2}v1 /);
    expect(draft.out).toContain('- Next update: none planned');
    const file = path.join(dir, 'report.md');
    await writeFile(file, 'All quiet.\n');
    expect((await cli('incidents', 'report', 'edit', inc, '1', file, '--expect-version', '1')).out).toMatch(/draft {2}v2 /);
    expect((await cli('incidents', 'report', 'post', inc, '1')).out).toMatch(/posted v3 /);
    expect((await cli('incidents', 'report', 'show', inc, '1')).out).toMatch(/posted v3 .*\n\nAll quiet\.\n$/);
    expect((await cli('incidents', 'report', 'show', inc, '1', '--history')).out.match(/^report 1 /gm)).toHaveLength(3);
    expect((await cli('incidents', 'report', 'list', inc)).out).toMatch(/^report 1 {2}tactical {2}posted v3 /);
    expect((await cli('incidents', 'report', 'edit', inc, '1', file)).error?.message).toMatch(/is posted and no longer changes/);
  });
});
