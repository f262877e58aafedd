import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CreateTokenInput, createToken, listTokens, revokeToken } from '../../app/access/tokens.ts';
import type { AppDeps } from '../../app/deps.ts';
import type { RouteRegistry } from '../route.ts';
import { apiActor } from '../../core/ledger/actor.ts';

const TokenView = z.object({
  id: z.string(),
  name: z.string(),
  principal: z.object({ id: z.string(), kind: z.enum(['person', 'service']) }),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

export const Session = z.object({
  principal: z.object({ id: z.string(), name: z.string(), kind: z.enum(['person', 'service']) }),
  token: z.object({ id: z.string(), name: z.string() }),
  permissions: z.array(z.string()),
});

export function tokenRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/tokens',
    tag: 'access',
    summary: 'List API tokens (never their secrets)',
    auth: { permission: 'tokens:read' },
    priority: 'low',
    response: z.object({ tokens: z.array(TokenView) }),
    handler: async () => ({ tokens: await listTokens(deps) }),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/tokens',
    tag: 'access',
    summary: 'Create an API token; the response holds the token, shown this once',
    auth: { permission: 'tokens:manage' },
    body: CreateTokenInput,
    status: 201,
    response: TokenView.extend({ token: z.string() }),
    handler: async ({ body, principal, req, reply }) => {
      const { token, view } = await createToken(deps, apiActor(principal, req.id), body);
      void reply.header('cache-control', 'no-store');
      return { ...view, token };
    },
  });

  r.add(app, {
    method: 'DELETE',
    url: '/v1/tokens/:id',
    tag: 'access',
    summary: 'Revoke an API token',
    auth: { permission: 'tokens:manage' },
    params: z.strictObject({ id: z.string().regex(/^[a-z0-9]{12}$/, 'a token id is 12 lowercase letters or digits') }),
    response: TokenView,
    errors: [404, 409],
    handler: async ({ params, principal, req }) => revokeToken(deps, apiActor(principal, req.id), params.id),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/session',
    tag: 'access',
    summary: 'Who the presented token stands for, and what it may do',
    auth: { permission: 'session:read' },
    response: Session,
    handler: async ({ principal }) => ({
      principal: { id: principal.id, name: principal.name, kind: principal.kind },
      token: { id: principal.tokenId, name: principal.tokenName },
      permissions: [...principal.scopes],
    }),
  });
}
