/** SLOs' store part: applied SLO files with their versions, recorded budget policy state, announced alert states and KRI colours. */
import type { StorePart } from '../store-part.ts';
import { KyselySlos } from './kysely-slos.ts';
import { slos } from './migrations/0008-slos.ts';
import { sloAlertStates } from './migrations/0012-slo-alert-states.ts';
import { sloKriStates } from './migrations/0020-slo-kri-states.ts';
import type {} from './port.ts';
import type {} from './tables.ts';

export const slosStore: StorePart = {
  tables: [
    { name: 'slos', backup: true },
    { name: 'slo_alert_states', backup: true },
    { name: 'slo_kri_states', backup: true },
  ],
  migrations: { '0008_slos': slos, '0012_slo_alert_states': sloAlertStates, '0020_slo_kri_states': sloKriStates },
  repos: (ctx) => ({ slos: new KyselySlos(ctx.db) }),
  contract: async () => {
    const { sloRepoContract } = await import('./slos.contract.ts');
    return (current) => sloRepoContract(current);
  },
};
