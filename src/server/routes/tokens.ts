import { AuthenticationAnswer } from '../../core/access/webauthn.ts';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CreateTokenInput, createToken, listTokens, revokeToken } from '../../app/access/tokens.ts';
import type { AppDeps } from '../../app/deps.ts';
import type { RouteRegistry } from '../route.ts';
import { signIn, signOut } from '../../app/access/sessions.ts';
import type { Principal } from '../../core/access/permissions.ts';
import { DEFAULT_SESSION_POLICY, sessionCookie, type SessionPolicy } from '../../core/access/session-format.ts';
import { DomainError } from '../../core/errors.ts';
import { fromThisOrigin } from '../auth.ts';
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
  lastUsedAt: z.string().nullable().describe('when it was last used, to the minute'),
});

export const Session = z.object({
  principal: z.object({ id: z.string(), name: z.string(), kind: z.enum(['person', 'service']) }),
  token: z.object({ id: z.string(), name: z.string() }),
  permissions: z.array(z.string()),
  secondFactorAt: z.string().nullable().optional().describe('when this session last verified its second factor (step-up)'),
});

export function tokenRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps, policy: SessionPolicy = DEFAULT_SESSION_POLICY): void {
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

  const sessionView = (principal: Principal) => ({
    principal: { id: principal.id, name: principal.name, kind: principal.kind },
    token: { id: principal.tokenId, name: principal.tokenName },
    permissions: [...principal.scopes],
    ...(principal.sessionId ? { secondFactorAt: principal.secondFactorAt ?? null } : {}),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/session',
    tag: 'access',
    summary: 'Who the presented token or session stands for, and what it may do',
    auth: { permission: 'session:read' },
    response: Session,
    handler: async ({ principal }) => sessionView(principal),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/session',
    tag: 'access',
    summary:
      'Sign in to the dashboard: present a token once and get a session cookie (HttpOnly, SameSite=Strict, Secure under TLS); the token itself stays out of the browser',
    auth: 'public',
    priority: 'low',
    body: z.strictObject({
      token: z.string().min(1).max(200).describe('an API token, bwk_<id>_<secret>'),
      code: z
        .string()
        .max(40)
        .optional()
        .describe('for a person with a second factor: the current code, or a recovery code (without it: 401 with details.secondFactor)'),
      webauthn: AuthenticationAnswer.optional().describe(
        "for a person with a security key, instead of code: navigator.credentials.get()'s answer to POST /v1/session/webauthn/options",
      ),
    }),
    status: 201,
    response: Session.extend({ expiresAt: z.string().describe('the absolute end; it ends earlier when idle') }),
    errors: [401, 403],
    handler: async ({ body, req, reply }) => {
      // A sign-in from another site's page (login CSRF) is refused; a client without Origin (curl) is not a page.
      if (typeof req.headers.origin === 'string' && !fromThisOrigin(req))
        throw new DomainError('forbidden', 'sign in from the dashboard of this server (the Origin differs)');
      const opened = await signIn(deps, body.token, { policy, request: req.id, code: body.code, webauthn: body.webauthn });
      const maxAgeSeconds = (Date.parse(opened.expiresAt) - deps.clock.now().getTime()) / 1000;
      void reply
        .header('set-cookie', sessionCookie(opened.value, { secure: req.protocol === 'https', maxAgeSeconds }))
        .header('cache-control', 'no-store');
      return { ...sessionView(opened.principal), expiresAt: opened.expiresAt };
    },
  });

  r.add(app, {
    method: 'DELETE',
    url: '/v1/session',
    tag: 'access',
    summary: 'Sign out: the session ends at once and its cookie is cleared (with a token, nothing to end)',
    auth: { permission: 'session:read' },
    response: z.object({ ended: z.boolean().describe('whether a session was ended') }),
    handler: async ({ principal, req, reply }) => {
      const ended = await signOut(deps, principal, req.id);
      void reply.header('set-cookie', sessionCookie('', { secure: req.protocol === 'https', maxAgeSeconds: 0 }));
      return { ended };
    },
  });
}
