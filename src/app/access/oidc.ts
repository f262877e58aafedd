/**
 * OIDC sign-in: the authorization-code flow with PKCE (S256), state and nonce, against one
 * configured provider. The provider's discovery document, its token endpoint and its JWKS are
 * reached through the pinned request (app/net/pinned-request.ts: the address checked is the one
 * connected to; no metadata address; bounded time and size), only on the issuer's host or an
 * allowed one. The ID token is verified with jose: signature by a key of the JWKS, issuer,
 * audience (and azp when several), expiry (60 s of skew), and the nonce of this sign-in.
 *
 * The person is the principal `person:<claim value>` (the configured claim, `email` by
 * default); an unknown one is refused unless the configuration says to create people. The
 * session is then opened as any other (app/access/sessions.ts) with a token minted for this
 * sign-in and never shown (`oidc sign-in`, ending with the session's absolute limit), so that the
 * second factor applies as it does to a token: a person with one gives it to finish signing in.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { DomainError } from '../../core/errors.ts';
import {
  OIDC_CALLBACK_PATH,
  OIDC_CLOCK_TOLERANCE_S,
  OIDC_MAX_PENDING_STATES,
  OIDC_PENDING_TTL_MS,
  OIDC_STATE_TTL_MS,
  endpointAllowed,
  principalFromClaim,
  signingAlgorithms,
  type OidcFailure,
  type OidcSettings,
} from '../../core/access/oidc.ts';
import type { AuthenticationAnswer } from '../../core/access/webauthn.ts';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from '../../core/access/session-format.ts';
import type { Actor } from '../../core/ledger/actor.ts';
import type { PrincipalRecord } from '../../store/access/port.ts';
import type { OidcLinkRecord } from '../../store/access/webauthn-port.ts';
import { pinnedRequest, type PinnedAnswer, type PinnedRequest } from '../net/pinned-request.ts';
import type { AppDeps } from '../deps.ts';
import { signIn, type OpenedSession } from './sessions.ts';
import { createToken } from './tokens.ts';
import { hasSecondFactor } from './second-factor.ts';
import { checkRoleNames } from './custom-roles.ts';

declare module '../deps.ts' {
  interface AppDeps {
    /** OIDC sign-in's provider (the server's `oidc` option); absent: OIDC sign-in is off. */
    oidc?: OidcSettings;
    /** The request OIDC's calls go through (tests may pass their own; default the pinned request). */
    oidcRequest?: (url: string, opts: PinnedRequest) => Promise<PinnedAnswer>;
  }
}

const REQUEST = { timeoutMs: 5_000, maxBytes: 256 * 1024 };
/** How long the discovery document and the JWKS are kept before they are fetched again. */
const CACHE_MS = 10 * 60_000;
const b64url = (b: Buffer): string => b.toString('base64url');

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

interface Provider {
  at: number;
  discovery: Discovery;
  /** The asymmetric algorithms the provider advertises for ID tokens (core signingAlgorithms). */
  algorithms: string[];
  jwks?: { at: number; set: ReturnType<typeof createLocalJWKSet> };
}

const providers = new WeakMap<OidcSettings, Provider>();

/** A refusal: recorded in the ledger, then answered 401 naming what failed. */
export class OidcRefusal extends DomainError {
  constructor(
    readonly reason: OidcFailure,
    message: string,
  ) {
    super('unauthenticated', `the OIDC sign-in was refused: ${message}`, { reason: 'oidc', oidc: reason });
  }
}

export function oidcConfigured(deps: AppDeps): OidcSettings {
  if (!deps.oidc)
    throw new DomainError(
      'conflict',
      'OIDC sign-in is not configured on this server: set access.oidc (issuer, clientId, redirectUri) in the configuration (docs/access.md)',
    );
  return deps.oidc;
}

async function call(deps: AppDeps, url: string, opts: Partial<PinnedRequest> = {}): Promise<unknown> {
  const send = deps.oidcRequest ?? ((u: string, o: PinnedRequest) => pinnedRequest(u, o));
  const r = await send(url, { ...REQUEST, ...opts });
  if (!r.ok) throw new Error(`${url}: ${r.reason} (${r.detail})`);
  if (r.status < 200 || r.status > 299) throw new Error(`${url}: HTTP ${r.status}`);
  return JSON.parse(r.text) as unknown;
}

