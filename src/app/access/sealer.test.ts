/**
 * Sealing: a value opens only with its key and its place; any text that is not a sealed value, or
 * a sealed value altered anywhere, is refused with a DomainError and never a crash.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../core/errors.ts';
import { isSealed, parseSealed } from '../../core/access/sealed.ts';
import { memorySecretKeys, openStored, seal, unseal } from './sealer.ts';

describe('sealer', () => {
  const keys = memorySecretKeys();

  it('opens what it sealed, in its place only, and never holds the value in the clear', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), (value) => {
        const s = seal(keys, value, 'bulwark:secret:a');
        expect(isSealed(s)).toBe(true);
        if (value.length >= 4) expect(s).not.toContain(value);
        expect(unseal(keys, s, 'bulwark:secret:a')).toBe(value);
        expect(() => unseal(keys, s, 'bulwark:secret:b')).toThrow(DomainError);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses any other text, and any one character changed, without a crash', () => {
    const good = seal(keys, 'hunter2', 'ctx');
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), fc.nat(), fc.constantFrom(...'AbZ09_-.x'), (junk, at, ch) => {
        const bad = [...good];
        bad[at % bad.length] = ch;
        for (const text of [junk, `bws1.${junk}`, bad.join('')]) {
          // A changed last character of a base64 field can decode to the same bytes: that is the same value.
          if (text === good || JSON.stringify(parseSealed(text)) === JSON.stringify(parseSealed(good))) continue;
          expect(() => unseal(keys, text, 'ctx')).toThrow(DomainError);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('reads rows stored plain before sealing as they are, and refuses a key it does not hold', () => {
    expect(openStored(keys, 'JBSWY3DPEHPK3PXP', 'ctx')).toBe('JBSWY3DPEHPK3PXP');
    const other = memorySecretKeys();
    expect(() => unseal(keys, seal(other, 'v', 'ctx'), 'ctx')).toThrow(/does not hold/);
    expect(() => openStored(undefined, seal(other, 'v', 'ctx'), 'ctx')).toThrow(/no sealing keys/);
  });

  it('keeps the old key readable after a rotation until it is retired', () => {
    const k = memorySecretKeys();
    const old = seal(k, 'v', 'ctx');
    const from = k.current().id;
    const next = k.rotate();
    expect(unseal(k, old, 'ctx')).toBe('v');
    expect(k.retire([from, next.id])).toEqual([from]);
    expect(() => unseal(k, old, 'ctx')).toThrow(/does not hold/);
  });
});
