/** An experiment file's labels (`x-labels`): string values only, never a throw on any text. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fileLabels } from './resource-labels.ts';

describe('file labels', () => {
  it('reads the string values of x-labels, from YAML and JSON, and leaves the rest out', () => {
    expect(fileLabels('title: t\nx-labels: { team: checkout, tier: staging, n: 3, list: [a] }\n')).toEqual({
      team: 'checkout',
      tier: 'staging',
    });
    expect(fileLabels('{"title": "t", "x-labels": {"team": "payments", "constructor": "x"}}')).toEqual({
      team: 'payments',
      constructor: 'x',
    });
    expect(fileLabels('title: t\n')).toEqual({});
    expect(fileLabels('x-labels: [team]\n')).toEqual({});
    expect(fileLabels('- a\n- b\n')).toEqual({});
    expect(fileLabels('x-labels: {team: [unclosed\n')).toEqual({});
  });

  it('never throws, and yields only strings, on any text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ 'x-labels': v })),
        ),
        (text) => {
          const labels = fileLabels(text);
          expect(Object.values(labels).every((v) => typeof v === 'string')).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});
