/** Playbooks: response steps that run as a manual checklist, assisted or automatically, with durable runs and the toil they save. */
import { playbookEvents } from '../core/playbooks/events.ts';
import { PLAYBOOK_PERMISSIONS } from '../core/playbooks/permissions.ts';
import { playbooksStore } from '../store/playbooks/part.ts';
import { defineCapability } from './capability.ts';

export const playbooks = defineCapability({
  name: 'playbooks',
  summary:
    'Playbooks: one step format that runs as a manual checklist, assisted or automatically; durable runs triggered by signals; toil counted and steps done by hand promoted to automation with a second person’s approval.',
  permissions: PLAYBOOK_PERMISSIONS,
  events: playbookEvents,
  store: playbooksStore,
  server: async () => (await import('../server/parts/playbooks.ts')).playbooksServer,
  commands: ['playbooks'],
  cli: async () => (await import('../cli/playbooks.ts')).playbookCommands,
  jobs: async () => (await import('../cli/jobs/playbooks.ts')).playbookJobs,
});
