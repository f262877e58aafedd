/**
 * Security keys and passkeys (WebAuthn) as a person's second factor, equal to TOTP and
 * phishing-resistant: the browser signs the challenge together with the origin it is on, so a
 * look-alike site gets an answer this server refuses.
 *
 * Each ceremony has two steps: options (a fresh challenge, stored server-side with the person and
 * the purpose, good for five minutes) and the answer, checked by @simplewebauthn/server against
 * the configured RP ID and origins. A challenge is taken (deleted) as the answer is checked, so
 * it is used once even when the answer is refused. The sign counter is ours to check: a value at
 * or below the last one seen means the key was cloned; the answer is refused, the key suspended
 * and the clone recorded. Every registration, removal, use and refusal is a ledger entry; none
 * holds a challenge or a signature.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { DomainError, conflict, invalid, notFound } from '../../core/errors.ts';
import type { Principal } from '../../core/access/permissions.ts';
import {
  CEREMONY_TIMEOUT_MS,
  CHALLENGE_TTL_MS,
  MAX_CREDENTIALS,
  counterDecision,
  failureMessage,
  failureOf,
  type AuthenticationAnswer,
  type RegistrationAnswer,
  type WebAuthnFailure,
  type WebAuthnPurpose,
  type WebAuthnSettings,
} from '../../core/access/webauthn.ts';
import type { Actor } from '../../core/ledger/actor.ts';
import type { WebAuthnCredentialRecord } from '../../store/access/webauthn-port.ts';
import type { AppDeps } from '../deps.ts';
import { FAILURE_WINDOW_MS, MAX_FAILURES, personOnly } from './second-factor.ts';

/** A key as its owner sees it: never the public key. */
export interface CredentialView {
  id: string;
  name: string;
  transports: string[];
  createdAt: string;
  lastUsedAt: string | null;
  suspendedAt: string | null;
}

const view = (c: WebAuthnCredentialRecord): CredentialView => ({
  id: c.id,
  name: c.name,
  transports: c.transports,
  createdAt: c.createdAt,
  lastUsedAt: c.lastUsedAt,
  suspendedAt: c.suspendedAt,
});

/** The settings, or a refusal that says how to configure them. */
export function configured(settings: WebAuthnSettings | undefined): WebAuthnSettings {
  if (!settings)
    throw conflict(
      'security keys are not configured on this server: set access.webauthn.rpId and access.webauthn.origins in the configuration (docs/access.md)',
    );
  return settings;
}

/** A stable, opaque user handle for a person (no name in it). */
const userHandle = (principalId: string): Uint8Array<ArrayBuffer> =>
  new Uint8Array(createHash('sha256').update(`bulwark-webauthn-user:${principalId}`).digest().subarray(0, 16));

async function storeChallenge(deps: AppDeps, challenge: string, principalId: string, purpose: WebAuthnPurpose): Promise<void> {
  const now = deps.clock.now();
  await deps.store.accessChallenges.prune(now.toISOString());
  await deps.store.accessChallenges.insert({
    id: challenge,
    kind: 'webauthn',
    principalId,
    purpose,
    data: '{}',
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS).toISOString(),
  });
}

/** Take the challenge once; true only when it was issued to this person for this purpose and has not expired. */
async function takeChallenge(deps: AppDeps, challenge: string, principalId: string, purpose: WebAuthnPurpose): Promise<boolean> {
  const c = await deps.store.accessChallenges.take(challenge, 'webauthn', purpose, deps.clock.now().toISOString());
  return c !== undefined && c.principalId === principalId;
}

export async function listCredentials(deps: AppDeps, principalId: string): Promise<CredentialView[]> {
  return (await deps.store.webauthn.list(principalId)).map(view);
}

/** Options for `navigator.credentials.create()`: a fresh challenge; the person's keys excluded. */
export async function registrationOptions(
  deps: AppDeps,
  settings: WebAuthnSettings | undefined,
  principal: Principal,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  personOnly(principal);
  const s = configured(settings);
  const existing = await deps.store.webauthn.list(principal.id);
  if (existing.length >= MAX_CREDENTIALS) throw conflict(`${principal.id} has ${MAX_CREDENTIALS} keys already; remove one first`);
  const options = await generateRegistrationOptions({
    rpName: s.rpName,
    rpID: s.rpId,
    userName: principal.id.replace(/^person:/, ''),
    userID: userHandle(principal.id),
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
  await storeChallenge(deps, options.challenge, principal.id, 'register');
  return options;
}

/** Verify a new key's answer and register it under `name`. */
export async function registerCredential(
  deps: AppDeps,
  settings: WebAuthnSettings | undefined,
  principal: Principal,
  actor: Actor,
  name: string,
  answer: RegistrationAnswer,
): Promise<CredentialView> {
  personOnly(principal);
  const s = configured(settings);
  let info;
  try {
    const r = await verifyRegistrationResponse({
      response: answer,
      expectedChallenge: (c) => takeChallenge(deps, c, principal.id, 'register'),
      expectedOrigin: s.origins,
      expectedRPID: s.rpId,
      requireUserVerification: false,
    });
    if (!r.verified) throw new Error('signature');
    info = r.registrationInfo;
  } catch (e) {
    const reason = failureOf(e instanceof Error ? e.message : String(e));
    await recordFailure(deps, principal.id, actor, null, 'register', reason);
    throw invalid(`the key was not registered: ${failureMessage[reason]}`, { reason });
  }
  const now = deps.clock.now().toISOString();
  const record: WebAuthnCredentialRecord = {
    id: info.credential.id,
    principalId: principal.id,
    name,
    publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
    counter: info.credential.counter,
    transports: (info.credential.transports ?? answer.response.transports ?? []).slice(0, 10),
    aaguid: info.aaguid,
    createdAt: now,
    lastUsedAt: null,
    suspendedAt: null,
  };
  await deps.store.transaction(async (tx) => {
    if ((await tx.webauthn.list(principal.id)).length >= MAX_CREDENTIALS)
      throw conflict(`${principal.id} has ${MAX_CREDENTIALS} keys already; remove one first`);
    if (!(await tx.webauthn.insert(record))) throw conflict('this key is registered already');
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'webauthn.registered',
          subject: `principal:${principal.id}`,
          data: { principal: principal.id, credential: record.id, name, transports: record.transports, aaguid: record.aaguid },
        },
      ],
      now,
    );
  });
  return view(record);
}

