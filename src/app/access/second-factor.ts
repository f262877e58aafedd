/**
 * A person's second factor: enroll (the secret shown once, confirmed by a first code, which also
 * mints the recovery codes, shown once), verify (sign-in, step-up, a single request), disable.
 * Every enrollment, use, failure and recovery is a ledger entry, written in the transaction that
 * records the accepted step or the used recovery code; the entry never holds a code or the secret.
 *
 * How the secret is kept: sealed (AES-256-GCM under the key outside the database, with the
 * person's id as additional data; app/access/sealer.ts), opened only to check a code. Rows
 * written before sealing are sealed when a server with the key starts (app/access/secrets.ts);
 * until then they are read as they are.
 */
import { DomainError, conflict, invalid } from '../../core/errors.ts';
import type { Principal } from '../../core/access/permissions.ts';
import {
  checkTotp,
  hashRecoveryCode,
  isRecoveryCode,
  isTotpCode,
  mintRecoveryCodes,
  newTotpSecret,
  totpUri,
} from '../../core/access/totp.ts';
import type { Actor } from '../../core/ledger/actor.ts';
import type { Repos } from '../../store/store.ts';
import { iso, type AppDeps } from '../deps.ts';
import { sealContext } from '../../core/access/sealed.ts';
import { openStored, sealForStorage } from './sealer.ts';

export type FactorPurpose = 'enroll' | 'sign-in' | 'step-up' | 'request' | 'disable';

export interface SecondFactorStatus {
  enrolled: boolean;
  /** An enrollment begun and not yet confirmed by a first code. */
  pending: boolean;
  confirmedAt: string | null;
  recoveryCodesLeft: number;
}

export function personOnly(p: Pick<Principal, 'kind' | 'id'>): void {
  if (p.kind !== 'person')
    throw new DomainError('forbidden', `${p.id} is a service: second factors are for people (a service's token is its credential)`);
}

export async function secondFactorStatus(deps: AppDeps, principalId: string): Promise<SecondFactorStatus> {
  const f = await deps.store.secondFactors.get(principalId);
  return {
    enrolled: !!f?.confirmedAt,
    pending: !!f && !f.confirmedAt,
    confirmedAt: f?.confirmedAt ?? null,
    recoveryCodesLeft: f?.confirmedAt ? await deps.store.secondFactors.recoveryCodesLeft(principalId) : 0,
  };
}

/**
 * Whether the principal has a confirmed second factor (the step-up check asks): a TOTP factor or
 * a security key (app/access/webauthn.ts). A suspended key counts: a person whose only key was
 * cloned is held to a factor they cannot give until an admin resets it, never let through without one.
 */
export async function hasSecondFactor(deps: Pick<AppDeps, 'store'>, principalId: string): Promise<boolean> {
  if ((await deps.store.secondFactors.get(principalId))?.confirmedAt) return true;
  return (await deps.store.webauthn.list(principalId)).length > 0;
}

/** Begin enrolling: a new secret, shown this once (also as an otpauth:// URI for a QR code). */
export async function beginEnrollment(deps: AppDeps, principal: Principal): Promise<{ secret: string; uri: string }> {
  personOnly(principal);
  const secret = newTotpSecret();
  // Sealed inside the transaction, under the sealing lock a key rotation takes too: a seed sealed
  // under a key the rotation is retiring would be lost with it.
  const ok = await deps.store.transaction(async (tx) => {
    await tx.secrets.lockForSealing();
    return tx.secondFactors.begin({
      principalId: principal.id,
      kind: 'totp',
      secret: sealForStorage(deps.secretKeys, secret, sealContext.totp(principal.id)),
      createdAt: iso(deps.clock),
      confirmedAt: null,
      lastStep: null,
    });
  });
  if (!ok) throw conflict(`${principal.id} has a second factor already; disable it first (with a current code) to enroll another`);
  return { secret, uri: totpUri(secret, principal.id.replace(/^person:/, '')) };
}

