/** SLOs' store part: applied SLO files with their versions and recorded budget policy state. */
import type { StorePart } from '../store-part.ts';
import { KyselySlos } from './kysely-slos.ts';
import { slos } from './migrations/0008-slos.ts';
import type {} from './port.ts';
import type {} from './tables.ts';

export const slosStore: StorePart = {
  tables: [{ name: 'slos', backup: true }],
  migrations: { '0008_slos': slos },
  repos: (ctx) => ({ slos: new KyselySlos(ctx.db) }),
  contract: async () => {
    const { sloRepoContract } = await import('./slos.contract.ts');
    return (current) => sloRepoContract(current);
  },
};
