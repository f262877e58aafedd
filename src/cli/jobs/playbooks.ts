/**
 * Playbooks' job in `bulwark serve`: drives the engine (a tick every second, and at once when a
 * person, a start or a signal made work), starts runs from signals whose playbook trigger
 * matches, and resumes steps that wait for a signal it matches. Every replica runs it; leases share the runs among them.
 */
import { triggerFromSignal, triggerSchedules } from '../../app/playbooks/triggers.ts';
import { SignalWaitQueue } from '../../app/playbooks/signal-waits.ts';
import type { JobsPart } from '../jobs-part.ts';

export const PLAYBOOK_TICK_MS = 1000;

export const playbookJobs: JobsPart = async ({ deps, server, logger }) => {
  const { engine } = server.playbooks;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = engine
      .tick()
      .then(() => undefined)
      .catch((e: unknown) => logger.warn({ err: e }, 'playbook engine tick failed'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          tick();
        }
      });
  };
  server.playbooks.onKick(tick);
  // One pass over the waits at a time; the signals that came meanwhile are matched together in the next.
  const waits = new SignalWaitQueue(
    deps,
    (r) => {
      for (const s of r.resumed) logger.info({ run: s.run, step: s.step, signal: s.signal }, 'a signal resumed a waiting playbook step');
      for (const x of r.errors)
        logger.warn({ run: x.run, step: x.step, signal: x.signal, reason: x.message }, 'a waiting step could not match a signal');
      if (r.resumed.length > 0) tick();
    },
    (e) => logger.warn({ err: e }, 'playbook signal waits failed'),
    {},
    // A flood past the queue's bound: counted and logged (the first, then every 1,000th), and the
    // waits catch up from the stored signals once the queue is drained.
    (e) => {
      if ('overflowed' in e) {
        if (e.overflowed === 1 || e.overflowed % 1000 === 0)
          logger.warn({ overflowed: e.overflowed }, 'playbook signal queue full; the waits will catch up from stored signals');
      } else {
        logger.info({ resumed: e.caughtUp }, 'playbook waits caught up on signals the queue could not hold');
        if (e.caughtUp > 0) tick();
      }
    },
  );
  const off = server.signals.bus.on('signal', (signal) => {
    triggerFromSignal(deps, signal)
      .then((r) => {
        for (const s of r.started) logger.info({ playbook: s.playbook, run: s.run, signal: signal.id }, 'playbook started by a signal');
        for (const x of r.refused)
          logger.warn({ playbook: x.playbook, signal: signal.id, reason: x.reason }, 'playbook trigger matched but the run was refused');
        if (r.started.length > 0) tick();
      })
      .catch((e: unknown) => logger.warn({ err: e }, 'playbook trigger failed'));
    waits.push(signal);
  });
  // Scheduled playbooks: looked at once in each minute (the minute is the run's key, so a second
  // look, or another replica's, starts nothing more).
  let lastMinute = -1;
  const schedules = (): void => {
    const now = deps.clock.now();
    const minute = Math.floor(now.getTime() / 60_000);
    if (minute === lastMinute) return;
    lastMinute = minute;
    triggerSchedules(deps, now)
      .then((r) => {
        for (const s of r.started) logger.info({ playbook: s.playbook, run: s.run }, 'playbook started by its schedule');
        for (const x of r.refused) logger.warn({ playbook: x.playbook, reason: x.reason }, 'scheduled playbook run refused');
        if (r.started.length > 0) tick();
      })
      .catch((e: unknown) => logger.warn({ err: e }, 'playbook schedules failed'));
  };
  tick();
  const timer = setInterval(() => {
    schedules();
    tick();
  }, PLAYBOOK_TICK_MS);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      off();
      clearInterval(timer);
      await waits.stop();
      await running;
    },
  };
};