async function provider(deps: AppDeps, s: OidcSettings): Promise<Provider> {
  const nowMs = deps.clock.now().getTime();
  const cached = providers.get(s);
  if (cached && nowMs - cached.at < CACHE_MS) return cached;
  let d: Partial<Record<keyof Discovery | 'issuer' | 'id_token_signing_alg_values_supported', unknown>>;
  try {
    d = (await call(deps, `${s.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)) as typeof d;
  } catch (e) {
    throw new OidcRefusal('provider', `the provider's discovery document could not be read (${(e as Error).message})`);
  }
  if (d.issuer !== s.issuer) throw new OidcRefusal('provider', `the provider names itself ${String(d.issuer)}, not ${s.issuer}`);
  for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const)
    if (!endpointAllowed(d[k], s))
      throw new OidcRefusal(
        'provider',
        `the provider's ${k} is missing or on a host that is neither the issuer's nor in oidc.allowedHosts`,
      );
  const algorithms = signingAlgorithms(d.id_token_signing_alg_values_supported);
  if (algorithms.length === 0)
    throw new OidcRefusal(
      'provider',
      'the provider advertises no asymmetric algorithm for ID tokens (id_token_signing_alg_values_supported: RS256, ES256, EdDSA…); none, HS256 and the like are refused',
    );
  const p: Provider = { at: nowMs, discovery: d as Discovery, algorithms };
  providers.set(s, p);
  return p;
}

async function jwks(deps: AppDeps, p: Provider, fresh: boolean): Promise<ReturnType<typeof createLocalJWKSet>> {
  const nowMs = deps.clock.now().getTime();
  if (p.jwks && !fresh && nowMs - p.jwks.at < CACHE_MS) return p.jwks.set;
  let set: JSONWebKeySet;
  try {
    set = (await call(deps, p.discovery.jwks_uri)) as JSONWebKeySet;
    p.jwks = { at: nowMs, set: createLocalJWKSet(set) };
  } catch (e) {
    throw new OidcRefusal('provider', `the provider's keys (JWKS) could not be read (${(e as Error).message})`);
  }
  return p.jwks.set;
}

/** Begin: a state (with its nonce and PKCE verifier, stored server-side for ten minutes) and the provider's URL to send the browser to. */
export async function startOidc(deps: AppDeps): Promise<{ url: string; state: string }> {
  const s = oidcConfigured(deps);
  const p = await provider(deps, s);
  const state = b64url(randomBytes(32));
  const nonce = b64url(randomBytes(32));
  const verifier = b64url(randomBytes(32));
  const now = deps.clock.now();
  // Each anonymous start stores a state: expired ones go first, and past a global cap (beyond the
  // per-address limit) a start is refused rather than stored.
  await deps.store.accessChallenges.prune(now.toISOString());
  if ((await deps.store.accessChallenges.countLive('oidc', 'sign-in', now.toISOString())) >= OIDC_MAX_PENDING_STATES)
    throw new DomainError(
      'overloaded',
      `too many OIDC sign-ins are waiting for the provider (${OIDC_MAX_PENDING_STATES}); try again in a few minutes`,
    );
  await deps.store.accessChallenges.insert({
    id: state,
    kind: 'oidc',
    principalId: null,
    purpose: 'sign-in',
    data: JSON.stringify({ nonce, verifier }),
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + OIDC_STATE_TTL_MS).toISOString(),
  });
  const url = new URL(p.discovery.authorization_endpoint);
  const q = url.searchParams;
  q.set('response_type', 'code');
  q.set('client_id', s.clientId);
  q.set('redirect_uri', s.redirectUri);
  q.set('scope', s.scopes.join(' '));
  q.set('state', state);
  q.set('nonce', nonce);
  q.set('code_challenge', b64url(createHash('sha256').update(verifier).digest()));
  q.set('code_challenge_method', 'S256');
  return { url: url.toString(), state };
}

const oidcActor = (request?: string): Actor => ({ id: 'oidc', kind: 'system', how: 'api', ...(request ? { request } : {}) });

