/**
 * Experiments' store part: runs (state, lease, stored rollbacks, journal), applied experiments
 * and the scheduler's slot claims, and the per-target slots (not backed up: held slots mean
 * nothing once restored).
 */
import type { StorePart } from '../store-part.ts';
import { KyselyExperiments } from './kysely-experiments.ts';
import { KyselyRuns } from './kysely-runs.ts';
import { KyselySlots } from './kysely-slots.ts';
import { experimentRuns } from './migrations/0003-experiment-runs.ts';
import { experiments } from './migrations/0004-experiments.ts';
import { experimentTombstones } from './migrations/0006-experiment-tombstones.ts';
import { targetSlots } from './migrations/0007-target-slots.ts';
import type {} from './port.ts';
import type {} from './tables.ts';

export const experimentsStore: StorePart = {
  tables: [
    { name: 'experiment_runs', backup: true },
    { name: 'experiments', backup: true },
    { name: 'experiment_schedule_claims', backup: true },
    { name: 'target_slots', backup: false },
  ],
  migrations: {
    '0003_experiment_runs': experimentRuns,
    '0004_experiments': experiments,
    '0006_experiment_tombstones': experimentTombstones,
    '0007_target_slots': targetSlots,
  },
  repos: (ctx) => ({
    runs: new KyselyRuns(ctx.db),
    experiments: new KyselyExperiments(ctx.db),
    slots: new KyselySlots(ctx.db, ctx.dialect, ctx.runInTransaction, ctx.isTx),
  }),
  contract: async () => {
    const [runs, experiments, slots] = await Promise.all([
      import('./runs.contract.ts'),
      import('./experiments.contract.ts'),
      import('./slots.contract.ts'),
    ]);
    return (current) => {
      runs.runRepoContract(current);
      experiments.experimentRepoContract(current);
      slots.slotRepoContract(current);
    };
  },
};
