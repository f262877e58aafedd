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
  const newestFile = () =>
    existsSync(opts.dir)
      ? readdirSync(opts.dir)
          .filter((f) => /^checkpoint-\d+-[0-9a-f]+\.pem$/.test(f))
          .sort()
          .at(-1)
      : undefined;
  let current: SigningKey;
  let loadedFrom: string | undefined;
  if (opts.keyPath) {
    current = load(opts.keyPath);
  } else {
    loadedFrom = newestFile();
    if (loadedFrom) current = load(path.join(opts.dir, loadedFrom));
    else {
      current = generateSigningKey(opts.name);
      loadedFrom = path.basename(write(current));
    }
  }
  return {
    // A rotation by another process (the CLI beside a running server) writes a newer file;
    // picking it up here means the server signs with the new key without a restart.
    current: () => {
      const newest = opts.keyPath ? undefined : newestFile();
      if (newest && newest !== loadedFrom) {
        current = load(path.join(opts.dir, newest));
        loadedFrom = newest;
      }
      return current;
    },
    rotate: () => {
      if (opts.keyPath) throw new Error('the checkpoint key was given by path; rotate it by giving a new path');
      const next = generateSigningKey(opts.name);
      loadedFrom = path.basename(write(next));
      current = next;
      return next;
    },
  };
}
