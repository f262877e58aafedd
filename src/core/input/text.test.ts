import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { textProblem } from './text.ts';

/** What a database does to a JS string: encode as UTF-8, decode again. */
const roundTrip = (s: string) => Buffer.from(s, 'utf8').toString('utf8');

describe('textProblem', () => {
  it('accepts ordinary text, astral characters, both normal forms and controls other than NUL', () => {
    for (const s of ['', 'plain', '😀 emoji', 'e\u0301', '\u00e9', 'tab\tnew\nline\r', '\u200f\u202e', '\u0001'])
      expect(textProblem(s)).toBeUndefined();
  });

  it('names a lone surrogate, NUL and the noncharacters with their offset', () => {
    expect(textProblem('ab\ud800')).toMatch(/lone surrogate \(U\+D800\) at offset 2/);
    expect(textProblem('\udc00x')).toMatch(/lone surrogate \(U\+DC00\)/);
    expect(textProblem('x\u0000')).toMatch(/NUL/);
    expect(textProblem('\ufdd0')).toMatch(/noncharacter U\+FDD0/);
    expect(textProblem('\uffff')).toMatch(/noncharacter U\+FFFF/);
    expect(textProblem('\u{1fffe}')).toMatch(/noncharacter U\+1FFFE/);
    expect(textProblem('\u{10ffff}')).toMatch(/noncharacter U\+10FFFF/);
  });

  it('accepts exactly the strings that survive UTF-8 unchanged, less NUL and noncharacters', () => {
    const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (s) => {
        const accepted = textProblem(s) === undefined;
        if (accepted) expect(roundTrip(s)).toBe(s);
        if (roundTrip(s) !== s) expect(accepted).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
