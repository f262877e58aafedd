/**
 * Authentication and authorization in one hook, for every route. Only routes declared `public`
 * (health, signing in, the dashboard's static files) pass without a token or a session; a route
 * that declares nothing is denied. A request authenticates with `Authorization: Bearer <token>`
 * or, from the dashboard, with its session cookie (app/access/sessions.ts). The access model plugs in here: it decides what `can()` answers.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { can, type Principal } from '../core/access/permissions.ts';
import { SESSION_COOKIE, cookieValue } from '../core/access/session-format.ts';
import { DomainError } from '../core/errors.ts';
import { authenticateSession } from '../app/access/sessions.ts';
import { authenticate } from '../app/access/tokens.ts';
import type { AppDeps } from '../app/deps.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether a request comes from a page of this server: its Origin (sent by browsers on every
 * request that is not a plain GET) names this host, or the browser says same-origin. A request
 * with neither is refused when it rides on a cookie: SameSite=Strict already keeps the cookie off
 * cross-site requests, and this holds even where a browser does not.
 */
export function fromThisOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (typeof origin === 'string') return origin === `${req.protocol}://${req.headers.host ?? ''}`;
  return req.headers['sec-fetch-site'] === 'same-origin';
}

async function principalOf(req: FastifyRequest, deps: AppDeps): Promise<Principal> {
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer ([\x21-\x7e]+)$/.exec(header);
    if (!m) throw new DomainError('unauthenticated', 'the Authorization header must be "Bearer <token>"');
    const r = await authenticate(deps, m[1]!);
    if (!r.ok) throw new DomainError('unauthenticated', `${r.reason}; create a token with "bulwark tokens create"`);
    return r.principal;
  }
  const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
  if (cookie === undefined)
    throw new DomainError(
      'unauthenticated',
      'authentication required: send the header "Authorization: Bearer <token>", or sign in to the dashboard',
    );
  const r = await authenticateSession(deps, cookie);
  if (!r.ok) throw new DomainError('unauthenticated', r.reason);
  if (!SAFE_METHODS.has(req.method) && !fromThisOrigin(req))
    throw new DomainError('forbidden', 'a request that changes something with a session cookie must come from the dashboard (same Origin)');
  return r.principal;
}

export function registerAuth(app: FastifyInstance, deps: AppDeps): void {
  app.addHook('onRequest', async (req) => {
    const auth = req.routeOptions.config?.auth;
    // Unknown paths go to the not-found handler, which holds no data (404 JSON or the SPA shell).
    if (auth === 'public' || req.is404) return;
    const principal = await principalOf(req, deps);
    req.principal = principal;
    if (!auth) throw new DomainError('forbidden', 'this route declares no permission, so it is denied');
    if (!can(principal, auth.permission)) {
      throw new DomainError('forbidden', `token "${principal.tokenName}" lacks the permission ${auth.permission}`, {
        permission: auth.permission,
      });
    }
  });
}
