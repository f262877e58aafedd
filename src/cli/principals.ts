/** `bulwark principals create|list|set-roles|disable`, straight on the database, like `bulwark tokens`. */
import type { Command } from 'commander';
import { createPrincipal, disablePrincipal, listPrincipals, setPrincipalRoles } from '../app/access/principals.ts';
import { BUILT_IN_ROLES, roleSummary } from '../core/access/roles.ts';
import { cliActor, configFrom, openContext, type StoreFlags } from './context.ts';
import { storeOptions } from './options.ts';

export function principalCommands(program: Command): void {
  const principals = program
    .command('principals')
    .description('people and service accounts, with groups and roles')
    .addHelpText('after', `\nRoles:\n${BUILT_IN_ROLES.map((r) => `  ${r.padEnd(14)} ${roleSummary(r)}`).join('\n')}\n`);

  storeOptions(
    principals
      .command('create')
      .description('create a person or service account; then mint its tokens with bulwark tokens create --principal ID')
      .argument('<kind>', 'person or service')
      .argument('<name>', 'its name: lowercase letters, digits, . _ @ -')
      .requiredOption('--role <role...>', `one or more of ${BUILT_IN_ROLES.join(', ')}, or custom roles (bulwark roles list)`)
      .option('--group <group...>', 'groups it belongs to')
      .option('--json', 'print it as JSON'),
  ).action(async (kind: string, name: string, o: StoreFlags & { role: string[]; group?: string[]; json?: boolean }) => {
    const { deps, close } = await openContext(configFrom(o));
    try {
      const p = await createPrincipal(deps, cliActor(), {
        kind: kind as 'person',
        name,
        roles: o.role,
        groups: o.group ?? [],
      });
      process.stdout.write(o.json ? JSON.stringify(p) + '\n' : `created ${p.id} with roles ${p.roles.join(', ')}\n`);
    } finally {
      await close();
    }
  });

  storeOptions(principals.command('list').description('list principals').option('--json')).action(
    async (o: StoreFlags & { json?: boolean }) => {
      const { deps, close } = await openContext(configFrom(o));
      try {
        const list = await listPrincipals(deps);
        if (o.json) process.stdout.write(JSON.stringify(list) + '\n');
        else
          for (const p of list)
            process.stdout.write(
              `${p.id.padEnd(28)} ${p.roles.join(',').padEnd(24)} ${p.groups.join(',').padEnd(20)} ${p.disabledAt ? `disabled ${p.disabledAt}` : 'active'}\n`,
            );
      } finally {
        await close();
      }
    },
  );

  storeOptions(
    principals
      .command('set-roles')
      .description("set a principal's roles, built-in and custom, all at once; its tokens act within them from the next request")
      .argument('<id>', 'person:NAME or service:NAME')
      .requiredOption('--role <role...>', 'every role it is to hold'),
  ).action(async (id: string, o: StoreFlags & { role: string[] }) => {
    const { deps, close } = await openContext(configFrom(o));
    try {
      const p = await setPrincipalRoles(deps, cliActor(), id, { roles: o.role });
      process.stdout.write(`${p.id} now holds ${p.roles.join(', ')}\n`);
    } finally {
      await close();
    }
  });

  storeOptions(
    principals.command('disable').description('disable a principal: its tokens and sessions end at once').argument('<id>'),
  ).action(async (id: string, o: StoreFlags) => {
    const { deps, close } = await openContext(configFrom(o));
    try {
      const p = await disablePrincipal(deps, cliActor(), id);
      process.stdout.write(
        `disabled ${p.id}; revoked ${p.revokedTokens.length} token(s)${p.revokedTokens.length ? `: ${p.revokedTokens.join(' ')}` : ''}\n`,
      );
    } finally {
      await close();
    }
  });
}
