/**
 * The sealing keys in one file outside the database: `<dataDir>/secret-keys.json` by default, or a
 * path given (a mounted secret, say). Created with mode 0600 on first use; refused when others may
 * read it. Rotation adds a key and makes it current; the old ones stay until every sealed value
 * has been re-sealed, then are retired (removed from the file). Writes go to a temporary file
 * renamed over the old one, so a crash leaves either file whole. Another process that rotated
 * (the CLI beside a running server) is noticed by the file's change time.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KEY_ID } from '../../core/access/sealed.ts';
import type { SecretKey, SecretKeys } from '../../core/access/sealed.ts';

const FORMAT = 'bulwark-secret-keys/1';

interface KeyFile {
  format: typeof FORMAT;
  current: string;
  keys: Record<string, string>;
}

const newSecretKey = (): SecretKey => ({ id: randomBytes(8).toString('hex'), key: randomBytes(32) });

export const DEFAULT_SECRET_KEY_FILE = 'secret-keys.json';

export function fileSecretKeys(file: string): SecretKeys {
  let keys = new Map<string, SecretKey>();
  let currentId = '';
  let seen = '';

  const stamp = (): string => {
    const s = statSync(file);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  };
  const write = (): void => {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const body: KeyFile = {
      format: FORMAT,
      current: currentId,
      keys: Object.fromEntries([...keys].map(([id, k]) => [id, k.key.toString('base64')])),
    };
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
    seen = stamp();
  };
  const load = (): void => {
    const mode = statSync(file).mode & 0o077;
    if (mode !== 0)
      throw new Error(
        `the secret key file ${file} may be read by others (mode ${(statSync(file).mode & 0o777).toString(8)}); chmod 600 it`,
      );
    let parsed: KeyFile;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
    } catch (e) {
      // Only where: JSON.parse's message quotes the text around the fault, which is key material.
      const at = /position (\d+)/.exec((e as Error).message)?.[1];
      throw new Error(`the secret key file ${file} is not valid JSON${at === undefined ? '' : ` (at position ${at})`}`);
    }
    if (parsed?.format !== FORMAT || typeof parsed.keys !== 'object' || parsed.keys === null)
      throw new Error(`the secret key file ${file} is not a Bulwark key file (format ${FORMAT})`);
    const next = new Map<string, SecretKey>();
    for (const [id, b64] of Object.entries(parsed.keys)) {
      const key = typeof b64 === 'string' ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
      if (!KEY_ID.test(id) || key.length !== 32)
        throw new Error(`the secret key file ${file}: key ${id} is not a 16-hex-digit id with 32 bytes of key`);
      next.set(id, { id, key });
    }
    if (!next.has(parsed.current)) throw new Error(`the secret key file ${file}: its current key ${parsed.current} is not among its keys`);
    keys = next;
    currentId = parsed.current;
    seen = stamp();
  };
  const refresh = (): void => {
    if (stamp() !== seen) load();
  };

  if (existsSync(file)) load();
  else {
    const k = newSecretKey();
    keys.set(k.id, k);
    currentId = k.id;
    write();
  }

  return {
    where: `the key file ${file}`,
    current: () => {
      refresh();
      return keys.get(currentId)!;
    },
    get: (id) => {
      if (!keys.has(id)) refresh();
      return keys.get(id);
    },
    rotate: () => {
      refresh();
      const k = newSecretKey();
      keys.set(k.id, k);
      currentId = k.id;
      write();
      return k;
    },
    retire: (ids) => {
      refresh();
      const gone = ids.filter((id) => id !== currentId && keys.has(id));
      if (gone.length === 0) return [];
      for (const id of gone) keys.delete(id);
      write();
      return gone;
    },
    ids: () => {
      refresh();
      return [...keys.keys()];
    },
  };
}
