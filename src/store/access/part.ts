/**
 * Access's store part: API tokens and dashboard sessions, stored by hash. The tokens table has no
 * migration of its own (the ledger's 0001 created it, and a shipped migration is never split);
 * sessions came with 0010, principals with 0011. Sessions are not backed up: a restored server starts with none.
 */
import type { StorePart } from '../store-part.ts';
import { KyselySessions } from './kysely-sessions.ts';
import { KyselyTokens } from './kysely-tokens.ts';
import { sessions } from './migrations/0010-sessions.ts';
import { principals } from './migrations/0011-principals.ts';
import { KyselyPrincipals } from './kysely-principals.ts';
import type {} from './port.ts';
import type {} from './tables.ts';

export const accessStore: StorePart = {
  tables: [
    { name: 'principals', backup: true },
    { name: 'tokens', backup: true },
    { name: 'sessions', backup: false },
  ],
  migrations: { '0010_sessions': sessions, '0011_principals': principals },
  repos: (ctx) => ({ tokens: new KyselyTokens(ctx.db), sessions: new KyselySessions(ctx.db), principals: new KyselyPrincipals(ctx.db) }),
  contract: async () => (await import('./tokens.contract.ts')).tokensContract,
};
