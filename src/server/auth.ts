/**
 * Authentication and authorization in one hook, for every route. Only routes declared `public`
 * (health, signing in, the dashboard's static files) pass without a token or a session; a route
 * that declares nothing is denied. A request authenticates with `Authorization: Bearer <token>`
 * or, from the dashboard, with its session cookie (app/access/sessions.ts). The access model plugs in here: it decides what `can()` answers.
 *
 * Then two more checks, both from the route's one declaration: a sensitive permission (or
 * `stepUp: true` beside the permission) needs a fresh second factor (core/access/step-up.ts),
 * given by a stepped-up session or by the header `X-Bulwark-Second-Factor: <code>` on the request;
 * and every client is held to a rate limit (per token, or per address when not authenticated),
 * answered with 429 and Retry-After.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { can, type Principal } from '../core/access/permissions.ts';
import { DEFAULT_ADDRESS_RATE_LIMIT, DEFAULT_TOKEN_RATE_LIMIT, RateLimiter, type RateLimit } from '../core/access/rate-limit.ts';
import { SESSION_COOKIE, cookieValue } from '../core/access/session-format.ts';
import { DEFAULT_STEP_UP_POLICY, isStepUpPermission, stepUpDecision, stepUpMessage, type StepUpPolicy } from '../core/access/step-up.ts';
import { DomainError } from '../core/errors.ts';
import { apiActor } from '../core/ledger/actor.ts';
import { hasSecondFactor, verifySecondFactor } from '../app/access/second-factor.ts';
import { authenticateSession } from '../app/access/sessions.ts';
import { authenticate } from '../app/access/tokens.ts';
import type { AppDeps } from '../app/deps.ts';
import { requireConditional } from './access-conditions.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The header a token caller sends its second factor in, for one sensitive request. */
export const SECOND_FACTOR_HEADER = 'x-bulwark-second-factor';

/** Access settings of one server (`bulwark serve` options; tests pass their own). */
export interface AccessSettings {
  stepUp: StepUpPolicy;
  rateLimit: { token: RateLimit; address: RateLimit };
}

export const DEFAULT_ACCESS_SETTINGS: AccessSettings = {
  stepUp: DEFAULT_STEP_UP_POLICY,
  rateLimit: { token: DEFAULT_TOKEN_RATE_LIMIT, address: DEFAULT_ADDRESS_RATE_LIMIT },
};

interface AccessState {
  settings: AccessSettings;
  tokens: RateLimiter;
  addresses: RateLimiter;
}

const states = new WeakMap<FastifyInstance, AccessState>();

/** Set this server's access settings (the access part does, from the server's options). */
export function configureAccess(app: FastifyInstance, settings: Partial<AccessSettings>): void {
  const s: AccessSettings = {
    stepUp: { ...DEFAULT_ACCESS_SETTINGS.stepUp, ...settings.stepUp },
    rateLimit: { ...DEFAULT_ACCESS_SETTINGS.rateLimit, ...settings.rateLimit },
  };
  states.set(app, { settings: s, tokens: new RateLimiter(s.rateLimit.token), addresses: new RateLimiter(s.rateLimit.address) });
}

function stateOf(app: FastifyInstance): AccessState {
  let s = states.get(app);
  if (!s) {
    configureAccess(app, {});
    s = states.get(app)!;
  }
  return s;
}

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

/**
 * A sensitive action: a person with a second factor must have verified it recently (a stepped-up
 * session), or send a current code with this request. A code sent here is verified (and its step
 * used up) whether or not the session was fresh, so that a wrong code is never silently ignored.
 */
