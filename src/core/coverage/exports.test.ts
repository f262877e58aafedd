import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OUTCOMES } from '../experiments/outcome.ts';
import { ATTACK } from './attack.ts';
import { coverageExport, csvField, dettectScore, dettectYaml, parseCoverageExport, vectrCsv, VECTR_COLUMNS } from './exports.ts';
import { computeCoverage, type CoverageRun } from './map.ts';
import { layerFromCoverage, NavigatorLayerSchema, parseLayers, writeLayer } from './navigator.ts';
import { CoverageSettingsSchema } from './settings.ts';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const DAY = 86_400_000;
const settings = CoverageSettingsSchema.parse({ scope: { techniques: ['T1190', 'T1110.001', 'T1083', 'T1059.004'] } });
const arbRuns = fc.array(
  fc.record({
    id: fc.stringMatching(/^[a-z0-9]{16}$/),
    experiment: fc.constantFrom('sqli-products', 'login, "brute" force', '=cmd'),
    techniques: fc.uniqueArray(fc.constantFrom('T1190', 'T1110.001', 'T1083', 'T1486', 'T1059.004'), { maxLength: 3 }),
    outcome: fc.constantFrom<string | null>(...OUTCOMES),
    startedAt: fc.constant(new Date(T0).toISOString()),
    endedAt: fc.integer({ min: 0, max: 60 }).map((d) => new Date(T0 + d * DAY).toISOString()),
    ttdMs: fc.option(fc.integer({ min: 0, max: 100_000 })),
  }),
  { maxLength: 20 },
);
const mapOf = (runs: CoverageRun[], day = 45) => computeCoverage(ATTACK, settings, runs, new Date(T0 + day * DAY));

/** The single-layer example of layers/spec/v4.5/layerformat.md (mitre-attack/attack-navigator), a vector for the reader. */
const SPEC_EXAMPLE = {
  name: 'example layer',
  versions: { attack: '18', navigator: '5.2.0', layer: '4.5' },
  domain: 'enterprise-attack',
  description: 'hello, world',
  filters: { platforms: ['Windows', 'macOS'] },
  sorting: 2,
  layout: {
    layout: 'side',
    showName: true,
    showID: false,
    showAggregateScores: true,
    countUnscored: true,
    aggregateFunction: 'average',
    expandedSubtechniques: 'annotated',
  },
  hideDisabled: false,
  techniques: [
    { techniqueID: 'T1110', score: 0, color: '#fd8d3c', comment: 'This is a comment for technique T1110', showSubtechniques: true },
    {
      techniqueID: 'T1110.001',
      score: 100,
      comment: 'This is a comment for T1110.001 - the first subtechnique of technique T1110.001',
      links: [{ label: 'Navigator GitHub', url: 'https://github.com/mitre-attack/attack-navigator' }],
    },
    { techniqueID: 'T1134', tactic: 'defense-evasion', score: 75, comment: 'only on defense-evasion' },
    { techniqueID: 'T1078', tactic: 'discovery', enabled: false },
    {
      techniqueID: 'T1053',
      tactic: 'privilege-escalation',
      metadata: [{ name: 'T1053 metadata1', value: 'T1053 metadata1 value' }, { divider: true }, { name: 'm2', value: 'v2' }],
    },
  ],
  gradient: { colors: ['#ff6666', '#ffe766', '#8ec843'], minValue: 0, maxValue: 100 },
  legendItems: [{ label: 'Legend Item Label', color: '#FF00FF' }],
  showTacticRowBackground: true,
  tacticRowBackground: '#dddddd',
  selectTechniquesAcrossTactics: false,
  selectSubtechniquesWithParent: false,
  selectVisibleTechniques: false,
  metadata: [{ name: 'layer metadata 1', value: 'layer metadata 1 value' }, { divider: true }, { name: 'layer metadata 2', value: 'v' }],
};

