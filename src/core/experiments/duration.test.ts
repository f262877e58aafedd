import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DomainError } from '../errors.ts';
import { MAX_DURATION_MS, formatDuration, parseDuration, tryParseDuration } from './duration.ts';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5s', 1500],
    ['0.1s', 100],
    ['1d', 86_400_000],
    ['0', 0],
    ['0s', 0],
    [' 2m ', 120_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', /is empty/],
    ['30', /has no unit; write e.g./],
    ['2x', /cannot be read at '2x'/],
    ['30s2m', /repeats or reorders units/],
    ['1s1s', /repeats or reorders units/],
    ['0.5ms', /whole number of milliseconds/],
    ['400d', /longer than a year/],
    ['-1s', /cannot be read/],
    ['1 s', /cannot be read/],
  ])('refuses %j with a message that says what to write', (text, why) => {
    const r = tryParseDuration(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toMatch(why);
      expect(r.message).toMatch(/write e\.g\. '500ms', '30s', '2m', '1h' or '1m30s'/);
    }
  });

  it('throws a DomainError invalid for callers that want an exception', () => {
    expect(() => parseDuration('soon')).toThrow(DomainError);
    try {
      parseDuration('soon');
    } catch (e) {
      expect((e as DomainError).code).toBe('invalid');
    }
  });

  it('reads back what formatDuration writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
    expect(formatDuration(90_500)).toBe('1m30s500ms');
  });

  it('never throws on arbitrary text through tryParseDuration', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        const r = tryParseDuration(s);
        if (r.ok) expect(Number.isInteger(r.ms) && r.ms >= 0 && r.ms <= MAX_DURATION_MS).toBe(true);
      }),
    );
  });
});
