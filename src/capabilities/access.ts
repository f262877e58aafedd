/** Access: principals and roles, API tokens, sessions, second factors, approvals, breakglass, sealed secrets. */
import { ACCESS_PERMISSIONS } from '../core/access/permissions.ts';
import { accessEvents } from '../core/access/events.ts';
import { webauthnEvents } from '../core/access/webauthn-events.ts';
import { oidcEvents } from '../core/access/oidc-events.ts';
import { accessStore } from '../store/access/part.ts';
import { defineCapability } from './capability.ts';

export const access = defineCapability({
  name: 'access',
  summary: 'People and service accounts with roles, API tokens that act within them, and dashboard sessions.',
  permissions: ACCESS_PERMISSIONS,
  events: [...accessEvents, ...webauthnEvents, ...oidcEvents],
  store: accessStore,
  server: async () => (await import('../server/parts/access.ts')).accessServer,
  commands: ['principals', 'tokens', 'approvals', 'secrets', 'roles'],
  cli: async () => (await import('../cli/access-part.ts')).accessCommands,
});
