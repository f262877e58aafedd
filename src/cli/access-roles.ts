/**
 * `bulwark roles apply|validate|list|show|delete`: custom roles (docs/access.md). `validate` reads
 * the file here and needs no server; the others are clients of a running server's API (--url or
 * BULWARK_URL, the token in BULWARK_TOKEN). Changing roles needs a fresh second factor for a person
 * who has one: --code (env BULWARK_SECOND_FACTOR). Exit codes: 0 done, 1 the server failed or could
 * not be reached, 2 refused or bad input.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { validateRoles } from '../app/access/custom-roles.ts';
import { ROLE_NAME } from '../core/access/custom-roles.ts';
import { write } from './access-secrets.ts';
import { CliExit, malformed } from './exit.ts';
import { client, remote, type RemoteFlags } from './remote.ts';

interface RoleView {
  name: string;
  version: number;
  description: string;
  grants: string[];
  condition: string | null;
  updatedAt: string;
  updatedBy: string;
}

type Flags = RemoteFlags & { code?: string };

const print = (s: string): void => void process.stdout.write(`${s}\n`);

function readFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw malformed(`cannot read ${file}: ${(e as Error).message}`);
  }
}

function checkName(name: string): string {
  if (!ROLE_NAME.test(name)) throw malformed(`${name}: a role name is 1–63 lowercase letters, digits and . _ -`);
  return name;
}

const withCode = (c: Command) => c.option('--code <code>', 'the current code of your second factor (env BULWARK_SECOND_FACTOR)');

export function roleCommands(program: Command): void {
  const roles = program
    .command('roles')
    .description('custom roles: permissions granted together, with an optional CEL condition (docs/access.md)');

  roles
    .command('validate')
    .description('check a roles file without a server: the roles it defines, or every problem and where')
    .argument('<file>')
    .option('--json', 'print the result as JSON')
    .action((file: string, o: { json?: boolean }) => {
      const r = validateRoles(readFile(file));
      if (o.json) print(JSON.stringify(r.ok ? { ok: true, roles: r.roles.map(({ program: _p, ...x }) => x) } : r));
      else if (r.ok) for (const x of r.roles) print(`${x.name}: ${x.grants.join(', ')}${x.condition ? `  when ${x.condition}` : ''}`);
      if (!r.ok) throw new CliExit(2, o.json ? '' : r.errors.map((e) => `error: ${file}: ${e.path}: ${e.message}`).join('\n'));
    });

  remote(
    withCode(roles.command('apply').description('apply a roles file: each role created or changed, the others kept').argument('<file>')),
  ).action(async (file: string, o: Flags) => {
    const r = await write<{ roles: { name: string; version: number; change: string }[] }>(o, 'POST', '/v1/roles', { file: readFile(file) });
    if (o.json) print(JSON.stringify(r));
    else for (const x of r.roles) print(`${x.name} ${x.change}${x.change === 'unchanged' ? '' : ` (version ${x.version})`}`);
  });

  remote(roles.command('list').description('the built-in roles and the custom roles')).action(async (o: RemoteFlags) => {
    const r = await client(o)<{ builtIn: { name: string; summary: string }[]; custom: RoleView[] }>('GET', '/v1/roles');
    if (o.json) return print(JSON.stringify(r));
    for (const b of r.builtIn) print(`${b.name.padEnd(20)} built-in  ${b.summary}`);
    for (const c of r.custom)
      print(`${c.name.padEnd(20)} v${c.version}        ${c.grants.join(', ')}${c.condition ? `  when ${c.condition}` : ''}`);
  });

  remote(
    roles.command('show').description('a custom role: grants, condition, the permissions it names, who holds it').argument('<name>'),
  ).action(async (name: string, o: RemoteFlags) => {
    const r = await client(o)<RoleView & { permissions: string[]; holders: string[] }>('GET', `/v1/roles/${checkName(name)}`);
    if (o.json) return print(JSON.stringify(r));
    print(`${r.name} (version ${r.version}, updated ${r.updatedAt} by ${r.updatedBy})`);
    if (r.description) print(`  ${r.description}`);
    print(`  grants:      ${r.grants.join(', ')}`);
    print(`  condition:   ${r.condition ?? 'none (granted outright)'}`);
    print(`  permissions: ${r.permissions.join(', ')}`);
    print(`  held by:     ${r.holders.join(', ') || 'nobody'}`);
  });

  remote(withCode(roles.command('delete').description('delete a custom role nobody holds').argument('<name>'))).action(
    async (name: string, o: Flags) => {
      const r = await write<{ name: string; version: number }>(o, 'DELETE', `/v1/roles/${checkName(name)}`);
      print(o.json ? JSON.stringify(r) : `deleted ${r.name} (it was at version ${r.version})`);
    },
  );
}
