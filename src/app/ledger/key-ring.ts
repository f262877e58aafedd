/**
 * Checkpoint signing keys. The current private key signs new checkpoints; every public key ever
 * used is recorded in the store (and in the ledger) so old checkpoints keep verifying after a
 * rotation. Where private keys live is the KeyFiles port's business (adapters/key-files.ts).
 */
import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto';
import { noteKeyId, rawPublicKey, type TrustedKey } from '../../core/ledger/checkpoint.ts';
import type { LedgerKeyRecord } from '../../store/ledger/port.ts';

export interface SigningKey {
  name: string;
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  rawPublic: Buffer;
}

export interface KeyRing {
  current(): SigningKey;
  /** Make a new key current; the caller records the public key. */
  rotate(): SigningKey;
}

export function signingKeyFrom(name: string, privateKey: KeyObject): SigningKey {
  const publicKey = createPublicKey(privateKey);
  const rawPublic = rawPublicKey(publicKey);
  return { name, keyId: noteKeyId(name, rawPublic).toString('hex'), privateKey, publicKey, rawPublic };
}

export function generateSigningKey(name: string): SigningKey {
  return signingKeyFrom(name, generateKeyPairSync('ed25519').privateKey);
}

export function keyRecord(k: SigningKey, createdAt: string): LedgerKeyRecord {
  return { keyId: k.keyId, name: k.name, publicKey: k.rawPublic.toString('base64'), createdAt, retiredAt: null };
}

export function trustedFromRecords(records: readonly LedgerKeyRecord[]): TrustedKey[] {
  return records.map((r) => ({ name: r.name, publicKey: Buffer.from(r.publicKey, 'base64') }));
}

/** A key ring held in memory only: for tests and throwaway runs. */
export function memoryKeyRing(name = 'bulwark-test'): KeyRing {
  let key = generateSigningKey(name);
  return {
    current: () => key,
    rotate: () => (key = generateSigningKey(name)),
  };
}
