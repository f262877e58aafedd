/** Playbooks' store part: applied playbooks and every version, runs, step executions, promotions. */
import type { StorePart } from '../store-part.ts';
import { KyselyPlaybooks } from './kysely-playbooks.ts';
import { playbooks } from './migrations/0015-playbooks.ts';
import { playbookPromotions } from './migrations/0016-playbook-promotions.ts';
import { playbookStepKinds } from './migrations/0023-playbook-step-kinds.ts';
import { playbookPrincipals } from './migrations/0028-playbook-principals.ts';
import type {} from './port.ts';
import type {} from './tables.ts';

export const playbooksStore: StorePart = {
  tables: [
    { name: 'playbooks', backup: true },
    { name: 'playbook_versions', backup: true },
    { name: 'playbook_runs', backup: true },
    { name: 'playbook_steps', backup: true },
    { name: 'playbook_promotions', backup: true },
  ],
  migrations: {
    '0015_playbooks': playbooks,
    '0016_playbook_promotions': playbookPromotions,
    '0023_playbook_step_kinds': playbookStepKinds,
    '0028_playbook_principals': playbookPrincipals,
  },
  repos: (ctx) => ({ playbooks: new KyselyPlaybooks(ctx.db, ctx.dialect) }),
  contract: async () => {
    const { playbookRepoContract } = await import('./playbooks.contract.ts');
    return (current) => playbookRepoContract(current);
  },
};
