/**
 * Incidents' job in `bulwark serve`: triage reads new signals and finished runs from the ledger
 * every few seconds, and soon after a new signal arrives (the signal bus), opening and grouping
 * cases. Its read position is in the database, so a restart continues where it stopped. It also
 * gives tabletop exercises' injects when due and sends the notification outbox every few seconds (webhooks' keys from this process's environment).
 */
import { advanceExercises } from '../../app/incidents/exercises.ts';
import { deliverNotifications } from '../../app/incidents/notify.ts';
import { triageOnce } from '../../app/incidents/triage.ts';
import { fetchTransport } from '../../app/playbooks/transport.ts';
import type { JobsPart } from '../jobs-part.ts';

export const TRIAGE_INTERVAL_MS = 5_000;
/** How often the notification outbox is looked at (what is due is sent; failures wait their backoff). */
export const NOTIFY_INTERVAL_MS = 5_000;

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
  let sending: Promise<void> | undefined;
  const send = (): void => {
    if (sending) return;
    sending = advanceExercises(deps)
      .then(() => deliverNotifications(deps, { transport: fetchTransport, env: process.env }))
      .then((r) => {
        for (const id of r.failed) logger.warn({ notification: id }, 'incident notification given up');
      })
      .catch((e: unknown) => logger.warn({ err: e }, 'incident notifications failed'))
      .finally(() => {
        sending = undefined;
      });
  };
  send();
  const notifyTimer = setInterval(send, NOTIFY_INTERVAL_MS);
  notifyTimer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      clearInterval(notifyTimer);
      await sending;
      unsubscribe?.();
      again = false;
      await running;
    },
  };
};
