import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateBudget } from './budget.ts';
import { budgetSeries, seriesInstants, type SeriesPoint } from './series.ts';
import type { Budgeting, Exclusion, Slo, SliEvent } from './types.ts';

const M = 60_000;
const H = 60 * M;
const D = 24 * H;
const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);

type S = Pick<Slo, 'objective' | 'window' | 'budgeting' | 'alerting'> & { exclusions?: readonly Exclusion[] };

/** The series as one evaluateBudget per point: what budgetSeries must give. */
function perPoint(slo: S, events: readonly SliEvent[], now: number, points: number): SeriesPoint[] {
  return seriesInstants(slo, now, points).map((at) => {
    const b = evaluateBudget(slo, events, at);
    return {
      at: new Date(at).toISOString(),
      remaining: b.total === 0 ? null : b.remaining,
      burnRates: Object.fromEntries(b.burnRates.map((r) => [r.window, r.rate])),
      firing: b.alerts.filter((a) => a.firing).map((a) => a.severity),
    };
  });
}

const close = (a: number | null, b: number | null) =>
  a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

function expectSame(got: SeriesPoint[], want: SeriesPoint[]) {
  expect(got.map((p) => [p.at, p.firing])).toEqual(want.map((p) => [p.at, p.firing]));
  got.forEach((p, i) => {
    const w = want[i]!;
    expect(close(p.remaining, w.remaining), `${p.at} remaining ${p.remaining} vs ${w.remaining}`).toBe(true);
    expect(Object.keys(p.burnRates)).toEqual(Object.keys(w.burnRates));
    for (const k of Object.keys(w.burnRates)) expect(close(p.burnRates[k]!, w.burnRates[k]!), `${p.at} ${k}`).toBe(true);
  });
}

const budgeting = fc.oneof(
  fc.constant<Budgeting>({ method: 'occurrences' }),
  fc.record({
    method: fc.constant('timeslices' as const),
    sliceMs: fc.constantFrom(M, 5 * M, H, D),
    sliceTarget: fc.constantFrom(0.5, 0.9, 1),
  }),
  fc.record({ method: fc.constant('ratio-timeslices' as const), sliceMs: fc.constantFrom(M, H, D) }),
);
const window = fc.oneof(
  fc.constantFrom(1, 7, 30).map((d) => ({ kind: 'rolling' as const, ms: d * D, text: `${d}d` })),
  fc.constant({
    kind: 'calendar' as const,
    unit: 'month' as const,
    count: 1,
    startTime: '2026-01-01T00:00:00',
    timeZone: 'UTC',
    text: '1 month',
  }),
);

describe('the budget series', () => {
  it('gives what evaluateBudget gives at each point (random events, windows, methods, exclusions)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            ago: fc.integer({ min: -H, max: 70 * D }),
            good: fc.integer({ min: -1, max: 4 }),
            total: fc.integer({ min: -1, max: 4 }),
          }),
          { maxLength: 120 },
        ),
        budgeting,
        window,
        fc.constantFrom('sloth' as const, 'pyrra' as const),
        fc.boolean(),
        fc.integer({ min: 2, max: 24 }),
        (raw, b, w, strategy, excl, points) => {
          const slo = {
            objective: 0.9,
            window: w as Slo['window'],
            budgeting: b,
            alerting: { strategy, minEvents: 2, page: true, ticket: true },
            ...(excl
              ? {
                  exclusions: [
                    { name: 'maint', start: '2026-01-04T02:00:00', durationMs: 6 * H, rrule: 'FREQ=WEEKLY', timeZone: 'UTC' } as Exclusion,
                  ],
                }
              : {}),
          };
          const events = raw.map((e) => ({ at: NOW - e.ago, good: e.good, total: e.total }));
          expectSame(budgetSeries(slo, events, NOW, points), perPoint(slo, events, NOW, points));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('reads each event a few times, not once per point and window', () => {
    let reads = 0;
    const events = Array.from({ length: 2000 }, (_, i) => {
      const at = NOW - i * 20 * M;
      return {
        get at() {
          reads++;
          return at;
        },
        good: i % 7 === 0 ? 0 : 1,
        total: 1,
      };
    });
    const slo = {
      objective: 0.99,
      window: { kind: 'rolling' as const, ms: 30 * D, text: '30d' },
      budgeting: { method: 'timeslices', sliceMs: 5 * M, sliceTarget: 0.95 } as Budgeting,
      alerting: { strategy: 'sloth' as const, minEvents: 5, page: true, ticket: true },
    };
    const points = budgetSeries(slo, events, NOW, 200);
    expect(points).toHaveLength(200);
    // One evaluation per point read every event about 7 times per point (2.8 million reads here).
    expect(reads).toBeLessThan(10 * events.length);
  });
});
