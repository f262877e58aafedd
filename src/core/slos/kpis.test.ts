import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeKpis, KPI_NAMES, nearestRank, type KpiInput } from './kpis.ts';

const W = { from: 0, to: 1_000_000 };
const one = (inputs: KpiInput[], kpi = 'time-to-acknowledge', by?: 'technique') => computeKpis(inputs, W, by).filter((r) => r.kpi === kpi);

describe('KPIs', () => {
  it('names each KPI with its two instants, and reports no data (never zero) without a complete pair', () => {
    const r = computeKpis([], W);
    expect(r.map((x) => x.kpi)).toEqual(KPI_NAMES);
    expect(r.every((x) => x.status === 'no-data' && x.meanMs === null && x.p50Ms === null && x.count === 0)).toBe(true);
    expect(r.find((x) => x.kpi === 'time-to-acknowledge')).toMatchObject({
      title: 'Mean time to acknowledge',
      from: 'detection (the incident was opened)',
      to: 'acknowledged (a responder took it)',
    });
  });

  it('takes mean, p50 and p90 (nearest rank) of complete pairs; leaves out and counts incomplete and negative ones', () => {
    const pairs: KpiInput[] = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((d, i) => ({
      kpi: 'time-to-acknowledge',
      start: 1000 * i,
      end: 1000 * i + d,
    }));
    pairs.push({ kpi: 'time-to-acknowledge', start: 5000, end: null }); // not acknowledged yet
    pairs.push({ kpi: 'time-to-acknowledge', start: 9000, end: 8000 }); // ends before it starts
    pairs.push({ kpi: 'time-to-acknowledge', start: 2_000_000, end: 2_000_010 }); // outside the window
    expect(one(pairs)[0]).toMatchObject({ status: 'ok', count: 10, incomplete: 1, refused: 1, meanMs: 55, p50Ms: 50, p90Ms: 90 });
  });

  it('takes durations a source measured (a run’s time to detect); a run never detected is incomplete', () => {
    const r = one(
      [
        { kpi: 'time-to-detect', at: 100, durationMs: 400, dims: { technique: ['T1190', 'T1059'] } },
        { kpi: 'time-to-detect', at: 200, durationMs: 200, dims: { technique: ['T1190'] } },
        { kpi: 'time-to-detect', at: 300, durationMs: null, dims: { technique: ['T1059'] } },
      ],
      'time-to-detect',
      'technique',
    );
    expect(r.map((x) => [x.group, x.count, x.incomplete, x.meanMs])).toEqual([
      [null, 2, 1, 300],
      ['T1059', 1, 1, 400],
      ['T1190', 2, 0, 300],
    ]);
  });

  it('holds for any pairs: numbers finite and ordered (p50 ≤ p90 ≤ max), mean between min and max, every pair counted once', () => {
    const t = fc.option(fc.integer({ min: -10, max: 1_100_000 }), { nil: null });
    const pair = fc.record({ kpi: fc.constantFrom(...KPI_NAMES), start: t, end: t });
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 60 }), (pairs) => {
        for (const r of computeKpis(pairs, W)) {
          const mine = pairs.filter((p) => p.kpi === r.kpi && (p.start !== null || p.end !== null));
          const inWindow = mine.filter((p) => {
            const at = p.start !== null && p.end !== null ? p.end : (p.start ?? p.end)!;
            return at > W.from && at <= W.to;
          });
          expect(r.count + r.incomplete + r.refused).toBe(inWindow.length);
          if (r.status === 'no-data') continue;
          const d = inWindow.filter((p) => p.start !== null && p.end !== null && p.end >= p.start).map((p) => p.end! - p.start!);
          expect(r.p50Ms!).toBeLessThanOrEqual(r.p90Ms!);
          expect(r.p90Ms!).toBeLessThanOrEqual(Math.max(...d));
          expect(r.meanMs!).toBeGreaterThanOrEqual(Math.min(...d) - 1e-9);
          expect(r.meanMs!).toBeLessThanOrEqual(Math.max(...d) + 1e-9);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('nearest rank picks an observed value', () => {
    expect(nearestRank([1, 2, 3, 4], 0.5)).toBe(2);
    expect(nearestRank([1, 2, 3, 4], 0.9)).toBe(4);
    expect(nearestRank([7], 0.9)).toBe(7);
  });
});
