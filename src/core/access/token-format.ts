/**
 * API tokens look like `bwk_<id>_<secret>`: the id finds the row, the SHA-256 of the whole token
 * is compared in constant time. 256 bits of secret make a slow password hash unnecessary.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const TOKEN = /^bwk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface MintedToken {
  id: string;
  token: string;
  hash: Buffer;
}

export function mintToken(random: (n: number) => Buffer = randomBytes): MintedToken {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const id = [...random(12)].map((b) => alphabet[b % alphabet.length]).join('');
  const token = `bwk_${id}_${random(32).toString('base64url')}`;
  return { id, token, hash: hashToken(token) };
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The id inside a well-formed token, or undefined. */
export function tokenId(token: string): string | undefined {
  return TOKEN.exec(token)?.[1];
}

export function tokenMatches(token: string, hash: Buffer): boolean {
  const h = hashToken(token);
  return h.length === hash.length && timingSafeEqual(h, hash);
}

/** Replace anything shaped like a token with a marker; used on every log line. */
export function scrubTokens(text: string): string {
  return text.replace(/bwk_[a-z0-9]{12}_[A-Za-z0-9_-]+/g, 'bwk_[REDACTED]');
}

/** The secret part of a well-formed token (for tests and checks that it never leaks). */
export function tokenSecret(token: string): string | undefined {
  return TOKEN.exec(token)?.[2];
}
