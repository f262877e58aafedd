import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OUTCOMES } from '../experiments/outcome.ts';
import { ATTACK } from './attack.ts';
import { computeCoverage, CoverageAccumulator, evidenceOf, percentile, type CoverageRun } from './map.ts';
import { referenceCoverage } from './map-reference.ts';
import { CoverageSettingsSchema, DEFAULT_SETTINGS, settingsProblems, staleAfterDaysFor, techniquesInScope } from './settings.ts';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const DAY = 86_400_000;
const at = (ms: number) => new Date(ms).toISOString();
const run = (id: string, outcome: string, endMs: number, techniques = ['T1190'], ttdMs: number | null = null): CoverageRun => ({
  id,
  experiment: 'sqli',
  techniques,
  outcome,
  startedAt: at(endMs - 1000),
  endedAt: at(endMs),
  ttdMs,
});
const cell = (m: ReturnType<typeof computeCoverage>, id: string) => m.cells.find((c) => c.technique === id)!;

describe('evidence from outcomes', () => {
  it('maps prevented to blocked, detected and detected-late to alerted, missed to none, and counts nothing else', () => {
    expect(Object.fromEntries(OUTCOMES.map((o) => [o, evidenceOf(o)]))).toEqual({
      'rollback-failed': null,
      'not-run': null,
      aborted: null,
      errored: null,
      prevented: 'blocked',
      detected: 'alerted',
      'detected-late': 'alerted',
      missed: 'none',
    });
  });

  it('never lets a not-run, aborted or errored run make a technique exercised', () => {
    const m = computeCoverage(
      ATTACK,
      DEFAULT_SETTINGS,
      [run('a', 'not-run', T0), run('b', 'aborted', T0), run('c', 'errored', T0)],
      new Date(T0),
    );
    expect(cell(m, 'T1190')).toMatchObject({ status: 'never', runs: 0, lastRun: null });
  });
});

describe('the map', () => {
  it('shows the last run’s evidence, the experiments, and time to detect (last, p50, p90)', () => {
    const runs = [
      run('r1', 'detected', T0, ['T1190'], 100),
      run('r2', 'detected-late', T0 + 1000, ['T1190'], 900),
      run('r3', 'prevented', T0 + 2000, ['T1190', 'T1110.001'], 300),
      { ...run('r4', 'missed', T0 + 3000, ['T1110.001']), experiment: 'brute' },
    ];
    const m = computeCoverage(ATTACK, DEFAULT_SETTINGS, runs, new Date(T0 + 5000));
    expect(cell(m, 'T1190')).toMatchObject({
      status: 'blocked',
      evidence: 'blocked',
      runs: 3,
      experiments: ['sqli'],
      verifiedAt: at(T0 + 2000),
      lastRun: { id: 'r3', outcome: 'prevented' },
      ttd: { lastMs: 300, p50Ms: 300, p90Ms: 900, samples: 3 },
    });
    expect(cell(m, 'T1110.001')).toMatchObject({ status: 'none', experiments: ['brute', 'sqli'], lastRun: { id: 'r4' } });
    expect(m.kris).toMatchObject({ inScope: ATTACK.techniques.length, exercised: 2, blocked: 1, none: 1, stale: 0 });
    expect(m.kris.neverExercised).toBe(ATTACK.techniques.length - 2);
  });

  it('names technique ids that are not in the table', () => {
    const m = computeCoverage(ATTACK, DEFAULT_SETTINGS, [run('r1', 'detected', T0, ['T9999', 'T1190'])], new Date(T0));
    expect(m.unknownTechniques).toEqual(['T9999']);
  });

  it('turns a covered technique stale at its age and back to covered after a new run (fake clock)', () => {
    const acc = new CoverageAccumulator(ATTACK, DEFAULT_SETTINGS);
    acc.apply(run('r1', 'detected', T0, ['T1190'], 50));
    expect(cell(acc.map(new Date(T0 + 30 * DAY - 1)), 'T1190').status).toBe('alerted');
    const stale = acc.map(new Date(T0 + 30 * DAY));
    expect(cell(stale, 'T1190')).toMatchObject({ status: 'stale', evidence: 'alerted', staleAt: at(T0 + 30 * DAY) });
    expect(stale.kris.stale).toBe(1);
    acc.apply(run('r2', 'prevented', T0 + 31 * DAY, ['T1190']));
    expect(cell(acc.map(new Date(T0 + 31 * DAY)), 'T1190').status).toBe('blocked');
    // A missed technique is no coverage, so it never fades: it stays none.
    acc.apply(run('r3', 'missed', T0 + 32 * DAY, ['T1083']));
    expect(cell(acc.map(new Date(T0 + 400 * DAY)), 'T1083').status).toBe('none');
  });

  it('takes the age per technique, else the shortest of its tactics’, else the default', () => {
    const s = CoverageSettingsSchema.parse({
      staleAfterDays: { default: 60, techniques: { T1190: 7 }, tactics: { 'initial-access': 14, impact: 3 } },
    });
    expect(staleAfterDaysFor(s, { id: 'T1190', tactics: ['initial-access'] })).toBe(7);
    expect(staleAfterDaysFor(s, { id: 'T1133', tactics: ['initial-access', 'persistence'] })).toBe(14);
    expect(staleAfterDaysFor(s, { id: 'T1083', tactics: ['discovery'] })).toBe(60);
    const m = computeCoverage(ATTACK, s, [run('r1', 'prevented', T0)], new Date(T0 + 7 * DAY));
    expect(cell(m, 'T1190').status).toBe('stale');
  });
});

