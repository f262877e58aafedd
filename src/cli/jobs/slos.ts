/**
 * SLOs' job in `bulwark serve`: evaluate every SLO each minute; record changes of budget policy
 * state in the ledger, and announce burn-rate alerts that start or stop firing, and KRIs that
 * change colour, as signals.
 */
import { evaluatePolicies } from '../../app/slos/policy-job.ts';
import type { JobsPart } from '../jobs-part.ts';

export const SLO_POLICY_INTERVAL_MS = 60_000;

export const sloJobs: JobsPart = async ({ deps, server, logger }) => {
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= evaluatePolicies(deps, {
      ingest: server.signals,
      onAlert: (a) =>
        logger.warn(
          { slo: a.slo, severity: a.severity, signal: a.signalId },
          a.firing ? 'SLO burn-rate alert firing' : 'SLO burn-rate alert resolved',
        ),
      onKri: (k) => logger.info({ kri: k.kri, from: k.from, to: k.to, signal: k.signalId }, 'KRI changed colour'),
    })
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
