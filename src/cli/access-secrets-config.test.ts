/** The sealed secrets' key file as configuration: the serve flag, the environment and the config file, in that precedence. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '../../test/support/tmp.ts';
import { loadConfig } from '../config.ts';

let dir: { path: string; cleanup(): Promise<void> };
beforeAll(async () => {
  dir = await tmpDir('bulwark-secrets-config-');
});
afterAll(async () => {
  await dir.cleanup();
});

describe('secrets.keyFile', () => {
  it('is read from the config file, the environment and the --secrets-key-file flag, in rising precedence', () => {
    const file = path.join(dir.path, 'bulwark.yaml');
    writeFileSync(file, 'secrets:\n  keyFile: /etc/bulwark/from-file.json\n');
    expect(loadConfig({}, {}).secrets.keyFile).toBeUndefined();
    expect(loadConfig({ config: file }, {}).secrets.keyFile).toBe('/etc/bulwark/from-file.json');
    const env = { BULWARK_SECRETS_KEY_FILE: '/run/secrets/from-env.json' };
    expect(loadConfig({ config: file }, env).secrets.keyFile).toBe('/run/secrets/from-env.json');
    expect(loadConfig({ config: file, 'secrets.keyFile': '/mnt/from-flag.json' }, env).secrets.keyFile).toBe('/mnt/from-flag.json');
  });

  it('refuses an empty path or an unknown key under secrets, naming it', () => {
    const file = path.join(dir.path, 'bad.yaml');
    writeFileSync(file, 'secrets:\n  keyfile: x\n');
    expect(() => loadConfig({ config: file }, {})).toThrow(/secrets/);
    expect(() => loadConfig({ 'secrets.keyFile': '' }, {})).toThrow(/secrets\.keyFile/);
  });
});
