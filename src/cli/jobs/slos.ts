/** SLOs' job in `bulwark serve`: evaluate every budget policy each minute and record changes of state in the ledger. */
import { evaluatePolicies } from '../../app/slos/policy-job.ts';
import type { JobsPart } from '../jobs-part.ts';

export const SLO_POLICY_INTERVAL_MS = 60_000;

export const sloJobs: JobsPart = async ({ deps, logger }) => {
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= evaluatePolicies(deps)
      .then((changes) => {
        for (const c of changes) logger.info({ slo: c.name, from: c.from, to: c.to, why: c.why }, 'SLO budget policy changed');
      })
      .catch((e: unknown) => logger.warn({ err: e }, 'SLO policy evaluation failed'))
      .finally(() => {
        running = undefined;
      });
  };
  tick();
  const timer = setInterval(tick, SLO_POLICY_INTERVAL_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
};