describe('scope', () => {
  it('is the whole matrix when nothing is declared', () => {
    expect(techniquesInScope(DEFAULT_SETTINGS, ATTACK).size).toBe(ATTACK.techniques.length);
  });

  it('filters by platforms and tactics together, and adds the explicit list and profiles', () => {
    const s = CoverageSettingsSchema.parse({
      scope: { platforms: ['Containers'], tactics: ['initial-access'], techniques: ['T1083'], profiles: ['shop'] },
      profiles: { shop: ['T1110.001'] },
    });
    const scope = techniquesInScope(s, ATTACK);
    for (const id of scope) {
      if (['T1083', 'T1110.001'].includes(id)) continue;
      const t = ATTACK.techniques.find((x) => x.id === id)!;
      expect(t.platforms).toContain('Containers');
      expect(t.tactics).toContain('initial-access');
    }
    expect(scope.has('T1190')).toBe(true);
    expect(scope.has('T1083') && scope.has('T1110.001')).toBe(true);
    expect(scope.has('T1486')).toBe(false);
    const m = computeCoverage(ATTACK, s, [run('r1', 'prevented', T0, ['T1486'])], new Date(T0));
    expect(cell(m, 'T1486')).toMatchObject({ inScope: false, status: 'out-of-scope', evidence: 'blocked' });
    expect(m.kris.exercised).toBe(0);
  });

  it('says what in the settings does not fit the table', () => {
    const s = CoverageSettingsSchema.parse({
      scope: { tactics: ['initial-acess'], platforms: ['Linux'], profiles: ['apt'] },
      profiles: { fin: ['T9999'] },
    });
    const problems = settingsProblems(s, ATTACK);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/unknown tactic 'initial-acess'; use one of reconnaissance/);
    expect(problems[1]).toMatch(/no profile 'apt'/);
    expect(problems[2]).toMatch(/profiles.fin: T9999 is not a technique of ATT&CK v18.1/);
  });
});

