/**
 * Sealed values: AES-256-GCM ciphertexts under a key kept outside the database. A sealed value is
 * one line of text, `bws1.<key id>.<iv>.<ciphertext>.<tag>` (base64url), so that it fits the text
 * columns that held plain values before and names the key it needs. The crypto itself is at the
 * edge (app/access/sealer.ts); this file only reads and writes the format and the names.
 */

/** A secret's name: lowercase letters, digits and . _ -, 1–63 characters, starting with a letter or digit. */
export const SECRET_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const SECRET_NAME_RULE = 'a secret name is 1–63 lowercase letters, digits and . _ -, starting with a letter or digit';

/** A key id: 16 lowercase hex digits. */
export const KEY_ID = /^[0-9a-f]{16}$/;

/** Largest value that can be sealed, in bytes of UTF-8 (a secret is a password or a token, not a file). */
export const MAX_SECRET_BYTES = 64 * 1024;

/** A sealing key (its bytes are made at the edge, with node:crypto). */
export interface SecretKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/** The sealing keys: one current, older ones kept until a rotation has re-sealed everything. */
export interface SecretKeys {
  /** Where the keys are kept (a file path, or `memory`), for messages and the docs. */
  readonly where: string;
  current(): SecretKey;
  /** The key with this id, or undefined when it was retired (or never known here). */
  get(id: string): SecretKey | undefined;
  /** Make a new key current; the old ones stay readable until retired. */
  rotate(): SecretKey;
  /**
   * Forget these keys (never the current one): the caller has checked that nothing stored still
   * names them. Returns the ids actually retired.
   */
  retire(ids: readonly string[]): string[];
  /** The ids of every key held. */
  ids(): string[];
}

export interface SealedParts {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

const PREFIX = 'bws1';
const B64URL = /^[A-Za-z0-9_-]*$/;

export function formatSealed(p: SealedParts): string {
  return [PREFIX, p.keyId, p.iv.toString('base64url'), p.ciphertext.toString('base64url'), p.tag.toString('base64url')].join('.');
}

/** Whether a stored text is a sealed value (rows written before sealing hold the plain value). */
export const isSealed = (text: string): boolean => text.startsWith(`${PREFIX}.`);

/** The parts of a sealed value, or undefined when it is not one (wrong prefix, key id, lengths or alphabet). */
export function parseSealed(text: string): SealedParts | undefined {
  const parts = text.split('.');
  if (parts.length !== 5 || parts[0] !== PREFIX) return undefined;
  const [, keyId, iv, ct, tag] = parts as [string, string, string, string, string];
  if (!KEY_ID.test(keyId) || ![iv, ct, tag].every((s) => B64URL.test(s))) return undefined;
  const out = { keyId, iv: Buffer.from(iv, 'base64url'), ciphertext: Buffer.from(ct, 'base64url'), tag: Buffer.from(tag, 'base64url') };
  if (out.iv.length !== 12 || out.tag.length !== 16) return undefined;
  return out;
}

/**
 * The additional data a value is sealed with: where it belongs. A ciphertext copied to another
 * row (another secret's name, another person's factor) fails to open there; a secret's version is
 * part of it, so an older ciphertext of the same name put back in the row fails too.
 */
export const sealContext = {
  secret: (name: string, version: number) => `bulwark:secret:${name}:v${version}`,
  totp: (principalId: string) => `bulwark:totp:${principalId}`,
  rollbacks: (runId: string) => `bulwark:run-rollbacks:${runId}`,
} as const;