describe('Navigator layer 4.5', () => {
  it('reads the spec’s example, alone and as a list, and writes it back equivalent', () => {
    for (const text of [JSON.stringify(SPEC_EXAMPLE), JSON.stringify([SPEC_EXAMPLE, SPEC_EXAMPLE])]) {
      const r = parseLayers(text);
      if (!r.ok) throw new Error(r.message);
      for (const layer of r.layers) expect(JSON.parse(writeLayer(layer))).toEqual(SPEC_EXAMPLE);
    }
  });

  it('refuses what is not a 4.5 layer, saying where', () => {
    expect(parseLayers('{')).toMatchObject({ ok: false, message: expect.stringMatching(/^not JSON/) });
    const wrong = { ...SPEC_EXAMPLE, versions: { navigator: '4.9.0', layer: '4.4' } };
    expect(parseLayers(JSON.stringify(wrong))).toMatchObject({ ok: false, message: expect.stringMatching(/versions\.layer/) });
    expect(parseLayers(JSON.stringify({ ...SPEC_EXAMPLE, techniques: [{ techniqueID: 'T1' }] }))).toMatchObject({ ok: false });
    expect(
      parseLayers(JSON.stringify({ ...SPEC_EXAMPLE, gradient: { colors: ['#000', '#fff'], minValue: 5, maxValue: 5 } })),
    ).toMatchObject({
      ok: false,
    });
  });

  it('carries per technique the evidence: score and colour, comment, last run, time to detect, verification date', () => {
    const layer = layerFromCoverage(
      mapOf([
        {
          id: 'run0000000000001',
          experiment: 'sqli',
          techniques: ['T1190'],
          outcome: 'detected',
          startedAt: new Date(T0).toISOString(),
          endedAt: new Date(T0 + 40 * DAY).toISOString(),
          ttdMs: 850,
        },
      ]),
    );
    expect(NavigatorLayerSchema.safeParse(layer).success).toBe(true);
    expect(layer.versions).toEqual({ attack: '18', navigator: '5.2.0', layer: '4.5' });
    const t = layer.techniques!.find((x) => x.techniqueID === 'T1190')!;
    expect(t).toMatchObject({ score: 67, color: '#f9a825', enabled: true, comment: expect.stringContaining('run0000000000001') });
    expect(t.metadata).toEqual(
      expect.arrayContaining([
        { name: 'last run', value: 'run0000000000001' },
        { name: 'time to detect (last)', value: '850 ms' },
        { name: 'verified', value: new Date(T0 + 40 * DAY).toISOString() },
      ]),
    );
    expect(layer.legendItems!.map((l) => l.label)).toContain('in scope, never exercised');
    expect(layer.techniques!.find((x) => x.techniqueID === 'T1083')).toMatchObject({
      color: '#ffffff',
      comment: 'in scope, never exercised',
    });
  });

  it('round-trips any coverage layer through its reader', () => {
    fc.assert(
      fc.property(arbRuns, (runs) => {
        const layer = layerFromCoverage(mapOf(runs));
        const r = parseLayers(writeLayer(layer));
        expect(r).toEqual({ ok: true, layers: [layer] });
      }),
      { numRuns: 50 },
    );
  });
});

describe('JSON export', () => {
  it('round-trips through its reader', () => {
    fc.assert(
      fc.property(arbRuns, fc.integer({ min: 0, max: 120 }), (runs, day) => {
        const e = coverageExport(mapOf(runs, day));
        expect(parseCoverageExport(JSON.stringify(e))).toEqual({ ok: true, value: e });
      }),
      { numRuns: 50 },
    );
  });

  it('refuses another document, saying where', () => {
    expect(parseCoverageExport('{"format":"bulwark-coverage","version":2}')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/version/),
    });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
        expect(parseCoverageExport(s).ok).toBe(false);
      }),
    );
  });
});

/** A small RFC 4180 reader, only for checking the writer. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') endField();
    else if (ch === '\r' && text[i + 1] === '\n') {
      endField();
      rows.push(row);
      row = [];
      i++;
    } else field += ch;
  }
  return rows;
}

describe('VECTR CSV', () => {
  it('has VECTR’s columns and one row per technique with evidence, detection time from the run', () => {
    fc.assert(
      fc.property(arbRuns, (runs) => {
        const map = mapOf(runs);
        const rows = readCsv(vectrCsv(map));
        expect(rows[0]).toEqual([...VECTR_COLUMNS]);
        const withEvidence = map.cells.filter((c) => (c.inScope || c.runs > 0) && c.lastRun);
        expect(rows.length - 1).toBe(withEvidence.length);
        for (const [i, c] of withEvidence.entries()) {
          const row = Object.fromEntries(VECTR_COLUMNS.map((k, j) => [k, rows[i + 1]![j]]));
          expect(row['Technique ID']).toBe(c.technique);
          expect(row.Outcome).toBe(
            { blocked: 'Blocked', alerted: 'Detected', logged: 'NotDetected', none: 'NotDetected' }[c.lastRun!.evidence],
          );
          expect(row['Detection Time']).toBe(c.lastRun!.ttdMs === null ? '' : new Date(T0 + c.lastRun!.ttdMs).toISOString());
          expect(row.Objective!.replace(/^'/, '')).toBe(c.lastRun!.experiment);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('quotes fields and keeps spreadsheets from running formulas', () => {
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    expect(csvField('=1+1')).toBe("'=1+1");
  });
});

describe('DeTT&CT techniques administration', () => {
  it('writes a technique-administration file with the derived detection scores', () => {
    fc.assert(
      fc.property(arbRuns, (runs) => {
        const map = mapOf(runs);
        const doc = parse(dettectYaml(map)) as {
          version: number;
          file_type: string;
          techniques: { technique_id: string; detection: { score_logbook: { score: number }[] }[] }[];
        };
        expect(doc).toMatchObject({ version: 1.2, file_type: 'technique-administration' });
        for (const t of doc.techniques) {
          const c = map.cells.find((x) => x.technique === t.technique_id)!;
          expect(t.detection[0]!.score_logbook[0]!.score).toBe(dettectScore(c));
        }
      }),
      { numRuns: 40 },
    );
  });
});
