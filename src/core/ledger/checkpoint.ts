/**
 * Signed checkpoints in the signed-note format used by transparency logs (C2SP tlog-checkpoint
 * and signed-note): a body of origin, tree size and base64 root, optional extension lines, a
 * blank line, then one `— NAME BASE64(keyID || signature)` line per signature. Ed25519 only; the
 * key ID is the first 4 bytes of SHA-256(name || "\n" || 0x01 || public key).
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Hash } from './merkle.ts';

export interface Checkpoint {
  origin: string;
  size: number;
  root: Hash;
  /** Extension lines after the root; Bulwark writes `time RFC3339`. */
  extensions: string[];
}

export interface NoteSignature {
  name: string;
  keyId: Buffer;
  signature: Buffer;
}

export interface SignedCheckpoint extends Checkpoint {
  note: string;
  signatures: NoteSignature[];
}

const ED25519_ALG = 0x01;
const EM_DASH = '\u2014';

export function checkpointBody(c: Checkpoint): string {
  for (const line of [c.origin, ...c.extensions]) {
    if (line.length === 0 || /[\n\r]/.test(line)) throw new Error('checkpoint lines must be non-empty single lines');
  }
  return [c.origin, String(c.size), c.root.toString('base64'), ...c.extensions].join('\n') + '\n';
}

/** Raw 32-byte Ed25519 public key of a key object. */
export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x) throw new Error('checkpoint keys must be Ed25519');
  return Buffer.from(jwk.x, 'base64url');
}

export function publicKeyFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

export function noteKeyId(name: string, rawPublic: Buffer): Buffer {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(name + '\n', 'utf8'), Buffer.from([ED25519_ALG]), rawPublic]))
    .digest()
    .subarray(0, 4);
}

/** The verifier key string of signed-note tooling: NAME+HEXKEYID+BASE64(0x01 || key). */
export function verifierKey(name: string, rawPublic: Buffer): string {
  return `${name}+${noteKeyId(name, rawPublic).toString('hex')}+${Buffer.concat([Buffer.from([ED25519_ALG]), rawPublic]).toString('base64')}`;
}

export function signCheckpoint(c: Checkpoint, name: string, privateKey: KeyObject, publicKey: KeyObject): SignedCheckpoint {
  const body = checkpointBody(c);
  const sig = sign(null, Buffer.from(body, 'utf8'), privateKey);
  const keyId = noteKeyId(name, rawPublicKey(publicKey));
  const note = `${body}\n${EM_DASH} ${name} ${Buffer.concat([keyId, sig]).toString('base64')}\n`;
  return { ...c, note, signatures: [{ name, keyId, signature: sig }] };
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parse a signed note holding a checkpoint; does not check signatures. */
export function parseCheckpointNote(note: string): ParseResult<SignedCheckpoint> {
  const sep = note.lastIndexOf('\n\n');
  if (sep < 0) return { ok: false, reason: 'a signed note needs a blank line between the body and the signatures' };
  const body = note.slice(0, sep + 1);
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) return { ok: false, reason: 'a checkpoint body has origin, size and root lines' };
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!origin) return { ok: false, reason: 'the origin line is empty' };
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    return { ok: false, reason: `the size line "${sizeText.slice(0, 40)}" is not a decimal integer` };
  }
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== 32 || root.toString('base64') !== rootText) {
    return { ok: false, reason: 'the root line is not the base64 of 32 bytes' };
  }
  const sigLines = note.slice(sep + 2).split('\n');
  if (sigLines[sigLines.length - 1] === '') sigLines.pop();
  if (sigLines.length === 0) return { ok: false, reason: 'the note has no signature lines' };
  const signatures: NoteSignature[] = [];
  for (const line of sigLines) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) return { ok: false, reason: `"${line.slice(0, 60)}" is not a signature line (— NAME BASE64)` };
    const blob = Buffer.from(m[2]!, 'base64');
    if (blob.length < 5) return { ok: false, reason: `signature of ${m[1]} is too short` };
    signatures.push({ name: m[1]!, keyId: blob.subarray(0, 4), signature: blob.subarray(4) });
  }
  return {
    ok: true,
    value: { origin, size: Number(sizeText), root, extensions, note, signatures },
  };
}

export interface TrustedKey {
  name: string;
  publicKey: Buffer;
}

/**
 * Check that at least one signature on the note is a valid Ed25519 signature by a trusted key.
 * Signatures by unknown keys are ignored, as signed-note verifiers do.
 */
export function verifyCheckpointSignature(c: SignedCheckpoint, trusted: readonly TrustedKey[]): ParseResult<TrustedKey> {
  const body = Buffer.from(checkpointBody(c), 'utf8');
  for (const s of c.signatures) {
    for (const k of trusted) {
      if (k.name !== s.name || !noteKeyId(k.name, k.publicKey).equals(s.keyId)) continue;
      if (verify(null, body, publicKeyFromRaw(k.publicKey), s.signature)) return { ok: true, value: k };
      return { ok: false, reason: `the signature by ${k.name} (${s.keyId.toString('hex')}) does not verify` };
    }
  }
  return { ok: false, reason: 'no signature on the checkpoint is by a trusted key' };
}

export function checkpointTime(c: Checkpoint): string | undefined {
  const ext = c.extensions.find((l) => l.startsWith('time '));
  return ext?.slice(5);
}