async function refuse(deps: AppDeps, s: OidcSettings, reason: OidcFailure, subject: string | null, request?: string): Promise<void> {
  const at = deps.clock.now().toISOString();
  await deps.store.transaction(async (tx) => {
    await tx.ledger.append(
      [{ actor: oidcActor(request), kind: 'oidc.refused', subject: 'oidc', data: { reason, issuer: s.issuer, subject } }],
      at,
    );
  });
}

function tokenFailure(e: unknown): { reason: OidcFailure; message: string } {
  if (e instanceof joseErrors.JWTExpired) return { reason: 'expired', message: 'the ID token has expired' };
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.claim === 'aud') return { reason: 'audience', message: 'the ID token is for another client (aud)' };
    if (e.claim === 'iss') return { reason: 'issuer', message: 'the ID token is from another issuer (iss)' };
    if (e.claim === 'nbf' || e.claim === 'iat') return { reason: 'expired', message: `the ID token is not valid yet (${e.claim})` };
    return { reason: 'token', message: `the ID token's ${e.claim} claim is refused` };
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed || e instanceof joseErrors.JWKSNoMatchingKey)
    return { reason: 'signature', message: "the ID token's signature does not verify with the provider's keys" };
  return { reason: 'token', message: 'the ID token is not one this server can verify' };
}

/**
 * The callback: the state must be the one this browser was given (its cookie) and unspent; the
 * code is exchanged (with the PKCE verifier) for an ID token, which is verified; the person it
 * names is found (or created when configured). Every refusal is a ledger entry.
 */
