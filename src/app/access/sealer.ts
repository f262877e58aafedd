/**
 * Sealing with AES-256-GCM (node:crypto): a fresh 96-bit IV per value, the value's place as
 * additional data (core/access/sealed.ts: sealContext), the key id beside the ciphertext. The
 * keys live outside the database (store/access/secret-key-file.ts); a process without them can
 * store and list nothing secret, and one that has them only decrypts where a value is used.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { invalid } from '../../core/errors.ts';
import { formatSealed, isSealed, parseSealed, type SecretKey, type SecretKeys } from '../../core/access/sealed.ts';

export type { SecretKey, SecretKeys };

declare module '../deps.ts' {
  interface AppDeps {
    /**
     * The sealing keys, when this process has them (the server sets them up from its data
     * directory; app/access/sealer.ts). Without them, sealed values can be neither made nor read.
     */
    secretKeys?: SecretKeys;
  }
}

export const newSecretKey = (): SecretKey => ({ id: randomBytes(8).toString('hex'), key: randomBytes(32) });

/** Keys held in memory only (tests; a server without a data directory). Lost with the process. */
export function memorySecretKeys(): SecretKeys {
  const keys = new Map<string, SecretKey>();
  let current = newSecretKey();
  keys.set(current.id, current);
  return {
    where: 'memory',
    current: () => current,
    get: (id) => keys.get(id),
    rotate: () => {
      current = newSecretKey();
      keys.set(current.id, current);
      return current;
    },
    retire: (ids) => {
      const gone = ids.filter((k) => k !== current.id && keys.has(k));
      for (const k of gone) keys.delete(k);
      return gone;
    },
    ids: () => [...keys.keys()],
  };
}

/** Seal `value` for its place `context` under the current key. */
export function seal(keys: SecretKeys, value: string, context: string): string {
  const k = keys.current();
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', k.key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return formatSealed({ keyId: k.id, iv, ciphertext, tag: cipher.getAuthTag() });
}

/**
 * Open a sealed value for its place. Throws a DomainError (`invalid`) that says what is wrong and
 * never quotes the value: not sealed, a key this process does not hold, or a ciphertext that
 * fails authentication (altered, or moved from another place).
 */
export function unseal(keys: SecretKeys, sealed: string, context: string): string {
  const p = parseSealed(sealed);
  if (!p) throw invalid(`the stored value for ${context} is not a sealed value`);
  const k = keys.get(p.keyId);
  if (!k)
    throw invalid(
      `the value for ${context} is sealed under key ${p.keyId}, which ${keys.where} does not hold; give the key file it was sealed with`,
    );
  try {
    const d = createDecipheriv('aes-256-gcm', k.key, p.iv);
    d.setAAD(Buffer.from(context, 'utf8'));
    d.setAuthTag(p.tag);
    return Buffer.concat([d.update(p.ciphertext), d.final()]).toString('utf8');
  } catch {
    throw invalid(`the sealed value for ${context} does not open with key ${p.keyId}: it was altered or belongs elsewhere`);
  }
}

/** The key id a sealed value names (undefined when the text is not sealed). */
export const sealedKeyId = (text: string): string | undefined => parseSealed(text)?.keyId;

/** Open a value that may be stored plain (rows from before sealing) or sealed. */
export function openStored(keys: SecretKeys | undefined, stored: string, context: string): string {
  if (!isSealed(stored)) return stored;
  if (!keys) throw invalid(`the value for ${context} is sealed and this process has no sealing keys`);
  return unseal(keys, stored, context);
}

/** Seal a value for storage when keys are at hand (every server has them); plain otherwise. */
export const sealForStorage = (keys: SecretKeys | undefined, value: string, context: string): string =>
  keys ? seal(keys, value, context) : value;
