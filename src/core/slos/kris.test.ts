import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateKri, KRI_NAMES } from './kris.ts';

const RANK = { green: 0, amber: 1, red: 2 } as const;

describe('KRIs', () => {
  it('colours by the thresholds, never less red for a larger count', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KRI_NAMES), fc.nat(100), fc.nat(100), (kri, a, b) => {
        const x = evaluateKri(kri, { value: Math.min(a, b) });
        const y = evaluateKri(kri, { value: Math.max(a, b) });
        expect(RANK[x.colour as keyof typeof RANK]).toBeLessThanOrEqual(RANK[y.colour as keyof typeof RANK]);
        expect(evaluateKri(kri, { value: x.red }).colour).toBe('red');
        expect(evaluateKri(kri, { value: x.amber - 1 }).colour).toBe('green');
      }),
      { numRuns: 100 },
    );
  });

  it('is unknown, never green, when it could not be counted', () => {
    expect(evaluateKri('techniques-not-exercised-30d', { value: null, unknownBecause: 'no coverage' })).toMatchObject({
      colour: 'unknown',
      why: 'no coverage',
      value: null,
    });
  });
});