/** Confirm the enrollment with a first code; the recovery codes are minted and shown this once. */
export async function confirmEnrollment(
  deps: AppDeps,
  principal: Principal,
  actor: Actor,
  code: string,
): Promise<{ recoveryCodes: string[] }> {
  personOnly(principal);
  const now = deps.clock.now();
  const f = await deps.store.secondFactors.get(principal.id);
  if (!f || f.confirmedAt)
    throw conflict(`${principal.id} has no enrollment waiting for its first code; begin one with POST /v1/second-factor/enroll`);
  const check = checkTotp(openStored(deps.secretKeys, f.secret, sealContext.totp(principal.id)), code, now.getTime(), null);
  if (!check.ok) {
    await recordFailure(deps, principal.id, actor, 'enroll', check.reason, 'totp');
    throw invalid('the code does not match the secret; type the six digits the authenticator app shows now');
  }
  const { codes, hashes } = mintRecoveryCodes();
  await deps.store.transaction(async (tx) => {
    if (!(await tx.secondFactors.confirm(principal.id, now.toISOString(), check.step)))
      throw conflict('the enrollment was confirmed or replaced meanwhile');
    await tx.secondFactors.setRecoveryCodes(principal.id, hashes, now.toISOString());
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'second-factor.enrolled',
          subject: `principal:${principal.id}`,
          data: { principal: principal.id, method: 'totp', recoveryCodes: hashes.length },
        },
      ],
      now.toISOString(),
    );
  });
  return { recoveryCodes: codes };
}

/** Wrong codes a person may send in a window before every code is refused for the rest of it. */
export const MAX_FAILURES = 5;
export const FAILURE_WINDOW_MS = 15 * 60_000;

/**
 * The throttle: each attempt at a code is counted for its person before the code is checked (and
 * uncounted when the code is accepted), refused when MAX_FAILURES are counted in the window. The
 * count is on the person's own factor row, so it holds across replicas, one person's wrong codes
 * never hold back another's, many attempts at once cannot all slip under it, and an attempt
 * refused by the throttle is not counted. Six digits are a small space; this keeps a holder of a
 * stolen token from guessing them.
 */
const windowStart = (nowMs: number): string => new Date(nowMs - FAILURE_WINDOW_MS).toISOString();

export type FactorResult = { ok: true; method: 'totp' | 'recovery' } | { ok: false; reason: string };

/**
 * Verify a code (a TOTP code, or a recovery code when `allowRecovery`) for `principalId`. An
 * accepted code is recorded with its ledger entry (`second-factor.verified` or
 * `second-factor.recovery-used`) in one transaction, inside `tx` when given; a refused one is
 * recorded as `second-factor.failed`.
 */
