/**
 * Dashboard sessions: opened by presenting a token once, then carried by an HttpOnly cookie, so
 * that the token never sits in the browser. A session acts as its token (same principal, same
 * scopes) and ends with it. Opening and signing out are ledger entries; each use moves
 * `lastSeenAt` forward, at most once a minute, for the idle limit.
 */
import { DomainError, invalid } from '../../core/errors.ts';
import type { Principal } from '../../core/access/permissions.ts';
import {
  DEFAULT_SESSION_POLICY,
  mintSession,
  sessionEnded,
  sessionId,
  sessionMatches,
  type SessionPolicy,
} from '../../core/access/session-format.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import type { AppDeps } from '../deps.ts';
import { authenticate, noteUse, scopesOf } from './tokens.ts';
import { hasSecondFactor, personOnly, verifySecondFactor } from './second-factor.ts';
import { requireAssertion } from './webauthn.ts';
import type { AuthenticationAnswer } from '../../core/access/webauthn.ts';

/** How often a session's last use is written: its idle limit is kept to this. */
const TOUCH_EVERY_MS = 60_000;

export interface OpenedSession {
  /** The cookie's value: handed to the browser once, stored only as a hash. */
  value: string;
  id: string;
  expiresAt: string;
  principal: Principal;
}

/**
 * Open a session with a token; refused (unauthenticated) as the token would be. A person with a
 * second factor must send a code too (a TOTP code or a recovery code): without one the answer is
 * 401 with `details.secondFactor` (and `details.methods`), which the dashboard takes as its prompt;
 * a person with a security key may answer with it instead (`webauthn`). The session then starts stepped up.
 */
export async function signIn(
  deps: AppDeps,
  token: string,
  opts: { policy?: SessionPolicy; request?: string; code?: string; webauthn?: AuthenticationAnswer } = {},
): Promise<OpenedSession> {
  const policy = opts.policy ?? DEFAULT_SESSION_POLICY;
  if (typeof token !== 'string' || token.length === 0 || token.length > 200)
    throw invalid('send {"token": "bwk_…"}: the API token to sign in with');
  const auth = await authenticate(deps, token);
  if (!auth.ok) throw new DomainError('unauthenticated', `${auth.reason}; sign in with a valid API token`);
  const now = deps.clock.now();
  const minted = mintSession();
  const expiresAt = new Date(now.getTime() + policy.absoluteHours * 3_600_000).toISOString();
  let secondFactorAt: string | null = null;
  if (auth.principal.kind === 'person' && (await hasSecondFactor(deps, auth.principal.id))) {
    if (opts.webauthn !== undefined) {
      const actor = apiActor(auth.principal, opts.request);
      await requireAssertion(deps, deps.webauthn, auth.principal.id, actor, opts.webauthn, 'sign-in', 'unauthenticated');
      secondFactorAt = deps.clock.now().toISOString();
    } else {
      if (opts.code === undefined || opts.code === '') throw await secondFactorNeeded(deps, auth.principal.id);
      secondFactorAt = await signInCode(deps, auth.principal, opts.code, opts.request);
    }
  }
  const principal: Principal = { ...auth.principal, sessionId: minted.id, secondFactorAt };
  await deps.store.transaction(async (tx) => {
    await tx.sessions.insert({
      id: minted.id,
      hash: minted.hash,
      tokenId: auth.principal.tokenId,
      createdAt: now.toISOString(),
      lastSeenAt: now.toISOString(),
      expiresAt,
      revokedAt: null,
      secondFactorAt,
    });
    await tx.ledger.append(
      [
        {
          actor: apiActor(principal, opts.request),
          kind: 'session.started',
          subject: `session:${minted.id}`,
          data: { id: minted.id, tokenId: auth.principal.tokenId, expiresAt },
        },
      ],
      now.toISOString(),
    );
  });
  return { value: minted.value, id: minted.id, expiresAt, principal };
}

/**
 * The refusal that prompts for a second factor: `details.secondFactor` names the one to ask for
 * (`totp` when the person has an authenticator app, else `webauthn`), `details.methods` all of them.
 */
async function secondFactorNeeded(deps: AppDeps, principalId: string): Promise<DomainError> {
  const totp = !!(await deps.store.secondFactors.get(principalId))?.confirmedAt;
  const keys = (await deps.store.webauthn.list(principalId)).some((k) => !k.suspendedAt);
  const methods = [...(keys ? ['webauthn'] : []), ...(totp ? ['totp'] : [])];
  const how = [
    ...(keys ? ['answer with a security key (POST /v1/session/webauthn/options, then "webauthn")'] : []),
    ...(totp ? ['send the current code from the authenticator app (or a recovery code) as "code"'] : []),
  ];
  return new DomainError('unauthenticated', `this person has a second factor: ${how.join(', or ') || 'ask an admin to reset it'}`, {
    secondFactor: totp ? 'totp' : 'webauthn',
    methods,
  });
}

