/**
 * Experiments' jobs in `bulwark serve`: roll back the runs a dead process left behind, then
 * start applied experiments on their schedules.
 */
import { startScheduler } from '../../app/experiments/scheduler.ts';
import { actorLabel } from '../../core/ledger/actor.ts';
import { DEMO_ACTOR } from '../serve-demo.ts';
import type { JobsPart } from '../jobs-part.ts';

export const experimentsJobs: JobsPart = async ({ deps, server, logger, demo }) => {
  const runs = server.experiments;
  // Runs a dead process left behind get their rollbacks before anything new starts.
  for (const r of await runs.recover()) logger.warn(r, `recovered run ${r.runId} of ${r.experiment}: ${r.outcome}`);
  const scheduler = startScheduler({
    store: deps.store,
    clock: deps.clock,
    runs,
    owner: runs.runner.owner,
    log: logger,
    // The demo's experiments point at a shop that only runs with --demo.
    ...(demo ? {} : { include: (e) => e.appliedBy !== actorLabel(DEMO_ACTOR) }),
  });
  return { stop: () => scheduler.stop() };
};
