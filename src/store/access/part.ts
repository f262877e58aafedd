/**
 * Access's store part: API tokens, stored by hash. Their table has no migration of its own: the
 * ledger's 0001 created it, and a shipped migration is never split.
 */
import type { StorePart } from '../store-part.ts';
import { KyselyTokens } from './kysely-tokens.ts';
import type {} from './port.ts';
import type {} from './tables.ts';

export const accessStore: StorePart = {
  tables: [{ name: 'tokens', backup: true }],
  migrations: {},
  repos: (ctx) => ({ tokens: new KyselyTokens(ctx.db) }),
  contract: async () => (await import('./tokens.contract.ts')).tokensContract,
};
