/** `bulwark tokens create|list|revoke`, straight on the database: works when no token is left. */
import type { Command } from 'commander';
import { createToken, listTokens, revokeToken } from '../app/access/tokens.ts';
import { cliActor, configFrom, openContext, type StoreFlags } from './context.ts';
import { storeOptions } from './options.ts';

export function tokenCommands(program: Command): void {
  const tokens = program.command('tokens').description('API tokens');

  storeOptions(
    tokens
      .command('create')
      .description('mint a token; it is printed once and stored only as a hash')
      .requiredOption('--name <name>', 'what the token is for')
      .option('--admin', 'every permission')
      .option('--scope <scope...>', 'permissions, e.g. ledger:read ledger:write')
      .option('--kind <kind>', 'person or service', 'service')
      .option('--principal <id>', 'the principal it acts for (person:NAME, service:NAME): within its roles')
      .option('--expires <time>', 'RFC 3339 expiry time')
      .option('--json', 'print {id, name, token, scopes} as JSON'),
  ).action(
    async (
      o: StoreFlags & {
        name: string;
        admin?: boolean;
        scope?: string[];
        kind: string;
        principal?: string;
        expires?: string;
        json?: boolean;
      },
    ) => {
      const { deps, close } = await openContext(configFrom(o));
      try {
        const { token, view } = await createToken(deps, cliActor(), {
          name: o.name,
          admin: !!o.admin,
          scopes: o.scope,
          kind: o.kind as 'person' | 'service',
          ...(o.principal !== undefined ? { principal: o.principal } : {}),
          expiresAt: o.expires,
        });
        if (o.json) process.stdout.write(JSON.stringify({ id: view.id, name: view.name, token, scopes: view.scopes }) + '\n');
        else
          process.stdout.write(
            `${token}\n\nToken ${view.id} (${view.name}) with scopes ${view.scopes.join(' ')}. It is shown this once.\n`,
          );
      } finally {
        await close();
      }
    },
  );

  storeOptions(tokens.command('list').description('list tokens (never their secrets)').option('--json')).action(
    async (o: StoreFlags & { json?: boolean }) => {
      const { deps, close } = await openContext(configFrom(o));
      try {
        const list = await listTokens(deps);
        if (o.json) process.stdout.write(JSON.stringify(list) + '\n');
        else {
          for (const t of list) {
            process.stdout.write(
              `${t.id}  ${t.name.padEnd(20)} ${t.scopes.join(',').padEnd(30)} ${t.revokedAt ? `revoked ${t.revokedAt}` : 'active'}\n`,
            );
          }
        }
      } finally {
        await close();
      }
    },
  );

  storeOptions(tokens.command('revoke').description('revoke a token by id').argument('<id>')).action(async (id: string, o: StoreFlags) => {
    const { deps, close } = await openContext(configFrom(o));
    try {
      const t = await revokeToken(deps, cliActor(), id);
      process.stdout.write(`revoked ${t.id} (${t.name})\n`);
    } finally {
      await close();
    }
  });
}
