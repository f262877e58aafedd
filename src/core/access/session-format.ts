/**
 * Dashboard sessions. A session is opened by presenting a token once; the browser then holds
 * only the session's cookie (`bulwark_session`, HttpOnly, SameSite=Strict, Secure under TLS),
 * never the token. The cookie's value looks like `bws_<id>_<secret>`: the id finds the row, the
 * SHA-256 of the whole value is compared in constant time, as for tokens. A session ends when it
 * is idle too long, at its absolute expiry, when it is signed out, or when its token is revoked
 * or expires.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'bulwark_session';

const SESSION = /^bws_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;

export interface MintedSession {
  id: string;
  value: string;
  hash: Buffer;
}

export function mintSession(random: (n: number) => Buffer = randomBytes): MintedSession {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const id = [...random(16)].map((b) => alphabet[b % alphabet.length]).join('');
  const value = `bws_${id}_${random(32).toString('base64url')}`;
  return { id, value, hash: hashSession(value) };
}

export function hashSession(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The id inside a well-formed session value, or undefined. */
export function sessionId(value: string): string | undefined {
  return SESSION.exec(value)?.[1];
}

export function sessionMatches(value: string, hash: Buffer): boolean {
  const h = hashSession(value);
  return h.length === hash.length && timingSafeEqual(h, hash);
}

/** How long a session lives: idle (since it was last used) and absolute (since it began). */
export interface SessionPolicy {
  idleMinutes: number;
  absoluteHours: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMinutes: 30, absoluteHours: 12 };

/** A stored session's times, as far as its life is concerned. */
export interface SessionTimes {
  lastSeenAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

/** Why a session no longer holds at `now`, or undefined while it does. */
export function sessionEnded(s: SessionTimes, now: Date, policy: SessionPolicy): string | undefined {
  if (s.revokedAt) return 'the session was signed out';
  if (now.getTime() >= Date.parse(s.expiresAt)) return `the session reached its ${policy.absoluteHours}-hour limit; sign in again`;
  if (now.getTime() - Date.parse(s.lastSeenAt) >= policy.idleMinutes * 60_000)
    return `the session was idle for ${policy.idleMinutes} minutes; sign in again`;
  return undefined;
}

/**
 * The one cookie of that name in a Cookie header, or undefined (absent, or sent twice: an
 * attacker who can set a cookie for a sibling domain must not choose which one counts).
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    if (found !== undefined) return undefined;
    found = part.slice(eq + 1).trim();
  }
  return found;
}

/** The Set-Cookie header that holds a session (`maxAgeSeconds` 0 clears it). */
export function sessionCookie(value: string, opts: { secure: boolean; maxAgeSeconds: number }): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`,
    ...(opts.secure ? ['Secure'] : []),
  ].join('; ');
}