export async function finishOidc(
  deps: AppDeps,
  input: { code: string; state: string; browserState: string | undefined; request?: string },
): Promise<{ principal: PrincipalRecord; subject: string; created: boolean }> {
  const s = oidcConfigured(deps);
  const fail = async (reason: OidcFailure, message: string, subject: string | null = null): Promise<never> => {
    await refuse(deps, s, reason, subject, input.request);
    throw new OidcRefusal(reason, message);
  };
  const now = deps.clock.now();
  const stored = await deps.store.accessChallenges.take(input.state, 'oidc', 'sign-in', now.toISOString());
  if (!stored || input.browserState !== input.state)
    return fail('state', 'the sign-in is unknown, used already, expired, or was begun in another browser; sign in again');
  const { nonce, verifier } = JSON.parse(stored.data) as { nonce: string; verifier: string };
  let p: Provider;
  try {
    p = await provider(deps, s);
  } catch (e) {
    return fail('provider', (e as Error).message);
  }
  let idToken: unknown;
  try {
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code: input.code,
      redirect_uri: s.redirectUri,
      code_verifier: verifier,
    });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (s.clientSecret)
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(s.clientId)}:${encodeURIComponent(s.clientSecret)}`).toString('base64')}`;
    else form.set('client_id', s.clientId);
    idToken = ((await call(deps, p.discovery.token_endpoint, { method: 'POST', headers, body: form.toString() })) as { id_token?: unknown })
      .id_token;
  } catch (e) {
    return fail('provider', `the provider did not exchange the code (${(e as Error).message})`);
  }
  if (typeof idToken !== 'string' || idToken.length > 16_000) return fail('token', 'the provider answered without an ID token');
  let payload: JWTPayload;
  const verify = async (fresh: boolean) =>
    (
      await jwtVerify(idToken, await jwks(deps, p, fresh), {
        issuer: s.issuer,
        audience: s.clientId,
        currentDate: deps.clock.now(),
        algorithms: p.algorithms,
        clockTolerance: OIDC_CLOCK_TOLERANCE_S,
        requiredClaims: ['sub', 'exp', 'iat'],
      })
    ).payload;
  try {
    try {
      payload = await verify(false);
    } catch (e) {
      // A key the cached set lacks: the provider rotated; fetch its keys once more.
      if (!(e instanceof joseErrors.JWKSNoMatchingKey)) throw e;
      payload = await verify(true);
    }
  } catch (e) {
    if (e instanceof OidcRefusal) return fail(e.reason, e.message);
    const f = tokenFailure(e);
    return fail(f.reason, f.message);
  }
  const subject = String(payload.sub);
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== s.clientId)
    return fail('audience', 'the ID token names several audiences and another authorized party (azp)', subject);
  if (payload.nonce !== nonce) return fail('nonce', 'the ID token was not issued for this sign-in (nonce)', subject);
  // An email names a person only when the provider says it verified it (true, not a missing claim or "false").
  if (s.claim === 'email' && payload.email_verified !== true)
    return fail('claim', 'the provider does not say the email is verified (email_verified is not true)', subject);
  const named = principalFromClaim(payload[s.claim], s.claim);
  if (!named.ok) return fail('claim', named.message, subject);
  // The account at the provider (iss, sub) is bound to the person at the first sign-in: a claim
  // changed at the provider does not move the sign-in to another person.
  const issuer = String(payload.iss);
  const byAccount = await deps.store.oidcLinks.ofAccount(issuer, subject);
  if (byAccount && byAccount.principalId !== named.id)
    return fail(
      'link',
      `this account at the provider signs in as ${byAccount.principalId}, but its "${s.claim}" now names ${named.id}; an admin checks the change`,
      subject,
    );
  const byPerson = byAccount ?? (await deps.store.oidcLinks.ofPrincipal(named.id));
  if (byPerson && (byPerson.issuer !== issuer || byPerson.subject !== subject))
    return fail('link', `${named.id} signs in with another account at the provider`, subject);
  const link = { principalId: named.id, issuer, subject, createdAt: now.toISOString() };
  const existing = await deps.store.principals.get(named.id);
  if (existing) {
    if (existing.kind !== 'person') return fail('unknown-person', `${named.id} is not a person`, subject);
    if (existing.disabledAt) return fail('disabled', `${named.id} is disabled`, subject);
    if (!byPerson && !(await recordLink(deps, link, input.request)))
      return fail('link', `${named.id} was linked to an account at the provider at the same time; sign in again`, subject);
    return { principal: existing, subject, created: false };
  }
  if (!s.createPeople)
    return fail('unknown-person', `no person ${named.id} in Bulwark; an admin creates it first (bulwark principals create)`, subject);
  const record: PrincipalRecord = {
    id: named.id,
    kind: 'person',
    name: named.name,
    groups: s.createPeople.groups,
    roles: s.createPeople.roles,
    createdAt: now.toISOString(),
    createdBy: 'oidc',
    disabledAt: null,
  };
  let linked = true;
  await deps.store.transaction(async (tx) => {
    await checkRoleNames(tx, record.roles);
    if (!(await tx.oidcLinks.insert(link))) {
      linked = false;
      return;
    }
    await tx.ledger.append([linkedEntry(link, input.request)], now.toISOString());
    await tx.principals.insert(record);
    await tx.ledger.append(
      [
        {
          actor: oidcActor(input.request),
          kind: 'principal.created',
          subject: `principal:${record.id}`,
          data: { id: record.id, kind: 'person', groups: record.groups, roles: record.roles },
        },
      ],
      now.toISOString(),
    );
  });
  if (!linked) return fail('link', `${named.id} was linked to an account at the provider at the same time; sign in again`, subject);
  return { principal: record, subject, created: true };
}

const linkedEntry = (link: OidcLinkRecord, request?: string) => ({
  actor: oidcActor(request),
  kind: 'oidc.linked',
  subject: `principal:${link.principalId}`,
  data: { principal: link.principalId, issuer: link.issuer, subject: link.subject },
});

/** Record a person's account at the provider, with its ledger entry; false when the person or the account was linked meanwhile. */
async function recordLink(deps: AppDeps, link: OidcLinkRecord, request?: string): Promise<boolean> {
  return deps.store.transaction(async (tx) => {
    if (!(await tx.oidcLinks.insert(link))) return false;
    await tx.ledger.append([linkedEntry(link, request)], link.createdAt);
    return true;
  });
}

/**
 * Refuse to start when the roles OIDC gives the people it creates (oidc.createPeople.roles) are
 * neither built in nor stored custom roles: an error naming them and what to do.
 */
export async function checkOidcSettings(deps: AppDeps): Promise<void> {
  const roles = deps.oidc?.createPeople?.roles ?? [];
  if (roles.length === 0) return;
  try {
    await deps.store.transaction((tx) => checkRoleNames(tx, roles));
  } catch (e) {
    throw new Error(`access.oidc.createPeople.roles: ${(e as Error).message}`);
  }
}

