/**
 * Checkpoint keys as PKCS#8 PEM files (mode 0600) in `<dataDir>/keys/`, or one file given by
 * path. The newest file is current; rotation writes a new one and keeps the old for reference.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { generateSigningKey, signingKeyFrom, type KeyRing, type SigningKey } from '../app/ledger/key-ring.ts';

export function fileKeyRing(opts: { dir: string; name: string; keyPath?: string }): KeyRing {
  const load = (file: string): SigningKey => {
    const pem = readFileSync(file, 'utf8');
    let key;
    try {
      key = createPrivateKey(pem);
    } catch (e) {
      throw new Error(`checkpoint key ${file} is not a PEM private key: ${(e as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`checkpoint key ${file} must be Ed25519, not ${key.asymmetricKeyType}`);
    return signingKeyFrom(opts.name, key);
  };
  const write = (k: SigningKey): string => {
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    const file = path.join(opts.dir, `checkpoint-${Date.now()}-${k.keyId}.pem`);
    writeFileSync(file, k.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    chmodSync(file, 0o600);
    return file;
  };
  let current: SigningKey;
  if (opts.keyPath) {
    current = load(opts.keyPath);
  } else {
    const files = existsSync(opts.dir)
      ? readdirSync(opts.dir)
          .filter((f) => /^checkpoint-\d+-[0-9a-f]+\.pem$/.test(f))
          .sort()
      : [];
    const newest = files.at(-1);
    if (newest) current = load(path.join(opts.dir, newest));
    else {
      current = generateSigningKey(opts.name);
      write(current);
    }
  }
  return {
    current: () => current,
    rotate: () => {
      if (opts.keyPath) throw new Error('the checkpoint key was given by path; rotate it by giving a new path');
      const next = generateSigningKey(opts.name);
      write(next);
      current = next;
      return next;
    },
  };
}
