/** Experiments: attack techniques injected against a control, judged blocked/detected with time to detect. */
import { experimentEvents } from '../core/experiments/events.ts';
import { EXPERIMENT_PERMISSIONS } from '../core/experiments/permissions.ts';
import { experimentsStore } from '../store/experiments/part.ts';
import { defineCapability } from './capability.ts';

export const experiments = defineCapability({
  name: 'experiments',
  summary: 'Security experiments: inject attack techniques against a control and record whether it blocked or detected them, and how fast.',
  permissions: EXPERIMENT_PERMISSIONS,
  // Asked by handlers for files with process or file providers (apply, run), on top of the route's.
  reservedPermissions: ['experiments:privileged'],
  events: experimentEvents,
  store: experimentsStore,
  server: async () => (await import('../server/parts/experiments.ts')).experimentsServer,
  commands: ['experiments', 'runs', 'run', 'techniques'],
  cli: async () => (await import('../cli/experiments-part.ts')).experimentsCommands,
  jobs: async () => (await import('../cli/jobs/experiments.ts')).experimentsJobs,
});
