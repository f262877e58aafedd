/** Signals: alerts and log lines in, normalised, deduplicated, kept with their raw evidence. */
import { signalEvents } from '../core/signals/events.ts';
import { SIGNAL_PERMISSIONS } from '../core/signals/permissions.ts';
import { signalsStore } from '../store/signals/part.ts';
import { defineCapability } from './capability.ts';

export const signals = defineCapability({
  name: 'signals',
  summary: 'Alerts and log lines from the controls, normalised and deduplicated, each with its raw payload as evidence.',
  permissions: SIGNAL_PERMISSIONS,
  events: signalEvents,
  store: signalsStore,
  server: async () => (await import('../server/parts/signals.ts')).signalsServer,
  jobs: async () => (await import('../cli/jobs/signals.ts')).signalsJobs,
});