describe('incremental and full computation', () => {
  const TAGGED = CoverageSettingsSchema.parse({ staleAfterDays: { tags: { pci: 7, weekly: 20 } } });
  const ids = ['T1190', 'T1110', 'T1110.001', 'T1083', 'T1486', 'T9999'];
  // The table cut to these techniques' families (sub-techniques, roll-ups and all): the rules are the table's, the comparisons cheap.
  const SMALL = { ...ATTACK, techniques: ATTACK.techniques.filter((t) => ids.some((id) => t.id.split('.')[0] === id.split('.')[0])) };
  const arbRun = fc.record({
    id: fc.stringMatching(/^[a-z0-9]{4}$/),
    experiment: fc.constantFrom('a', 'b', 'c'),
    techniques: fc.uniqueArray(fc.constantFrom(...ids), { maxLength: 3 }),
    outcome: fc.constantFrom<string | null>(...OUTCOMES, null),
    startedAt: fc.constant(at(T0)),
    endedAt: fc.integer({ min: 0, max: 90 }).map((d) => at(T0 + d * DAY)),
    ttdMs: fc.option(fc.integer({ min: 0, max: 100_000 })),
    tags: fc.option(fc.subarray(['pci', 'weekly']), { nil: undefined }),
    controls: fc.option(
      fc.uniqueArray(
        fc.record({
          control: fc.constantFrom('waf', 'ids', 'default'),
          results: fc.subarray(['blocked', 'alerted', 'logged', 'none']),
          alertedTtdMs: fc.option(fc.nat(1000)),
          loggedTtdMs: fc.option(fc.nat(1000)),
        }),
        { selector: (c) => c.control, maxLength: 3 },
      ),
      { nil: undefined },
    ),
  });

  it('agree with each other and with the straightforward reference for any runs in any order, at any time', () => {
    fc.assert(
      fc.property(fc.array(arbRun, { maxLength: 40 }), fc.integer({ min: 0, max: 200 }), fc.integer(), (runs, nowDay, seed) => {
        const now = new Date(T0 + nowDay * DAY);
        // The first run seen of an id counts: give each id once, then any order agrees.
        const unique = [...new Map(runs.map((r) => [r.id, r])).values()].map(({ controls, tags, ...r }) => ({
          ...r,
          ...(controls === undefined ? {} : { controls }),
          ...(tags === undefined ? {} : { tags }),
        }));
        const full = computeCoverage(SMALL, TAGGED, unique, now);
        // The fast computation gives exactly what the straightforward one gives, duplicates and uncounted runs included.
        expect(full).toEqual(referenceCoverage(SMALL, TAGGED, unique, now));
        expect(computeCoverage(SMALL, TAGGED, runs, now)).toEqual(referenceCoverage(SMALL, TAGGED, runs, now));
        const key = (id: string) => [...id].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16_777_619), seed | 0);
        for (const order of [unique, [...unique].reverse(), [...unique].sort((a, b) => key(a.id) - key(b.id))]) {
          const acc = new CoverageAccumulator(SMALL, TAGGED);
          for (const r of order) acc.apply(r);
          expect(acc.map(now)).toEqual(full);
        }
        expect(full.cells).toHaveLength(SMALL.techniques.length);
      }),
      { numRuns: 60 },
    );
  });

  it('percentile is nearest-rank', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
  });
});

describe('per-control evidence', () => {
  it('takes a run’s evidence from its controls: the strongest result, so logged only is logged, not none', () => {
    const logged = { ...run('r1', 'missed', T0), controls: [{ control: 'waf', results: ['logged'] }] };
    const m = computeCoverage(ATTACK, DEFAULT_SETTINGS, [logged], new Date(T0));
    expect(cell(m, 'T1190')).toMatchObject({ status: 'logged', evidence: 'logged' });
    expect(cell(m, 'T1190').controls).toEqual([
      expect.objectContaining({ control: 'waf', evidence: 'logged', status: 'logged', results: ['logged'], runs: 1 }),
    ]);
    expect(m.kris).toMatchObject({ logged: 1, none: 0 });
    // Stale at its age, like the cell.
    const later = computeCoverage(ATTACK, DEFAULT_SETTINGS, [logged], new Date(T0 + 30 * DAY));
    expect(cell(later, 'T1190').controls[0]!.status).toBe('stale');
  });
});

describe('freshness per tag', () => {
  it('ages evidence by the tags of the experiment whose run it is, unless the technique has its own age', () => {
    const settings = CoverageSettingsSchema.parse({ staleAfterDays: { tags: { pci: 7, weekly: 10 }, techniques: { T1083: 60 } } });
    const runs = [
      { ...run('r1', 'prevented', T0, ['T1190', 'T1083']), tags: ['pci', 'weekly'] },
      { ...run('r2', 'prevented', T0, ['T1110.001']), tags: ['other'] },
    ];
    const m = computeCoverage(ATTACK, settings, runs, new Date(T0 + 8 * DAY));
    expect(cell(m, 'T1190')).toMatchObject({ status: 'stale', staleAfterDays: 7 });
    expect(cell(m, 'T1083')).toMatchObject({ status: 'blocked', staleAfterDays: 60 });
    expect(cell(m, 'T1110.001')).toMatchObject({ status: 'blocked', staleAfterDays: 30 });
    // A new run without the tag gives the default age back.
    const again = computeCoverage(ATTACK, settings, [...runs, run('r3', 'prevented', T0 + DAY, ['T1190'])], new Date(T0 + 8 * DAY));
    expect(cell(again, 'T1190')).toMatchObject({ status: 'blocked', staleAfterDays: 30 });
  });
});
