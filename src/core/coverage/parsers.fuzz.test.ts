/** Every coverage parser takes any input without throwing: a value, or a message saying what is wrong. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ATTACK } from './attack.ts';
import { attackTableFrom } from './attack-source.ts';
import { parseCoverageExport } from './exports.ts';
import { computeCoverage } from './map.ts';
import { parseLayers } from './navigator.ts';
import { CoverageSettingsSchema, settingsProblems, techniquesInScope } from './settings.ts';

const anyJson = fc.oneof(fc.jsonValue(), fc.string());
/** Settings-shaped values: the right keys with values that are sometimes right. */
const settingsLike = fc.record(
  {
    scope: fc.record(
      {
        platforms: fc.array(fc.oneof(fc.constantFrom('Linux', 'Windows', 'IaaS'), fc.string())),
        tactics: fc.array(fc.oneof(fc.constantFrom(...ATTACK.tactics.map((t) => t.shortname)), fc.string())),
        techniques: fc.array(fc.oneof(fc.constantFrom('T1190', 'T1110.001', 'T9999'), fc.string())),
        profiles: fc.array(fc.constantFrom('a', 'b', '')),
      },
      { requiredKeys: [] },
    ),
    profiles: fc.dictionary(fc.constantFrom('a', 'b'), fc.array(fc.constantFrom('T1190', 'T1083', 'T1'))),
    staleAfterDays: fc.record({ default: fc.integer({ min: -5, max: 5000 }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

describe('coverage parsers under fuzzing', () => {
  it('settings: any value parses or is refused with issues; parsed ones are checked against the table without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(anyJson, settingsLike), (v) => {
        const r = CoverageSettingsSchema.safeParse(v);
        if (!r.success) {
          expect(r.error.issues.length).toBeGreaterThan(0);
          return;
        }
        const problems = settingsProblems(r.data, ATTACK);
        if (problems.length === 0) {
          const scope = techniquesInScope(r.data, ATTACK);
          const m = computeCoverage(ATTACK, r.data, [], new Date(0));
          expect(m.kris.inScope).toBe(scope.size);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('Navigator layers and the JSON export: any text is a value or a message', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          anyJson.map((v) => JSON.stringify(v)),
        ),
        (text) => {
          const l = parseLayers(text);
          if (!l.ok) expect(l.message).toMatch(/^not (JSON|a 4\.5 layer)/);
          const e = parseCoverageExport(text);
          if (!e.ok) expect(e.message).toMatch(/^not (JSON|a Bulwark coverage export)/);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the ATT&CK table reader: any value is a table or a plain error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ source: fc.string(), tactics: fc.array(fc.jsonValue()), techniques: fc.array(fc.jsonValue()) }),
          fc.record({ objects: fc.array(fc.jsonValue()) }),
        ),
        (v) => {
          try {
            const t = attackTableFrom(v, '1.0');
            expect(Array.isArray(t.techniques)).toBe(true);
          } catch (e) {
            expect(e).toBeInstanceOf(Error);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
