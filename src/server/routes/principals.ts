/** /v1/principals: people and service accounts, their groups and roles. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CreatePrincipalInput, createPrincipal, disablePrincipal, listPrincipals } from '../../app/access/principals.ts';
import type { AppDeps } from '../../app/deps.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import type { RouteRegistry } from '../route.ts';

const PrincipalView = z.object({
  id: z.string(),
  kind: z.enum(['person', 'service']),
  name: z.string(),
  groups: z.array(z.string()),
  roles: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string(),
  disabledAt: z.string().nullable(),
});

export function principalRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/principals',
    tag: 'access',
    summary: 'List people and service accounts with their groups and roles',
    auth: { permission: 'principals:read' },
    priority: 'low',
    response: z.object({ principals: z.array(PrincipalView) }),
    handler: async () => ({ principals: await listPrincipals(deps) }),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/principals',
    tag: 'access',
    summary: 'Create a person or service account with groups and roles (its tokens act within the roles)',
    auth: { permission: 'principals:manage' },
    body: CreatePrincipalInput,
    status: 201,
    response: PrincipalView,
    errors: [403, 409],
    handler: async ({ body, principal, req }) => createPrincipal(deps, apiActor(principal, req.id), body, principal),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/principals/:id/disable',
    tag: 'access',
    summary: 'Disable a principal: its tokens are revoked at once, and with them its sessions',
    auth: { permission: 'principals:manage' },
    params: z.strictObject({
      id: z.string().regex(/^(person|service):[a-z0-9][a-z0-9._@-]{0,62}$/, 'a principal id is person:NAME or service:NAME'),
    }),
    body: z.strictObject({}).optional().describe('nothing, or an empty object'),
    response: PrincipalView.extend({ revokedTokens: z.array(z.string()) }),
    errors: [404, 409],
    handler: async ({ params, principal, req }) => disablePrincipal(deps, apiActor(principal, req.id), params.id),
  });
}
