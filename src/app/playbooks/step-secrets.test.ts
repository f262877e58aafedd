import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactor } from './step-secrets.ts';

describe('masking opened secrets in what a step gives back', () => {
  const mask = redactor({ 'api-token': 'SEKRETVALUE-0123456789' });

  it('replaces every whole value, in strings and in the keys and strings of JSON', () => {
    expect(mask('a SEKRETVALUE-0123456789 b SEKRETVALUE-0123456789')).toBe('a [sealed secret api-token] b [sealed secret api-token]');
    expect(mask({ 'SEKRETVALUE-0123456789': 1, k: ['x SEKRETVALUE-0123456789'] })).toEqual({
      '[sealed secret api-token]': 1,
      k: ['x [sealed secret api-token]'],
    });
  });

  it('masks the start of a value left at the end of text cut short by a size limit', () => {
    expect(mask('output … SEKRETVALUE-012')).toBe('output … [sealed secret api-token, cut]');
    // Three characters are too few to tell from ordinary text.
    expect(mask('ends with SEK')).toBe('ends with SEK');
  });

  it('leaves neither the value nor four or more of its first characters at a cut (fuzz)', () => {
    const v = 'SEKRETVALUE-0123456789';
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), fc.nat({ max: 110 }), (before, after, cut) => {
        const out = mask(`${before}${v}${after}`.slice(0, cut));
        expect(out.includes(v)).toBe(false);
        const kept = cut - before.length;
        if (kept >= 4 && kept < v.length) expect(out.endsWith(v.slice(0, kept))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
