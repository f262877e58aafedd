/**
 * OIDC sign-in (/v1/oidc/…): start sends the browser to the provider with a state bound to this
 * browser by a cookie (SameSite=Lax: it must come back with the provider's redirect); the
 * callback verifies and opens the session (the usual cookie) or, for a person with a second
 * factor, leaves a pending sign-in (a SameSite=Strict cookie, five minutes, one try) that
 * POST /v1/oidc/complete finishes with a code or a security key. Without `access.oidc` every
 * route here answers 409 saying what to set.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  completeOidc,
  finishOidc,
  OidcRefusal,
  oidcConfigured,
  openOidcSession,
  pendingPrincipal,
  startOidc,
  checkOidcSettings,
} from '../../app/access/oidc.ts';
import { authenticationOptions } from '../../app/access/webauthn.ts';
import type { OpenedSession } from '../../app/access/sessions.ts';
import type { AppDeps } from '../../app/deps.ts';
import type { OidcSettings } from '../../core/access/oidc.ts';
import { cookieValue, DEFAULT_SESSION_POLICY, sessionCookie } from '../../core/access/session-format.ts';
import { AuthenticationAnswer } from '../../core/access/webauthn.ts';
import { DomainError } from '../../core/errors.ts';
import { fromThisOrigin } from '../auth.ts';
import type { RouteRegistry } from '../route.ts';
import { RequestOptions } from './access-webauthn.ts';
import { Session } from './tokens.ts';

declare module '../server-part.ts' {
  interface ServerOptions {
    /** OIDC sign-in: the provider (issuer, client, redirect) and how people are matched. Without it, OIDC sign-in is off. */
    oidc?: OidcSettings;
  }
}

const STATE_COOKIE = 'bulwark_oidc_state';
const PENDING_COOKIE = 'bulwark_oidc_pending';

function cookie(name: string, value: string, opts: { secure: boolean; maxAgeSeconds: number; sameSite: 'Lax' | 'Strict' }): string {
  return [
    `${name}=${value}`,
    'Path=/v1/oidc',
    'HttpOnly',
    `SameSite=${opts.sameSite}`,
    `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`,
    ...(opts.secure ? ['Secure'] : []),
  ].join('; ');
}

const sessionAnswer = (deps: AppDeps, req: FastifyRequest, reply: FastifyReply, opened: OpenedSession) => {
  const maxAgeSeconds = (Date.parse(opened.expiresAt) - deps.clock.now().getTime()) / 1000;
  void reply
    .header('set-cookie', [
      sessionCookie(opened.value, { secure: req.protocol === 'https', maxAgeSeconds }),
      cookie(PENDING_COOKIE, '', { secure: req.protocol === 'https', maxAgeSeconds: 0, sameSite: 'Strict' }),
    ])
    .header('cache-control', 'no-store');
};

