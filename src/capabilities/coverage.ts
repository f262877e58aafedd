/** Coverage: the ATT&CK map of what the runs showed blocked, alerted or missed, going stale when not repeated. */
import { coverageEvents } from '../core/coverage/events.ts';
import { COVERAGE_PERMISSIONS } from '../core/coverage/permissions.ts';
import { coverageStore } from '../store/coverage/part.ts';
import { defineCapability } from './capability.ts';

export const coverage = defineCapability({
  name: 'coverage',
  summary: 'An ATT&CK coverage map backed by the runs: which techniques are blocked, alerted or missed, and which evidence has gone stale.',
  permissions: COVERAGE_PERMISSIONS,
  events: coverageEvents,
  store: coverageStore,
  server: async () => (await import('../server/parts/coverage.ts')).coverageServer,
  commands: ['coverage'],
  cli: async () => (await import('../cli/coverage.ts')).coverageCommands,
});
