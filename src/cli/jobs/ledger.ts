/** The ledger's job in `bulwark serve`: sign a checkpoint when the log grew (one at start). */
import { startCheckpointJob } from '../../app/ledger/checkpoint-job.ts';
import type { JobsPart } from '../jobs-part.ts';

export const ledgerJobs: JobsPart = async ({ config, deps, options, logger }) => {
  const job = startCheckpointJob(deps, {
    intervalMs: config.checkpoint.intervalSeconds * 1000,
    publishers: options.publishers ?? [],
    onCreated: (c) => logger.info({ size: c.size, keyId: c.keyId }, 'checkpoint signed'),
    onError: (e, during) => logger.warn({ err: e, during }, 'checkpoint job failed'),
  });
  await job.tick();
  return { stop: () => job.stop() };
};
