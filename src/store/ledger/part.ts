/**
 * The ledger's store part: entries and the Merkle tree, head, checkpoints, signing keys, and the
 * installation's settings (bulwark_meta, written first at restore: the origin line).
 */
import type { StorePart } from '../store-part.ts';
import { KyselyLedger } from './kysely-ledger.ts';
import { KyselyMeta } from './kysely-meta.ts';
import { ledgerAndTokens } from './migrations/0001-ledger-and-tokens.ts';
import { treeInEntries } from './migrations/0005-tree-in-entries.ts';
import type {} from './port.ts';
import type {} from './tables.ts';

export const ledgerStore: StorePart = {
  tables: [
    { name: 'bulwark_meta', backup: true },
    { name: 'ledger_keys', backup: true },
    { name: 'ledger_head', backup: true },
    { name: 'ledger_entries', backup: true },
    { name: 'ledger_checkpoints', backup: true },
  ],
  migrations: {
    // 0001 also creates access's tokens table (the first schema had both).
    '0001_ledger_and_tokens': ledgerAndTokens,
    '0005_tree_in_entries': treeInEntries,
  },
  repos: (ctx) => ({
    ledger: new KyselyLedger(ctx.db, ctx.runInTransaction, ctx.isTx, ctx.dialect, ctx.events, ctx.hints),
    meta: new KyselyMeta(ctx.db),
  }),
  contract: async () => (await import('./ledger.contract.ts')).ledgerContract,
};
