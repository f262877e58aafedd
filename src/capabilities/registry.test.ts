/**
 * The registry walked: what each capability declares is whole and its own, and what the hosts
 * build from it (routes, commands, jobs, store parts, dashboard pages) comes from it alone.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../../test/support/app.ts';
import { CAPABILITIES, LEDGER_EVENTS, PERMISSIONS, RESERVED_PERMISSIONS, STORE_PARTS } from './index.ts';

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('the capability registry', () => {
  it('names each capability once, plainly', () => {
    const names = CAPABILITIES.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z]+$/);
    for (const c of CAPABILITIES) expect(c.summary.length, c.name).toBeGreaterThan(20);
  });

  it('gives each permission to one capability; reserved ones are among its own', () => {
    expect(new Set(PERMISSIONS).size).toBe(PERMISSIONS.length);
    for (const c of CAPABILITIES) for (const p of c.reservedPermissions ?? []) expect(c.permissions, c.name).toContain(p);
  });

  it('catalogues each ledger event kind once, from the capabilities', () => {
    expect(LEDGER_EVENTS.kinds.length).toBe(CAPABILITIES.flatMap((c) => c.events).length);
  });

  it('gives every store part a contract suite (run on SQLite and PostgreSQL by the store tests) and its own tables', () => {
    const tables = STORE_PARTS.flatMap((p) => p.tables.map((t) => t.name));
    expect(new Set(tables).size).toBe(tables.length);
    for (const p of STORE_PARTS) expect(typeof p.contract, p.tables.map((t) => t.name).join()).toBe('function');
  });

  it('numbers migrations once across capabilities', () => {
    const names = STORE_PARTS.flatMap((p) => Object.keys(p.migrations));
    const numbers = names.map((n) => n.slice(0, 4));
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const n of names) expect(n).toMatch(/^\d{4}_[a-z0-9_]+$/);
  });

  it('serves each route from the capability that owns its permission', () => {
    const ownerOfPermission = new Map(CAPABILITIES.flatMap((c) => c.permissions.map((p) => [p, c.name] as const)));
    for (const r of t.spec) {
      const owner = t.ownerOf.get(r);
      expect(owner, `${r.method} ${r.url} was added outside a capability's part`).toBeDefined();
      if (r.auth !== 'public') expect(ownerOfPermission.get(r.auth.permission), `${r.method} ${r.url}`).toBe(owner);
    }
    // Every permission a route declares, or reserved: nothing granted that nothing checks.
    const used = new Set(t.spec.flatMap((r) => (r.auth === 'public' ? [] : [r.auth.permission])));
    expect(PERMISSIONS.filter((p) => !used.has(p)).sort()).toEqual([...RESERVED_PERMISSIONS].sort());
  });

  it('builds the command line from the capabilities, each top-level command from one of them', async () => {
    const seen = new Map<string, string>();
    for (const c of CAPABILITIES) {
      const part = await c.cli?.();
      if (!part) continue;
      const program = new Command('bulwark');
      part(program);
      expect(program.commands.length, c.name).toBeGreaterThan(0);
      // The CLI loads a part by the names it declares: they must be exactly the ones it adds.
      expect(
        [...(c.commands ?? [])].sort(),
        `the top-level commands ${c.name}'s cli part adds, declared in src/capabilities/${c.name}.ts 'commands'`,
      ).toEqual(program.commands.map((cmd) => cmd.name()).sort());
      for (const cmd of program.commands) {
        expect(seen.get(cmd.name()), `${cmd.name()} of ${c.name}`).toBeUndefined();
        seen.set(cmd.name(), c.name);
      }
    }
    expect([...seen.keys()].sort()).toEqual(
      expect.arrayContaining(['backup', 'experiments', 'ledger', 'restore', 'runs', 'techniques', 'tokens']),
    );
  });

  it('loads every job part', async () => {
    for (const c of CAPABILITIES) if (c.jobs) expect(typeof (await c.jobs()), c.name).toBe('function');
  });

  it('has dashboard pages only for capabilities in the registry', async () => {
    const dir = fileURLToPath(new URL('../../web/src/capabilities/', import.meta.url));
    const folders = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(folders.length).toBeGreaterThan(0);
    for (const f of folders)
      expect(
        CAPABILITIES.map((c) => c.name),
        f,
      ).toContain(f);
  });
});
