/**
 * Authentication and authorization in one hook, for every route. Only routes declared `public`
 * (health, the dashboard's static files) pass without a token; a route that declares nothing is
 * denied. The access model plugs in here: it decides what `can()` answers.
 */
import type { FastifyInstance } from 'fastify';
import { can } from '../core/access/permissions.ts';
import { DomainError } from '../core/errors.ts';
import { authenticate } from '../app/access/tokens.ts';
import type { AppDeps } from '../app/deps.ts';

export function registerAuth(app: FastifyInstance, deps: AppDeps): void {
  app.addHook('onRequest', async (req) => {
    const auth = req.routeOptions.config?.auth;
    // Unknown paths go to the not-found handler, which holds no data (404 JSON or the SPA shell).
    if (auth === 'public' || req.is404) return;
    const header = req.headers.authorization;
    if (!header) throw new DomainError('unauthenticated', 'authentication required: send the header "Authorization: Bearer <token>"');
    const m = /^Bearer ([\x21-\x7e]+)$/.exec(header);
    if (!m) throw new DomainError('unauthenticated', 'the Authorization header must be "Bearer <token>"');
    const r = await authenticate(deps, m[1]!);
    if (!r.ok) throw new DomainError('unauthenticated', `${r.reason}; create a token with "bulwark tokens create"`);
    req.principal = r.principal;
    if (!auth) throw new DomainError('forbidden', 'this route declares no permission, so it is denied');
    if (!can(r.principal, auth.permission)) {
      throw new DomainError('forbidden', `token "${r.principal.tokenName}" lacks the permission ${auth.permission}`, {
        permission: auth.permission,
      });
    }
  });
}
