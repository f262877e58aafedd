import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../experiment-file.ts';
import { PROVIDER_TYPES, RUNNABLE_PROVIDER_TYPES, providerSchema, providerType, providerTypeNamed } from './index.ts';

const names = Object.keys(PROVIDER_TYPES);

describe('the provider type registry', () => {
  it('registers each module under its own type name, with every part', () => {
    for (const [name, t] of Object.entries(PROVIDER_TYPES)) {
      expect(t.type).toBe(name);
      expect(t.schema).toBeDefined();
      for (const part of ['secretScopes', 'rewriteStrings', 'toFile', 'describe', 'blastRadius', 'limitTargets'] as const) {
        expect(typeof t[part], `${name}.${part}`).toBe('function');
      }
      expect([0, 1, 2]).toContain(t.injectionTier);
      expect(typeof t.hostBound).toBe('boolean');
      const parts = t as { files?: unknown; executableRefusals?: unknown; backups?: unknown };
      // A type that changes files or starts executables acts on the host: it is privileged.
      if (parts.files !== undefined || parts.executableRefusals !== undefined || parts.backups !== undefined) {
        expect(t.hostBound, name).toBe(true);
      }
      if (parts.backups !== undefined) expect(parts.files, `${name} backs up what its files() name`).toBeDefined();
    }
  });

  it('the schema is the union of the registered types, in registry order', () => {
    const options = (providerSchema as unknown as { options: { _zod: { propValues: { type: Set<string> } } }[] }).options;
    expect(options.flatMap((o) => [...o._zod.propValues.type])).toEqual(names);
    const r = providerSchema.safeParse({ type: 'nope' });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain(names.join('","'));
  });

  it('the runnable types are those Bulwark does not refuse', () => {
    expect(RUNNABLE_PROVIDER_TYPES).toEqual(names.filter((n) => n !== 'python'));
  });

  it('looks a type up by a name from stored data only when it is registered', () => {
    expect(providerTypeNamed('file')).toBe(PROVIDER_TYPES.file);
    for (const bad of [undefined, null, 3, 'constructor', '__proto__', 'toString', 'HTTP']) expect(providerTypeNamed(bad)).toBeUndefined();
  });

  it('each type writes back to a file what it parsed from one', () => {
    const examples: Record<string, unknown> = {
      http: { type: 'http', url: 'http://127.0.0.1:8080/x?a=${a}', method: 'POST', headers: { A: 'b' }, body: { k: 1 }, timeout: [1, 2] },
      process: { type: 'process', path: '/bin/echo', arguments: ['a', 'b'], env: { X: '1' }, timeout: 3 },
      python: { type: 'python', module: 'm', func: 'f', arguments: { x: 1 } },
      tcp: { type: 'tcp', operation: 'connect', host: 'localhost', port: 80, send: 'hi' },
      file: { type: 'file', operation: 'modify', path: '/tmp/f', find: 'a', replace: 'b' },
    };
    expect(Object.keys(examples)).toEqual(names);
    for (const [name, raw] of Object.entries(examples)) {
      const p = providerSchema.parse(raw);
      expect(p.type).toBe(name);
      expect(providerType(p).toFile(p), name).toEqual(raw);
      expect(typeof providerType(p).describe(p)).toBe('string');
      // A rewrite that changes nothing gives an equal provider.
      const same = providerType(p).rewriteStrings(p, { str: (s) => s, json: (v) => v, invalid: () => {} });
      expect(same).toEqual(p);
    }
  });

  it('a file with every type parses, python with its warning', () => {
    const r = parseExperiment(
      JSON.stringify({
        title: 't',
        description: 'd',
        method: names.map((type, i) => ({
          type: 'action',
          name: `a${i}`,
          provider:
            type === 'http'
              ? { type, url: 'http://127.0.0.1/' }
              : type === 'process'
                ? { type, path: '/bin/true' }
                : type === 'python'
                  ? { type, module: 'm', func: 'f' }
                  : type === 'tcp'
                    ? { type, operation: 'connect', host: '127.0.0.1', port: 1 }
                    : { type, operation: 'write', path: '/tmp/x', content: '' },
        })),
      }),
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.warnings.map((w) => w.message).join()).toContain('python provider m.f cannot run');
  });
});
