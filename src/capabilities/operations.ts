/** Operations: health, readiness, metrics, the API's own description, backup and restore. */
import { OPERATIONS_PERMISSIONS } from '../core/operations/permissions.ts';
import { defineCapability } from './capability.ts';

export const operations = defineCapability({
  name: 'operations',
  summary: 'Health and readiness checks, Prometheus metrics, the OpenAPI document, backup and restore.',
  permissions: OPERATIONS_PERMISSIONS,
  events: [],
  server: async () => (await import('../server/parts/operations.ts')).operationsServer,
  commands: ['backup', 'restore'],
  cli: async () => (await import('../cli/backup.ts')).backupCommands,
});