/** Remove one of the person's own keys (the route asks for a fresh second factor first). */
export async function removeCredential(deps: AppDeps, principal: Principal, actor: Actor, id: string): Promise<void> {
  personOnly(principal);
  const c = await deps.store.webauthn.get(id);
  if (!c || c.principalId !== principal.id) throw notFound(`${principal.id} has no key ${id}; GET /v1/webauthn/credentials lists them`);
  await removeKeys(deps, actor, principal.id, [c], 'by its owner');
}

/** An admin removes all of a person's keys (lost keys); they register again. */
export async function resetCredentials(deps: AppDeps, actor: Actor, principalId: string): Promise<number> {
  const keys = await deps.store.webauthn.list(principalId);
  if (keys.length === 0) throw conflict(`${principalId} has no security keys to reset`);
  await removeKeys(deps, actor, principalId, keys, 'reset by an admin');
  return keys.length;
}

async function removeKeys(deps: AppDeps, actor: Actor, principalId: string, keys: WebAuthnCredentialRecord[], how: string): Promise<void> {
  const at = deps.clock.now().toISOString();
  await deps.store.transaction(async (tx) => {
    for (const k of keys) {
      if (!(await tx.webauthn.remove(principalId, k.id))) continue;
      await tx.ledger.append(
        [
          {
            actor,
            kind: 'webauthn.removed',
            subject: `principal:${principalId}`,
            data: { principal: principalId, credential: k.id, name: k.name, how },
          },
        ],
        at,
      );
    }
  });
}

/** Options for `navigator.credentials.get()`: a fresh challenge, the person's keys that are not suspended. */
export async function authenticationOptions(
  deps: AppDeps,
  settings: WebAuthnSettings | undefined,
  principalId: string,
  purpose: Exclude<WebAuthnPurpose, 'register'>,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const s = configured(settings);
  const keys = (await deps.store.webauthn.list(principalId)).filter((k) => !k.suspendedAt);
  if (keys.length === 0)
    throw conflict(`${principalId} has no security key to use; register one (the dashboard's Security keys) or use the authenticator app`);
  const options = await generateAuthenticationOptions({
    rpID: s.rpId,
    timeout: CEREMONY_TIMEOUT_MS,
    userVerification: 'preferred',
    allowCredentials: keys.map((k) => ({ id: k.id, transports: k.transports })),
  });
  await storeChallenge(deps, options.challenge, principalId, purpose);
  return options;
}

export type AssertionResult = { ok: true; credential: string } | { ok: false; reason: WebAuthnFailure; message: string };

/**
 * Check a key's answer to a challenge issued to `principalId` for `purpose`. Accepted: the
 * counter moves (compare-and-set, so one answer is accepted once even on two replicas) with its
 * ledger entry. Refused: a ledger entry saying why; a counter that went back suspends the key.
 */
