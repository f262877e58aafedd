/** SLOs: security objectives over experiment runs, with error budgets, burn-rate alerts and a budget policy. */
import { sloEvents } from '../core/slos/events.ts';
import { SLO_PERMISSIONS } from '../core/slos/permissions.ts';
import { slosStore } from '../store/slos/part.ts';
import { defineCapability } from './capability.ts';

export const slos = defineCapability({
  name: 'slos',
  summary:
    'Security SLOs over experiment runs: error budgets, multiwindow burn-rate alerts, a budget policy, and Sloth-compatible Prometheus rules.',
  permissions: SLO_PERMISSIONS,
  events: sloEvents,
  store: slosStore,
  server: async () => (await import('../server/parts/slos.ts')).slosServer,
  commands: ['slo'],
  cli: async () => (await import('../cli/slos.ts')).sloCommands,
  jobs: async () => (await import('../cli/jobs/slos.ts')).sloJobs,
});
