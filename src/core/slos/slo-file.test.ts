import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { vectorsAvailable, vectorsDir } from '../../../test/support/vectors.ts';
import { evaluateBudget } from './budget.ts';
import { parseSloFile } from './slo-file.ts';

const have = vectorsAvailable();
const vector = (f: string) => readFileSync(path.join(vectorsDir, 'slo', f), 'utf8');

const FILE = `apiVersion: bulwark/v1
kind: SLO
name: sqli-detected
service: shop
owner: team-appsec
objective: 99
window: 30d
sli:
  experiments:
    technique: T1190
alerting:
  strategy: pyrra
  minEvents: 3
policy:
  freezeBelow: 25
  postmortemAbove: 20
  pageOwner: true
`;

describe('Bulwark SLO files', () => {
  it('reads a file into the model, percentages as ratios', () => {
    const r = parseSloFile(FILE);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.slos).toHaveLength(1);
    expect(r.slos[0]).toMatchObject({
      name: 'sqli-detected',
      objective: 0.99,
      window: { kind: 'rolling', ms: 30 * 86_400_000 },
      budgeting: { method: 'occurrences' },
      sli: { source: 'experiments', select: { technique: 'T1190' } },
      alerting: { strategy: 'pyrra', minEvents: 3, page: true, ticket: true },
      policy: { freezeBelow: 0.25, postmortemAbove: 0.2, pageOwner: true },
    });
  });

  it('says what to fix, with line and column', () => {
    const r = parseSloFile(FILE.replace('objective: 99', 'objective: 150').replace('window: 30d', 'window: thirty days'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.path, e.line])).toEqual([
      ['objective', 6],
      ['window', 7],
    ]);
    expect(r.errors[0]!.message).toContain('below 100');
    const none = parseSloFile(FILE.replace('technique: T1190', 'nothing: here'));
    expect(!none.ok && none.errors[0]!.message).toMatch(/nothing|experiment, technique or tag/);
    const sloth = parseSloFile('version: prometheus/v1\nservice: x\nslos: []\n');
    expect(!sloth.ok && sloth.errors[0]!.message).toContain('bulwark slo rules');
  });

  it('reads calendar windows, timeslices and time to detect', () => {
    const r = parseSloFile(
      FILE.replace('window: 30d', 'window:\n  calendar: month\n  timeZone: Europe/Paris').replace(
        'sli:\n  experiments:\n    technique: T1190',
        'budgeting:\n  method: timeslices\n  slice: 1h\n  sliceTarget: 95\nsli:\n  timeToDetect:\n    tag: waf\n    under: 2m',
      ),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.slos[0]).toMatchObject({
      window: { kind: 'calendar', unit: 'month', timeZone: 'Europe/Paris', startTime: '2000-01-01T00:00:00' },
      budgeting: { method: 'timeslices', sliceMs: 3_600_000, sliceTarget: 0.95 },
      sli: { source: 'time-to-detect', select: { tag: 'waf' }, thresholdMs: 120_000 },
    });
  });

  it('never throws, whatever the text (fuzz)', () => {
    const lines = fc.constantFrom(
      ...FILE.split('\n'),
      'window: {calendar: week}',
      'objective: -1',
      '&a [*a]',
      'sli: 3',
      '- x',
      'apiVersion: openslo/v1',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(lines).map((l) => l.join('\n')),
        ),
        (text) => {
          const r = parseSloFile(text);
          if (!r.ok) for (const e of r.errors) expect(e.line).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe.skipIf(!have)('OpenSLO v1 files (shared/vectors/slo)', () => {
  it('imports an Occurrences SLO with a thresholdMetric, rolling 2w', () => {
    const r = parseSloFile(vector('openslo-occurences-slo.yaml'));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.slos[0]).toMatchObject({
      name: 'search-slo',
      service: 'web-shop',
      objective: 0.99,
      window: { kind: 'rolling', ms: 14 * 86_400_000 },
      budgeting: { method: 'occurrences' },
      sli: { source: 'external', type: 'Any', threshold: { op: 'lt', value: 500, query: 'Any' } },
    });
  });

  it('imports RatioTimeslices and evaluates it', () => {
    const r = parseSloFile(vector('openslo-ratio-timeslices.yaml'));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const s = r.slos[0]!;
    expect(s).toMatchObject({
      name: 'main-page',
      budgeting: { method: 'ratio-timeslices', sliceMs: 60_000 },
      sli: { good: 'Any', total: 'Any' },
    });
    const now = Date.UTC(2026, 0, 10);
    const b = evaluateBudget(s, [{ at: now - 30_000, good: 90, total: 100 }], now);
    // One minute at 90% out of two weeks of minutes, 1% of which are the budget.
    expect(b.consumed).toBeCloseTo(0.1 / (0.01 * 14 * 1440), 12);
  });

  it('imports a calendar Timeslices SLO with two objectives as two SLOs, and warns about 1m', () => {
    const r = parseSloFile(vector('openslo-timeslices-slo.yaml'));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.slos.map((s) => [s.name, s.objective])).toEqual([
      ['service-availability-internal-objective', 0.995],
      ['service-availability-sla', 0.99],
    ]);
    expect(r.slos[0]).toMatchObject({
      window: { kind: 'calendar', count: 1, unit: 'minute', startTime: '2022-01-01T12:00:00', timeZone: 'America/New_York' },
      budgeting: { method: 'timeslices', sliceMs: 60_000, sliceTarget: 0.99 },
    });
    expect(r.warnings[0]!.message).toContain('a month is 1M');
    const now = Date.UTC(2026, 0, 10, 12, 0, 30);
    const b = evaluateBudget(r.slos[1]!, [{ at: now - 10_000, good: 1, total: 2 }], now);
    expect(b.consumed).toBeCloseTo(1 / 0.01, 6);
  });
});