async function requireStepUp(req: FastifyRequest, deps: AppDeps, principal: Principal, policy: StepUpPolicy): Promise<void> {
  if (principal.kind !== 'person') return;
  const enrolled = await hasSecondFactor(deps, principal.id);
  const header = req.headers[SECOND_FACTOR_HEADER];
  // Only security keys, and a token request (no dashboard session): the header takes a code, which
  // this person has none of, and a key needs a browser. Say exactly what to do instead.
  const keysOnly = async () => enrolled && !principal.sessionId && !(await deps.store.secondFactors.get(principal.id))?.confirmedAt;
  const keysOnlyMessage = () =>
    `this action needs a second factor verified within the last ${policy.maxAgeMinutes} minutes, and ${principal.id}'s only second factor is a security key, which a token request cannot carry: do it from the dashboard (step up with the key there), or enroll a TOTP (POST /v1/second-factor/enroll) to send "${SECOND_FACTOR_HEADER}: <code>" with token requests`;
  if (enrolled && typeof header === 'string') {
    if (await keysOnly()) throw new DomainError('forbidden', keysOnlyMessage(), { reason: 'step_up_failed', methods: ['webauthn'] });
    const r = await verifySecondFactor(deps, principal.id, apiActor(principal, req.id), header, { purpose: 'request' });
    if (!r.ok) throw new DomainError('forbidden', `${r.reason} (${SECOND_FACTOR_HEADER})`, { reason: 'step_up_failed' });
    const at = deps.clock.now().toISOString();
    principal.secondFactorAt = at;
    if (principal.sessionId) await deps.store.sessions.markSecondFactor(principal.sessionId, at);
    return;
  }
  const d = stepUpDecision(
    { kind: principal.kind, enrolled, secondFactorAt: principal.secondFactorAt },
    deps.clock.now().getTime(),
    policy,
  );
  if (!d.ok && d.reason !== 'enroll' && (await keysOnly()))
    throw new DomainError('forbidden', keysOnlyMessage(), {
      reason: 'step_up_required',
      maxAgeMinutes: policy.maxAgeMinutes,
      methods: ['webauthn'],
      stepUp: '/v1/session/step-up/webauthn/options',
    });
  if (!d.ok)
    throw new DomainError('forbidden', stepUpMessage(d.reason, policy), {
      reason: d.reason === 'enroll' ? 'second_factor_required' : 'step_up_required',
      maxAgeMinutes: policy.maxAgeMinutes,
      header: 'X-Bulwark-Second-Factor',
      stepUp: '/v1/session/step-up',
    });
}

function tooMany(reply: FastifyReply, retryAfterSeconds: number, who: string): FastifyReply {
  return reply
    .code(429)
    .header('retry-after', String(retryAfterSeconds))
    .send({ error: 'rate_limited', message: `too many requests from ${who}; retry after ${retryAfterSeconds} s (Retry-After)` });
}

export function registerAuth(app: FastifyInstance, deps: AppDeps): void {
  app.addHook('onRequest', async (req, reply) => {
    const auth = req.routeOptions.config?.auth;
    // Unknown paths go to the not-found handler, which holds no data (404 JSON or the SPA shell).
    if (req.is404) return;
    const state = stateOf(app);
    // Decided on the matched route, not the raw URL: the router decodes the path, so `/%761/...`
    // reaches a /v1 route and must be limited like it.
    const limited = (req.routeOptions.url ?? '').startsWith('/v1/');
    const nowMs = deps.clock.now().getTime();
    if (auth === 'public') {
      // Signing in and other public API routes are held per address (failed sign-ins among them).
      const t = limited ? state.addresses.take(`ip:${req.ip}`, nowMs) : ({ ok: true } as const);
      if (!t.ok) return tooMany(reply, t.retryAfterSeconds, 'this address');
      return;
    }
    let principal: Principal;
    try {
      principal = await principalOf(req, deps);
    } catch (e) {
      // A credential that fails counts against the address: guessing tokens is throttled.
      if (req.headers.authorization !== undefined || req.headers.cookie !== undefined) {
        const t = state.addresses.take(`ip:${req.ip}`, nowMs);
        if (!t.ok) return tooMany(reply, t.retryAfterSeconds, 'this address');
      }
      throw e;
    }
    req.principal = principal;
    if (limited) {
      const t = state.tokens.take(`token:${principal.tokenId}`, nowMs);
      if (!t.ok) return tooMany(reply, t.retryAfterSeconds, `token "${principal.tokenName}"`);
    }
    if (!auth) throw new DomainError('forbidden', 'this route declares no permission, so it is denied');
    // Not granted by the scopes: a custom role with a condition may grant it on this route's resource.
    if (!can(principal, auth.permission)) await requireConditional(app, req, deps, principal, auth.permission);
    if (auth.stepUp === true || isStepUpPermission(auth.permission)) await requireStepUp(req, deps, principal, state.settings.stepUp);
  });
}