export function oidcRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  const policy = DEFAULT_SESSION_POLICY;
  // The roles given to people OIDC creates must exist: the server does not start otherwise.
  app.addHook('onReady', () => checkOidcSettings(deps));

  r.add(app, {
    method: 'GET',
    url: '/v1/oidc',
    tag: 'access',
    summary: 'Whether this server offers OIDC sign-in (the sign-in page shows its button then)',
    auth: 'public',
    priority: 'low',
    response: z.object({ configured: z.boolean() }),
    handler: async () => ({ configured: deps.oidc !== undefined }),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/oidc/start',
    tag: 'access',
    summary: 'Sign in through the OIDC provider: a redirect (303) to it, with a state, a nonce and a PKCE challenge for this browser',
    auth: 'public',
    priority: 'low',
    produces: 'text/plain',
    status: 303,
    errors: [401, 409],
    handler: async ({ req, reply }) => {
      const { url, state } = await startOidc(deps);
      return reply
        .header('set-cookie', cookie(STATE_COOKIE, state, { secure: req.protocol === 'https', maxAgeSeconds: 600, sameSite: 'Lax' }))
        .header('cache-control', 'no-store')
        .redirect(url, 303);
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/oidc/callback',
    tag: 'access',
    summary:
      'Where the provider sends the browser back: the code is exchanged and the ID token verified; a redirect (303) to the dashboard, signed in, or asked for the second factor (?oidc=second-factor); 401 naming what was refused',
    auth: 'public',
    priority: 'low',
    query: z.object({
      code: z.string().max(4000).optional(),
      state: z.string().max(200).optional(),
      error: z.string().max(200).optional(),
      error_description: z.string().max(2000).optional(),
    }),
    produces: 'text/plain',
    status: 303,
    errors: [400, 401, 409],
    handler: async ({ query, req, reply }) => {
      oidcConfigured(deps);
      if (query.error !== undefined || query.code === undefined || query.state === undefined)
        throw new OidcRefusal(
          'provider',
          query.error !== undefined
            ? `the provider answered ${query.error}${query.error_description ? `: ${query.error_description}` : ''}`
            : 'the provider sent no code and state',
        );
      const who = await finishOidc(deps, {
        code: query.code,
        state: query.state,
        browserState: cookieValue(req.headers.cookie, STATE_COOKIE),
        request: req.id,
      });
      const opened = await openOidcSession(deps, who, { policy, request: req.id });
      const secure = req.protocol === 'https';
      const clearState = cookie(STATE_COOKIE, '', { secure, maxAgeSeconds: 0, sameSite: 'Lax' });
      if ('pending' in opened) {
        void reply.header('set-cookie', [
          clearState,
          cookie(PENDING_COOKIE, opened.pending, { secure, maxAgeSeconds: 300, sameSite: 'Strict' }),
        ]);
        return reply.header('cache-control', 'no-store').redirect('/?oidc=second-factor', 303);
      }
      sessionAnswer(deps, req, reply, opened.session);
      return reply.redirect('/', 303);
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/oidc/webauthn/options',
    tag: 'access',
    summary: 'A pending OIDC sign-in, with a security key: the options for navigator.credentials.get()',
    auth: 'public',
    priority: 'low',
    body: z.strictObject({}).optional().describe('nothing, or an empty object'),
    response: RequestOptions,
    errors: [401, 409],
    handler: async ({ req, reply }) => {
      const principalId = await pendingPrincipal(deps, cookieValue(req.headers.cookie, PENDING_COOKIE));
      void reply.header('cache-control', 'no-store');
      return (await authenticationOptions(deps, deps.webauthn, principalId, 'sign-in')) as z.output<typeof RequestOptions>;
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/oidc/complete',
    tag: 'access',
    summary: 'Finish a pending OIDC sign-in with the second factor (a code, or a security key’s answer): the session cookie',
    auth: 'public',
    priority: 'low',
    body: z.strictObject({
      code: z.string().max(40).optional().describe('the current code from the authenticator app, or a recovery code'),
      webauthn: AuthenticationAnswer.optional().describe("navigator.credentials.get()'s answer to POST /v1/oidc/webauthn/options"),
    }),
    status: 201,
    response: Session.extend({ expiresAt: z.string() }),
    errors: [400, 401, 403, 409],
    handler: async ({ body, req, reply }) => {
      if (typeof req.headers.origin === 'string' && !fromThisOrigin(req))
        throw new DomainError('forbidden', 'finish signing in from the dashboard of this server (the Origin differs)');
      if (body.code === undefined && body.webauthn === undefined) throw new DomainError('invalid', 'send "code" or "webauthn"');
      const opened = await completeOidc(deps, cookieValue(req.headers.cookie, PENDING_COOKIE), body, { policy, request: req.id });
      sessionAnswer(deps, req, reply, opened);
      const p = opened.principal;
      return {
        principal: { id: p.id, name: p.name, kind: p.kind },
        token: { id: p.tokenId, name: p.tokenName },
        permissions: [...p.scopes],
        secondFactorAt: p.secondFactorAt ?? null,
        expiresAt: opened.expiresAt,
      };
    },
  });
}
