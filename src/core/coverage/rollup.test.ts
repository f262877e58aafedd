import { describe, expect, it } from 'vitest';
import { ATTACK } from './attack.ts';
import { computeCoverage, CoverageAccumulator, type CoverageRun } from './map.ts';
import { layerFromCoverage, NavigatorLayerSchema } from './navigator.ts';
import { CoverageSettingsSchema, DEFAULT_SETTINGS } from './settings.ts';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const DAY = 86_400_000;
const at = (ms: number) => new Date(ms).toISOString();
const run = (id: string, outcome: string, endMs: number, techniques: string[], ttdMs: number | null = null): CoverageRun => ({
  id,
  experiment: 'shell',
  techniques,
  outcome,
  startedAt: at(endMs - 1000),
  endedAt: at(endMs),
  ttdMs,
});
const cell = (m: ReturnType<typeof computeCoverage>, id: string) => m.cells.find((c) => c.technique === id)!;
const subsOfT1059 = ATTACK.techniques.filter((t) => t.id.startsWith('T1059.')).length;

describe('sub-technique roll-up', () => {
  it('gives a technique the weakest status of it and its exercised sub-techniques, the oldest verification and the fraction exercised', () => {
    const runs = [
      run('r1', 'prevented', T0, ['T1059.004']),
      run('r2', 'detected', T0 + DAY, ['T1059.001'], 200),
      run('r3', 'prevented', T0 + 2 * DAY, ['T1059']),
    ];
    const m = computeCoverage(ATTACK, DEFAULT_SETTINGS, runs, new Date(T0 + 3 * DAY));
    // Its own cell keeps its own evidence; the roll-up is the weakest (alerted < blocked).
    expect(cell(m, 'T1059')).toMatchObject({
      status: 'blocked',
      rollup: {
        status: 'alerted',
        weakest: 'T1059.001',
        subtechniques: subsOfT1059,
        inScope: subsOfT1059,
        exercised: 2,
        verifiedAt: at(T0),
        runs: 3,
      },
    });
    // Sub-techniques and techniques without any have no roll-up.
    expect(cell(m, 'T1059.004').rollup).toBeNull();
    expect(cell(m, 'T1190').rollup).toBeNull();
    // Never exercised at all: never.
    expect(cell(m, 'T1110').rollup).toMatchObject({ status: 'never', weakest: null, exercised: 0, verifiedAt: null, runs: 0 });
  });

  it('counts a miss as weakest, stale before logged, and leaves out what is not in scope', () => {
    const s = CoverageSettingsSchema.parse({ scope: { techniques: ['T1059.004', 'T1059.001'] } });
    const runs = [
      run('r1', 'missed', T0, ['T1059.006']), // out of scope: not a member
      run('r2', 'prevented', T0, ['T1059.004']),
      { ...run('r3', 'missed', T0 + 25 * DAY, ['T1059.001']), controls: [{ control: 'siem', results: ['logged'] }] },
    ];
    const m = computeCoverage(ATTACK, s, runs, new Date(T0 + 31 * DAY));
    // T1059.004 turned stale at 30 days; stale is weaker than logged.
    expect(cell(m, 'T1059')).toMatchObject({
      inScope: false,
      status: 'out-of-scope',
      rollup: { status: 'stale', weakest: 'T1059.004', inScope: 2, exercised: 3 },
    });
    const withMiss = computeCoverage(ATTACK, s, [...runs, run('r4', 'missed', T0 + 30 * DAY, ['T1059.004'])], new Date(T0 + 31 * DAY));
    expect(cell(withMiss, 'T1059').rollup).toMatchObject({ status: 'none', weakest: 'T1059.004' });
    // Out of scope altogether: out-of-scope, whatever its sub-techniques' runs showed.
    expect(cell(m, 'T1110').rollup).toMatchObject({ status: 'out-of-scope' });
  });

  it('is the same from the accumulator, and shows in the Navigator layer as the parent’s score, colour and metadata', () => {
    const s = CoverageSettingsSchema.parse({ scope: { techniques: ['T1059.004', 'T1059.001'] } });
    const runs = [run('r1', 'prevented', T0, ['T1059.004']), run('r2', 'detected', T0 + DAY, ['T1059.001'], 120)];
    const acc = new CoverageAccumulator(ATTACK, s);
    for (const r of runs) acc.apply(r);
    const m = acc.map(new Date(T0 + 2 * DAY));
    expect(m).toEqual(computeCoverage(ATTACK, s, runs, new Date(T0 + 2 * DAY)));
    const layer = NavigatorLayerSchema.parse(layerFromCoverage(m));
    const parent = layer.techniques!.find((t) => t.techniqueID === 'T1059')!;
    expect(parent).toMatchObject({ score: 67, color: '#f9a825', enabled: true });
    expect(parent.comment).toMatch(new RegExp(`^roll-up alerted, weakest T1059.001: 2 of ${subsOfT1059} sub-techniques exercised`));
    expect(parent.metadata).toContainEqual({ name: 'sub-techniques exercised', value: `2 of ${subsOfT1059} (2 in scope)` });
    expect(parent.metadata).toContainEqual({ name: 'roll-up verified (oldest)', value: at(T0) });
    expect(layer.techniques!.find((t) => t.techniqueID === 'T1059.004')).toMatchObject({ score: 100 });
  });
});

describe('time to detect per control', () => {
  it('keeps last, p50 and p90 (nearest-rank) per control over the runs with a detection, n shown', () => {
    const waf = (id: string, endMs: number, alerted: number | null, logged: number | null): CoverageRun => ({
      ...run(id, 'detected', endMs, ['T1190'], alerted),
      controls: [
        { control: 'waf', results: alerted === null ? ['logged'] : ['alerted'], alertedTtdMs: alerted, loggedTtdMs: logged },
        { control: 'ids', results: ['none'] },
      ],
    });
    const runs = [waf('a', T0 + 3000, 400, 50), waf('b', T0 + 1000, 100, null), waf('c', T0 + 2000, null, 900), waf('d', T0, 300, null)];
    const m = computeCoverage(ATTACK, DEFAULT_SETTINGS, runs, new Date(T0 + DAY));
    const c = cell(m, 'T1190');
    // waf: first alert, else first log record: 300, 100, 900, 400 by end time; last is run a's.
    expect(c.controls.find((x) => x.control === 'waf')!.ttd).toEqual({ lastMs: 400, p50Ms: 300, p90Ms: 900, samples: 4 });
    // A control that saw nothing has no samples.
    expect(c.controls.find((x) => x.control === 'ids')!.ttd).toEqual({ lastMs: null, p50Ms: null, p90Ms: null, samples: 0 });
    // A run without per-control results gives its time to detect to the control `default` when it alerted.
    const plain = computeCoverage(ATTACK, DEFAULT_SETTINGS, [run('p', 'detected-late', T0, ['T1083'], 7000)], new Date(T0));
    expect(cell(plain, 'T1083').controls[0]).toMatchObject({ control: 'default', ttd: { lastMs: 7000, samples: 1 } });
  });
});