/** A sign-in's TOTP (or recovery) code: when it was verified, or the refusal. */
async function signInCode(deps: AppDeps, principal: Principal, code: string, request?: string): Promise<string> {
  const r = await verifySecondFactor(deps, principal.id, apiActor(principal, request), code, {
    purpose: 'sign-in',
    allowRecovery: true,
  });
  if (!r.ok)
    throw new DomainError('unauthenticated', `${r.reason}; sign in again with the token and a current code`, { secondFactor: 'totp' });
  return deps.clock.now().toISOString();
}

/** The principal a session cookie stands for, or why it does not (any failure reads the same to the caller). */
export async function authenticateSession(
  deps: AppDeps,
  value: string,
  policy: SessionPolicy = DEFAULT_SESSION_POLICY,
): Promise<{ ok: true; principal: Principal } | { ok: false; reason: string }> {
  const id = sessionId(value);
  if (!id) return { ok: false, reason: 'the session cookie is malformed; sign in again' };
  const s = await deps.store.sessions.get(id);
  if (!s || !sessionMatches(value, s.hash)) return { ok: false, reason: 'the session is not known; sign in again' };
  const now = deps.clock.now();
  const ended = sessionEnded(s, now, policy);
  if (ended) return { ok: false, reason: ended };
  const token = await deps.store.tokens.get(s.tokenId);
  if (!token) return { ok: false, reason: 'the session is not known; sign in again' };
  if (token.revokedAt) return { ok: false, reason: 'the token this session was opened with was revoked' };
  if (token.expiresAt && token.expiresAt <= now.toISOString())
    return { ok: false, reason: 'the token this session was opened with has expired' };
  const scopes = await scopesOf(deps, token);
  if (!scopes) return { ok: false, reason: 'the principal of this session is disabled' };
  if (now.getTime() - Date.parse(s.lastSeenAt) >= TOUCH_EVERY_MS) await deps.store.sessions.touch(id, now.toISOString());
  await noteUse(deps, token);
  return {
    ok: true,
    principal: {
      id: token.principalId,
      name: token.name,
      kind: token.principalKind,
      tokenId: token.id,
      tokenName: token.name,
      scopes,
      sessionId: id,
      secondFactorAt: s.secondFactorAt ?? null,
    },
  };
}

/**
 * Step up a session: a current code (TOTP, or a recovery code) marks it as verified now, so that
 * sensitive actions go ahead for the next minutes (core/access/step-up.ts).
 */
export async function stepUpSession(
  deps: AppDeps,
  principal: Principal,
  code: string,
  request?: string,
): Promise<{ secondFactorAt: string }> {
  personOnly(principal);
  if (!principal.sessionId)
    throw invalid(
      'step-up is for dashboard sessions; with a token, send the header "X-Bulwark-Second-Factor: <code>" with the request itself',
    );
  if (!(await hasSecondFactor(deps, principal.id)))
    throw invalid(`${principal.id} has no second factor enrolled; enroll one with POST /v1/second-factor/enroll`);
  const r = await verifySecondFactor(deps, principal.id, apiActor(principal, request), code, { purpose: 'step-up', allowRecovery: true });
  if (!r.ok) throw new DomainError('forbidden', r.reason, { reason: 'step_up_failed' });
  const at = deps.clock.now().toISOString();
  if (!(await deps.store.sessions.markSecondFactor(principal.sessionId, at)))
    throw new DomainError('unauthenticated', 'the session has ended; sign in again');
  return { secondFactorAt: at };
}

/** Sign out: the session ends at once (false when it had already ended). */
export async function signOut(deps: AppDeps, principal: Principal, request?: string): Promise<boolean> {
  const id = principal.sessionId;
  if (!id) return false;
  const now = deps.clock.now().toISOString();
  return deps.store.transaction(async (tx) => {
    if (!(await tx.sessions.revoke(id, now))) return false;
    await tx.ledger.append(
      [{ actor: apiActor(principal, request), kind: 'session.ended', subject: `session:${id}`, data: { id, tokenId: principal.tokenId } }],
      now,
    );
    return true;
  });
}