export async function verifyAssertion(
  deps: AppDeps,
  settings: WebAuthnSettings | undefined,
  principalId: string,
  actor: Actor,
  answer: AuthenticationAnswer,
  purpose: Exclude<WebAuthnPurpose, 'register'>,
): Promise<AssertionResult> {
  const s = configured(settings);
  const fail = async (reason: WebAuthnFailure, credential: string | null): Promise<AssertionResult> => {
    await recordFailure(deps, principalId, actor, credential, purpose, reason);
    return { ok: false, reason, message: failureMessage[reason] };
  };
  // The challenge is taken first, whatever the answer turns out to be: it is good for one answer.
  const challenge = challengeOf(answer);
  const taken = challenge !== undefined && (await takeChallenge(deps, challenge, principalId, purpose));
  // Each answer counts against the person before it is checked (refunded when accepted), as codes do.
  const attempt = await takeAttempt(deps, principalId);
  if (!attempt) return fail('throttled', null);
  const key = await deps.store.webauthn.get(answer.id);
  if (!key || key.principalId !== principalId) return fail('unknown-key', null);
  if (key.suspendedAt) return fail('suspended', key.id);
  let received: number;
  try {
    const r = await verifyAuthenticationResponse({
      response: answer,
      expectedChallenge: (c) => taken && c === challenge,
      expectedOrigin: s.origins,
      expectedRPID: s.rpId,
      // The counter is checked below, after the signature, where a clone can be told apart.
      credential: {
        id: key.id,
        publicKey: new Uint8Array(Buffer.from(key.publicKey, 'base64url')),
        counter: 0,
        transports: key.transports,
      },
      requireUserVerification: false,
    });
    if (!r.verified) return fail('signature', key.id);
    received = r.authenticationInfo.newCounter;
  } catch (e) {
    return fail(failureOf(e instanceof Error ? e.message : String(e)), key.id);
  }
  const at = deps.clock.now().toISOString();
  if (!counterDecision(key.counter, received).ok) {
    await deps.store.transaction(async (tx) => {
      await tx.webauthn.suspend(key.id, at);
      await tx.ledger.append(
        [
          {
            actor,
            kind: 'webauthn.clone-detected',
            subject: `principal:${principalId}`,
            data: { principal: principalId, credential: key.id, stored: key.counter, received },
          },
        ],
        at,
      );
    });
    return { ok: false, reason: 'counter', message: failureMessage.counter };
  }
  const accepted = await deps.store.transaction(async (tx) => {
    if (!(await tx.webauthn.advance(key.id, key.counter, received, at))) return false;
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'webauthn.verified',
          subject: `principal:${principalId}`,
          data: { principal: principalId, credential: key.id, purpose, counter: received },
        },
      ],
      at,
    );
    return true;
  });
  // Another answer moved the counter (or suspended the key) between the read and the write.
  if (!accepted) return fail('counter', key.id);
  await deps.store.accessChallenges.take(attempt, 'webauthn', ATTEMPT, deps.clock.now().toISOString());
  return { ok: true, credential: key.id };
}

/** The challenge an answer says it signs (its clientDataJSON), or undefined when it cannot be read. */
function challengeOf(answer: AuthenticationAnswer): string | undefined {
  try {
    const c = (JSON.parse(Buffer.from(answer.response.clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown }).challenge;
    return typeof c === 'string' && c.length > 0 && c.length <= 200 ? c : undefined;
  } catch {
    return undefined;
  }
}

/** The purpose of the rows that count a person's security-key answers for FAILURE_WINDOW_MS. */
const ATTEMPT = 'attempt';

/**
 * Count an answer before it is checked: a row per answer, kept for the window; more than
 * MAX_FAILURES live rows for the person refuse it (its own row removed, so a refusal does not
 * count again). Many at once each see the others' rows: none slips under the limit.
 */
async function takeAttempt(deps: AppDeps, principalId: string): Promise<string | undefined> {
  const now = deps.clock.now();
  const id = randomBytes(16).toString('base64url');
  await deps.store.accessChallenges.prune(now.toISOString());
  await deps.store.accessChallenges.insert({
    id,
    kind: 'webauthn',
    principalId,
    purpose: ATTEMPT,
    data: '{}',
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + FAILURE_WINDOW_MS).toISOString(),
  });
  if ((await deps.store.accessChallenges.countLive('webauthn', ATTEMPT, now.toISOString(), principalId)) <= MAX_FAILURES) return id;
  await deps.store.accessChallenges.take(id, 'webauthn', ATTEMPT, now.toISOString());
  return undefined;
}

/** Verify, or throw the refusal as `kind` (unauthenticated for sign-in, forbidden for step-up). */
export async function requireAssertion(
  deps: AppDeps,
  settings: WebAuthnSettings | undefined,
  principalId: string,
  actor: Actor,
  answer: AuthenticationAnswer,
  purpose: Exclude<WebAuthnPurpose, 'register'>,
  kind: 'unauthenticated' | 'forbidden',
): Promise<void> {
  const r = await verifyAssertion(deps, settings, principalId, actor, answer, purpose);
  if (!r.ok)
    throw new DomainError(kind, `the security key was refused: ${r.message}`, {
      reason: purpose === 'step-up' ? 'step_up_failed' : 'webauthn_failed',
      webauthn: r.reason,
    });
}

async function recordFailure(
  deps: AppDeps,
  principalId: string,
  actor: Actor,
  credential: string | null,
  purpose: WebAuthnPurpose,
  reason: WebAuthnFailure,
): Promise<void> {
  const at = deps.clock.now().toISOString();
  await deps.store.transaction(async (tx) => {
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'webauthn.failed',
          subject: `principal:${principalId}`,
          data: { principal: principalId, credential, purpose, reason },
        },
      ],
      at,
    );
  });
}

declare module '../deps.ts' {
  interface AppDeps {
    /** Security keys' relying party (the server's `webauthn` option); absent: keys are off. */
    webauthn?: WebAuthnSettings;
  }
}
