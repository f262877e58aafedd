import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadConfig } from './config.ts';
import { DomainError } from './core/errors.ts';
import { tmpDir } from '../test/support/tmp.ts';

describe('configuration', () => {
  it('takes flags over environment over file over defaults', async () => {
    const d = await tmpDir('bulwark-config-');
    const file = path.join(d.path, 'bulwark.yaml');
    writeFileSync(file, 'port: 7000\nhost: 0.0.0.0\nlogLevel: warn\ncheckpoint:\n  intervalSeconds: 5\n');
    const c = loadConfig({ config: file, port: '7002' }, { BULWARK_PORT: '7001', BULWARK_HOST: '::1' });
    expect(c).toMatchObject({ port: 7002, host: '::1', logLevel: 'warn', checkpoint: { intervalSeconds: 5, keyName: 'bulwark' } });
    expect(c.db).toBe('sqlite:' + path.join('.bulwark', 'bulwark.db'));
    expect(Object.isFrozen(c)).toBe(true);
    await d.cleanup();
  });

  it('names the setting that is wrong', () => {
    expect(() => loadConfig({ port: 'eighty' }, {})).toThrow(/port/);
    expect(() => loadConfig({}, { BULWARK_LOG_LEVEL: 'loud' })).toThrow(/logLevel/);
  });

  it('rejects unknown keys and non-mapping files with an invalid error', async () => {
    const d = await tmpDir('bulwark-config-');
    const file = path.join(d.path, 'c.yaml');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ extra: v })),
        ),
        (text) => {
          writeFileSync(file, text);
          try {
            loadConfig({ config: file }, {});
          } catch (e) {
            expect(e).toBeInstanceOf(DomainError);
          }
        },
      ),
      { numRuns: 300 },
    );
    await d.cleanup();
  });
});
