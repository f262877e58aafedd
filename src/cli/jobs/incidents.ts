/**
 * Incidents' job in `bulwark serve`: triage reads new signals and finished runs from the ledger
 * every few seconds, and soon after a new signal arrives (the signal bus), opening and grouping
 * cases. Its read position is in the database, so a restart continues where it stopped.
 */
import { triageOnce } from '../../app/incidents/triage.ts';
import type { JobsPart } from '../jobs-part.ts';

export const TRIAGE_INTERVAL_MS = 5_000;

export const incidentJobs: JobsPart = async ({ deps, server, logger }) => {
  let running: Promise<void> | undefined;
  let again = false;
  const tick = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = triageOnce(deps)
      .then((r) => {
        for (const id of r.opened) logger.info({ case: id }, 'case opened by triage');
      })
      .catch((e: unknown) => logger.warn({ err: e }, 'triage failed'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          tick();
        }
      });
  };
  const unsubscribe = server.signals?.bus.on('signal', () => tick());
  tick();
  const timer = setInterval(tick, TRIAGE_INTERVAL_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      unsubscribe?.();
      again = false;
      await running;
    },
  };
};
