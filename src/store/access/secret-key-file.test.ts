/** The key file: created 0600, refused when others may read it or when it is not a key file, rotation seen by another reader. */
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '../../../test/support/tmp.ts';
import { fileSecretKeys } from './secret-key-file.ts';

let dir: { path: string; cleanup(): Promise<void> };
beforeAll(async () => {
  dir = await tmpDir('bulwark-keys-');
});
afterAll(async () => {
  await dir.cleanup();
});

describe('secret key file', () => {
  it('is created 0600 on first use and read back by the next process', () => {
    const file = path.join(dir.path, 'sub', 'secret-keys.json');
    const a = fileSecretKeys(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const b = fileSecretKeys(file);
    expect(b.current()).toEqual(a.current());
  });

  it('shows a rotation by one process to another, and retires the old key from the file', () => {
    const file = path.join(dir.path, 'rot.json');
    const a = fileSecretKeys(file);
    const b = fileSecretKeys(file);
    const old = a.current().id;
    const next = a.rotate();
    expect(b.get(next.id)?.key).toEqual(next.key);
    expect(b.current().id).toBe(next.id);
    expect(a.retire([old, next.id])).toEqual([old]);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).keys)).toEqual([next.id]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses a file others may read, or one that is not a key file, saying what to fix', () => {
    const open = path.join(dir.path, 'open.json');
    fileSecretKeys(open);
    chmodSync(open, 0o644);
    expect(() => fileSecretKeys(open)).toThrow(/chmod 600/);
    const junk = path.join(dir.path, 'junk.json');
    writeFileSync(junk, '{"format":"x"}', { mode: 0o600 });
    expect(() => fileSecretKeys(junk)).toThrow(/not a Bulwark key file/);
    writeFileSync(junk, 'nope', { mode: 0o600 });
    expect(() => fileSecretKeys(junk)).toThrow(/not valid JSON/);
  });

  it('says where a corrupt key file breaks, never quoting its text (key material)', () => {
    const file = path.join(dir.path, 'corrupt.json');
    const key = Buffer.alloc(32, 7).toString('base64');
    for (const text of [`{"format":"bulwark-secret-keys/1","keys":{"0123456789abcdef":"${key}" x}}`, `${key}`, `{"keys":"${key}`]) {
      writeFileSync(file, text, { mode: 0o600 });
      let message = '';
      try {
        fileSecretKeys(file);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/is not valid JSON/);
      expect(message).not.toContain(key.slice(0, 8));
    }
    writeFileSync(file, `{"format":"bulwark-secret-keys/1","keys":{"0123456789abcdef":"${key}" x}}`, { mode: 0o600 });
    expect(() => fileSecretKeys(file)).toThrow(/at position \d+/);
  });
});