export async function verifySecondFactor(
  deps: AppDeps,
  principalId: string,
  actor: Actor,
  code: string,
  opts: { purpose: FactorPurpose; allowRecovery?: boolean },
): Promise<FactorResult> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const f = await deps.store.secondFactors.get(principalId);
  if (!f?.confirmedAt) return { ok: false, reason: `${principalId} has no second factor enrolled` };
  const trimmed = typeof code === 'string' ? code.trim() : '';
  const since = windowStart(now.getTime());
  if (!(await deps.store.secondFactors.takeAttempt(principalId, at, since, MAX_FAILURES))) {
    await recordFailure(deps, principalId, actor, opts.purpose, 'throttled', isTotpCode(trimmed) ? 'totp' : 'recovery', true);
    return {
      ok: false,
      reason: `too many wrong codes for ${principalId} in the last ${FAILURE_WINDOW_MS / 60_000} minutes; wait, then use a current code`,
    };
  }
  if (opts.allowRecovery && isRecoveryCode(trimmed)) {
    const hash = hashRecoveryCode(trimmed);
    const used = await deps.store.transaction(async (tx) => {
      if (!(await tx.secondFactors.useRecoveryCode(principalId, hash, at))) return false;
      await tx.secondFactors.refundAttempt(principalId, since);
      const left = await tx.secondFactors.recoveryCodesLeft(principalId);
      await appendUse(tx, at, actor, 'second-factor.recovery-used', { principal: principalId, purpose: opts.purpose, left });
      return true;
    });
    if (used) return { ok: true, method: 'recovery' };
    await recordFailure(deps, principalId, actor, opts.purpose, 'wrong', 'recovery', true);
    return { ok: false, reason: 'the recovery code is not known or was used already' };
  }
  if (!isTotpCode(trimmed)) {
    await recordFailure(deps, principalId, actor, opts.purpose, 'malformed', 'totp', true);
    return {
      ok: false,
      reason: opts.allowRecovery
        ? 'a code is six digits from the authenticator app, or a recovery code like abcd-efgh-ijkl-mnop'
        : 'a code is six digits from the authenticator app',
    };
  }
  const check = checkTotp(openStored(deps.secretKeys, f.secret, sealContext.totp(principalId)), trimmed, now.getTime(), f.lastStep);
  const accepted =
    check.ok &&
    (await deps.store.transaction(async (tx) => {
      // The compare and set decides a race between two requests (or replicas) with one code.
      if (!(await tx.secondFactors.useStep(principalId, check.step))) return false;
      await tx.secondFactors.refundAttempt(principalId, since);
      await appendUse(tx, at, actor, 'second-factor.verified', { principal: principalId, purpose: opts.purpose });
      return true;
    }));
  if (accepted) return { ok: true, method: 'totp' };
  const reason = check.ok ? 'replayed' : check.reason;
  await recordFailure(deps, principalId, actor, opts.purpose, reason, 'totp', true);
  return {
    ok: false,
    reason:
      reason === 'replayed' ? 'that code was used already; wait for the next one' : 'the code is wrong or too old; type the current one',
  };
}

/** Disable the second factor; the person proves it with a current code or a recovery code. */
export async function disableSecondFactor(deps: AppDeps, principal: Principal, actor: Actor, code: string): Promise<void> {
  personOnly(principal);
  const r = await verifySecondFactor(deps, principal.id, actor, code, { purpose: 'disable', allowRecovery: true });
  if (!r.ok) throw new DomainError('forbidden', `${r.reason}; disabling a second factor needs a current code`);
  await removeFactor(deps, principal.id, actor, 'by its owner');
}

/** An admin resets a person's second factor (a lost phone and no recovery code left). */
export async function resetSecondFactor(deps: AppDeps, actor: Actor, principalId: string): Promise<void> {
  if (!(await deps.store.secondFactors.get(principalId))) throw conflict(`${principalId} has no second factor to reset`);
  await removeFactor(deps, principalId, actor, 'reset by an admin');
}

async function removeFactor(deps: AppDeps, principalId: string, actor: Actor, how: string): Promise<void> {
  const at = iso(deps.clock);
  await deps.store.transaction(async (tx) => {
    await tx.secondFactors.remove(principalId);
    await tx.ledger.append(
      [{ actor, kind: 'second-factor.disabled', subject: `principal:${principalId}`, data: { principal: principalId, how } }],
      at,
    );
  });
}

async function appendUse(tx: Repos, at: string, actor: Actor, kind: string, data: Record<string, string | number>): Promise<void> {
  await tx.ledger.append([{ actor, kind, subject: `principal:${String(data.principal)}`, data }], at);
}

async function recordFailure(
  deps: AppDeps,
  principalId: string,
  actor: Actor,
  purpose: FactorPurpose,
  reason: 'wrong' | 'malformed' | 'replayed' | 'throttled',
  method: 'totp' | 'recovery',
  /** The attempt was counted already (takeAttempt), or was refused by the throttle: do not count it again. */
  counted = false,
): Promise<void> {
  const now = deps.clock.now();
  const at = now.toISOString();
  await deps.store.transaction(async (tx) => {
    if (!counted) await tx.secondFactors.recordFailure(principalId, at, windowStart(now.getTime()));
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'second-factor.failed',
          subject: `principal:${principalId}`,
          data: { principal: principalId, purpose, method, reason },
        },
      ],
      at,
    );
  });
}
