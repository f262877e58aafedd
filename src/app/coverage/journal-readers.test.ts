/**
 * The readers of stored journals (per-control results, tags, whether a rule fired) take any JSON a
 * journal may hold — runs from older releases, hand-edited rows — without throwing, and keep only
 * what is well formed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Json } from '../../core/ledger/entry.ts';
import { ruleFiredIn } from '../experiments/runner/regression.ts';
import { journalControls, journalTags } from './coverage.ts';

const journalLike = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({ bulwark: fc.record({ controls: fc.jsonValue({ maxDepth: 3 }), detections: fc.jsonValue({ maxDepth: 3 }) }) }),
  fc.record({
    bulwark: fc.record({
      controls: fc.array(
        fc.record({
          control: fc.oneof(fc.string(), fc.integer()),
          results: fc.array(fc.oneof(fc.string(), fc.constantFrom('blocked', 'logged'))),
        }),
        { maxLength: 4 },
      ),
    }),
    experiment: fc.record({ tags: fc.jsonValue({ maxDepth: 2 }) }),
  }),
);

describe('journal readers', () => {
  it('read what runs recorded, and nothing from runs that did not', () => {
    const j = {
      experiment: { tags: ['pci', 3] },
      bulwark: {
        controls: [{ control: 'waf', results: ['blocked', 'bogus'], alertedTtdMs: 5, loggedTtdMs: 'x' }, { control: '' }],
        detections: [{ name: 'd', rule: '942100', ruleFired: { signal: 's', source: 'waf', ttdMs: 3 } }],
      },
    } as unknown as Json;
    expect(journalControls(j)).toEqual([{ control: 'waf', results: ['blocked'], alertedTtdMs: 5, loggedTtdMs: null }]);
    expect(journalTags(j)).toEqual(['pci']);
    expect(ruleFiredIn(j, 'd', '942100')).toBe(true);
    expect(ruleFiredIn(j, 'd', '941100')).toBeUndefined();
    expect(journalControls({})).toBeUndefined();
    expect(ruleFiredIn({ bulwark: { detections: [{ name: 'd', rule: 'r', ruleFired: null }] } }, 'd', 'r')).toBe(false);
  });

  it('property: any journal is read without throwing', () => {
    fc.assert(
      fc.property(journalLike, fc.string({ maxLength: 5 }), (j, name) => {
        const controls = journalControls(j as Json);
        for (const c of controls ?? []) {
          expect(typeof c.control).toBe('string');
          for (const r of c.results) expect(['blocked', 'alerted', 'logged', 'none']).toContain(r);
        }
        for (const t of journalTags(j as Json) ?? []) expect(typeof t).toBe('string');
        expect([true, false, undefined]).toContain(ruleFiredIn(j, name, name));
      }),
      { numRuns: 150 },
    );
  });
});
