import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileProvider } from '../../core/experiments/types.ts';
import type { ProviderContext } from '../../app/experiments/runner/providers.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { ABSENT_SUFFIX, fileProvider } from './file.ts';

const ctx = (): ProviderContext => ({ runId: 'abcdefgh12345678', signal: new AbortController().signal, sent: () => {} });
const run = fileProvider();

let dir: TmpDir;
beforeEach(async () => {
  dir = await tmpDir('bulwark-file-');
});
afterEach(async () => {
  await dir.cleanup();
});

const f = (op: Partial<FileProvider> & Pick<FileProvider, 'operation'>): FileProvider => ({
  type: 'file',
  path: path.join(dir.path, 'app.conf'),
  ...op,
});

describe('file provider', () => {
  it('keeps the original in the backup before a change, and restores it once', async () => {
    const file = path.join(dir.path, 'app.conf');
    const backup = path.join(dir.path, 'b', 'app.conf.bak');
    writeFileSync(file, 'auth = on\nlog = on\n');
    await run(f({ operation: 'modify', find: 'auth = on', replace: 'auth = off', backup }), ctx());
    expect(readFileSync(file, 'utf8')).toBe('auth = off\nlog = on\n');
    expect(readFileSync(backup, 'utf8')).toBe('auth = on\nlog = on\n');
    // A second change keeps the first backup: it holds the original.
    await run(f({ operation: 'write', content: 'garbage', backup }), ctx());
    expect(readFileSync(backup, 'utf8')).toBe('auth = on\nlog = on\n');
    expect(await run(f({ operation: 'restore', backup }), ctx())).toMatchObject({ changed: true });
    expect(readFileSync(file, 'utf8')).toBe('auth = on\nlog = on\n');
    expect(existsSync(backup)).toBe(false);
    expect(await run(f({ operation: 'restore', backup }), ctx())).toMatchObject({ changed: false });
    expect(readFileSync(file, 'utf8')).toBe('auth = on\nlog = on\n');
  });

  it('removes on restore a file that did not exist before the change', async () => {
    const file = path.join(dir.path, 'app.conf');
    const backup = path.join(dir.path, 'app.conf.bak');
    await run(f({ operation: 'write', content: 'planted canary', backup }), ctx());
    expect(readFileSync(file, 'utf8')).toBe('planted canary');
    expect(existsSync(backup + ABSENT_SUFFIX)).toBe(true);
    await run(f({ operation: 'restore', backup }), ctx());
    expect(existsSync(file)).toBe(false);
    expect(existsSync(backup + ABSENT_SUFFIX)).toBe(false);
  });

  it('changes nothing and keeps no backup when the text to modify is not there', async () => {
    const file = path.join(dir.path, 'app.conf');
    const backup = path.join(dir.path, 'app.conf.bak');
    writeFileSync(file, 'auth = on\n');
    await expect(run(f({ operation: 'modify', find: 'missing', replace: 'x', backup }), ctx())).rejects.toThrow(
      /not in it; nothing was changed/,
    );
    expect(readFileSync(file, 'utf8')).toBe('auth = on\n');
    expect(existsSync(backup)).toBe(false);
  });
});