/**
 * Open the session for a person the provider vouched for: at once when they have no second
 * factor; else a pending sign-in (five minutes, one try) that the second factor completes.
 */
export async function openOidcSession(
  deps: AppDeps,
  who: { principal: PrincipalRecord; subject: string; created: boolean },
  opts: { policy?: SessionPolicy; request?: string },
): Promise<{ session: OpenedSession } | { pending: string }> {
  if (await hasSecondFactor(deps, who.principal.id)) {
    const now = deps.clock.now();
    const id = b64url(randomBytes(32));
    await deps.store.accessChallenges.insert({
      id,
      kind: 'oidc',
      principalId: who.principal.id,
      purpose: 'second-factor',
      data: JSON.stringify({ subject: who.subject, created: who.created }),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + OIDC_PENDING_TTL_MS).toISOString(),
    });
    return { pending: id };
  }
  return { session: await sessionFor(deps, who, opts) };
}

/** Finish a pending sign-in with the second factor (a code, or a security key's answer); the pending sign-in is spent either way. */
export async function completeOidc(
  deps: AppDeps,
  pending: string | undefined,
  factor: { code?: string; webauthn?: AuthenticationAnswer },
  opts: { policy?: SessionPolicy; request?: string },
): Promise<OpenedSession> {
  const s = oidcConfigured(deps);
  const p = pending ? await deps.store.accessChallenges.take(pending, 'oidc', 'second-factor', deps.clock.now().toISOString()) : undefined;
  if (!p?.principalId) {
    await refuse(deps, s, 'state', null, opts.request);
    throw new OidcRefusal(
      'state',
      'no sign-in waits for a second factor in this browser (or it expired, or was tried already); sign in again',
    );
  }
  const principal = await deps.store.principals.get(p.principalId);
  if (!principal || principal.disabledAt) throw new OidcRefusal('disabled', `${p.principalId} is disabled`);
  const { subject, created } = JSON.parse(p.data) as { subject: string; created: boolean };
  return sessionFor(deps, { principal, subject, created }, { ...opts, ...factor });
}

/** The person a pending sign-in is for (to ask their security key), without spending it. */
export async function pendingPrincipal(deps: AppDeps, pending: string | undefined): Promise<string> {
  oidcConfigured(deps);
  const p = pending ? await deps.store.accessChallenges.peek(pending, 'oidc', 'second-factor', deps.clock.now().toISOString()) : undefined;
  if (!p?.principalId) throw new OidcRefusal('state', 'no sign-in waits for a second factor in this browser; sign in again');
  return p.principalId;
}

async function sessionFor(
  deps: AppDeps,
  who: { principal: PrincipalRecord; subject: string; created: boolean },
  opts: { policy?: SessionPolicy; request?: string; code?: string; webauthn?: AuthenticationAnswer },
): Promise<OpenedSession> {
  const policy = opts.policy ?? DEFAULT_SESSION_POLICY;
  const s = oidcConfigured(deps);
  const actor: Actor = { id: who.principal.id, kind: 'person', how: 'api', ...(opts.request ? { request: opts.request } : {}) };
  const expiresAt = new Date(deps.clock.now().getTime() + policy.absoluteHours * 3_600_000).toISOString();
  const { token, view } = await createToken(deps, actor, { name: 'oidc sign-in', principal: who.principal.id, scopes: ['*'], expiresAt });
  let opened: OpenedSession;
  try {
    opened = await signIn(deps, token, { policy, request: opts.request, code: opts.code, webauthn: opts.webauthn });
  } catch (e) {
    // The factor was refused: the token minted for this sign-in goes with it.
    const at = deps.clock.now().toISOString();
    await deps.store.transaction(async (tx) => {
      if (await tx.tokens.revoke(view.id, at))
        await tx.ledger.append([{ actor, kind: 'token.revoked', subject: `token:${view.id}`, data: { id: view.id, name: view.name } }], at);
    });
    throw e;
  }
  await deps.store.transaction(async (tx) => {
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'oidc.signed-in',
          subject: `principal:${who.principal.id}`,
          data: { principal: who.principal.id, issuer: s.issuer, subject: who.subject, created: who.created },
        },
      ],
      deps.clock.now().toISOString(),
    );
  });
  return opened;
}

export { OIDC_CALLBACK_PATH };
