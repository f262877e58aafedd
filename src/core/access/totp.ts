/**
 * The second factor of people: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, as every
 * authenticator app reads an otpauth:// URI) through otplib, and recovery codes. A code is
 * accepted one step either side of now (clock skew of a phone), never two; each accepted code
 * names its time step, and a step at or before the last one accepted is refused, so a code seen
 * over a shoulder or in a log cannot be replayed in its window. Recovery codes are shown once and
 * stored as SHA-256 hashes (120 random bits each make a slow hash unnecessary), each good once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verifySync } from 'otplib';

export const TOTP_PERIOD_SECONDS = 30;
/** Steps either side of now that are accepted: one (RFC 6238 §5.2 recommends at most one). */
export const TOTP_SKEW_STEPS = 1;
export const RECOVERY_CODE_COUNT = 10;

const CODE = /^\d{6}$/;
const RECOVERY = /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/;

/** A new secret: 20 random bytes (160 bits, RFC 4226 §4), base32 as authenticator apps take it. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The otpauth:// URI an authenticator app scans (as a QR code) or takes typed in. */
export function totpUri(secret: string, account: string, issuer = 'Bulwark'): string {
  return generateURI({ issuer, label: account, secret, period: TOTP_PERIOD_SECONDS, digits: 6, algorithm: 'sha1' });
}

/** Whether a text is shaped like a TOTP code (six digits) or a recovery code. */
export const isTotpCode = (code: string): boolean => CODE.test(code);
export const isRecoveryCode = (code: string): boolean => RECOVERY.test(normaliseRecovery(code));
export const normaliseRecovery = (code: string): string => code.trim().toLowerCase();

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'malformed' | 'wrong' | 'replayed' };

/**
 * Check a code against the secret at `nowMs`, refusing steps at or before `lastStep` (the last
 * one accepted). The step of an accepted code is returned: store it as the new `lastStep`.
 */
export function checkTotp(secret: string, code: string, nowMs: number, lastStep: number | null): TotpCheck {
  if (!CODE.test(code)) return { ok: false, reason: 'malformed' };
  const epoch = Math.floor(nowMs / 1000);
  let r;
  try {
    r = verifySync({ secret, token: code, epoch, period: TOTP_PERIOD_SECONDS, epochTolerance: TOTP_SKEW_STEPS * TOTP_PERIOD_SECONDS });
  } catch {
    return { ok: false, reason: 'wrong' };
  }
  if (!r.valid) return { ok: false, reason: 'wrong' };
  const step = Math.floor(epoch / TOTP_PERIOD_SECONDS) + r.delta;
  if (lastStep !== null && step <= lastStep) return { ok: false, reason: 'replayed' };
  return { ok: true, step };
}

/** Fresh recovery codes (shown once) and the hashes that are stored. */
export function mintRecoveryCodes(
  n = RECOVERY_CODE_COUNT,
  random: (n: number) => Buffer = randomBytes,
): { codes: string[]; hashes: string[] } {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const codes: string[] = [];
  for (let i = 0; i < n; i++) {
    const chars = [...random(16)].map((b) => alphabet[b % 32]).join('');
    codes.push(`${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}-${chars.slice(12, 16)}`);
  }
  return { codes, hashes: codes.map(hashRecoveryCode) };
}

export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(normaliseRecovery(code), 'utf8').digest('hex');
}
