/**
 * Incremental evaluation (live-budget.ts) against the full one (budget.ts): for random streams of
 * events arriving a little out of order, evaluated at instants that move forward, the live
 * budget's status is evaluateBudget's over the events added so far, for every budgeting method,
 * rolling and calendar windows, both alert strategies and exclusion windows. Also
 * consumedBetween, the share an interval spent (budget.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.ts';
import { consumedBetween, evaluateBudget } from './budget.ts';
import { LiveBudget } from './live-budget.ts';
import type { Budgeting, Exclusion, SliEvent, Slo, SloWindow } from './types.ts';

const M = 60_000;
const H = 60 * M;
const D = 24 * H;
const T0 = Date.UTC(2026, 4, 20, 9, 30, 0);

type MathSlo = Pick<Slo, 'objective' | 'window' | 'budgeting' | 'alerting'> & { exclusions: Exclusion[] };

const windowArb = fc.constantFrom<SloWindow>(
  { kind: 'rolling', ms: D, text: '1d' },
  { kind: 'rolling', ms: 7 * D, text: '7d' },
  { kind: 'rolling', ms: 30 * D, text: '30d' },
  { kind: 'calendar', count: 1, unit: 'week', startTime: '2026-01-05T00:00:00', timeZone: 'Europe/Paris', text: '1w' },
  { kind: 'calendar', count: 1, unit: 'month', startTime: '2026-01-01T00:00:00', timeZone: 'America/New_York', text: '1M' },
);
const budgetingArb = fc.oneof(
  fc.constant<Budgeting>({ method: 'occurrences' }),
  fc.record({ method: fc.constant('timeslices' as const), sliceMs: fc.constantFrom(M, H, D), sliceTarget: fc.constantFrom(0.5, 0.9, 1) }),
  fc.record({ method: fc.constant('ratio-timeslices' as const), sliceMs: fc.constantFrom(M, H, D) }),
);
const exclusionsArb = fc.constantFrom<Exclusion[]>(
  [],
  [{ name: 'pentest', start: '2026-05-28T10:00:00', durationMs: 30 * H, timeZone: 'UTC' }],
  [{ name: 'sunday', start: '2026-01-04T02:00:00', durationMs: 6 * H, rrule: 'FREQ=WEEKLY;BYDAY=SU', timeZone: 'Europe/Paris' }],
);
const sloArb = fc.record({
  objective: fc.constantFrom(0.9, 0.99, 0.999),
  window: windowArb,
  budgeting: budgetingArb,
  alerting: fc.record({
    strategy: fc.constantFrom('sloth' as const, 'pyrra' as const),
    minEvents: fc.constantFrom(1, 5),
    page: fc.constant(true),
    ticket: fc.boolean(),
  }),
  exclusions: exclusionsArb,
});
/** Events over 45 days, each arriving up to `late` after its instant (so a little out of order). */
const streamArb = fc.array(
  fc.record({ at: fc.integer({ min: 0, max: 45 * D }), late: fc.constantFrom(0, 0, 0, 5 * M, 2 * H), good: fc.nat(5), bad: fc.nat(3) }),
  { maxLength: 150 },
);

/** Equal, numbers within a relative 1e-9 (the running sums of fractional shares are added in another order). */
function close(a: unknown, b: unknown, path = ''): void {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))) expect.fail(`${path}: ${a} ≠ ${b}`);
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    expect(Object.keys(a).sort(), path).toEqual(Object.keys(b).sort());
    for (const k of Object.keys(a)) close((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  expect(a, path).toEqual(b);
}

describe('incremental evaluation', () => {
  it('gives the status the full evaluation gives, at every instant, for any stream', () => {
    fc.assert(
      fc.property(
        sloArb,
        streamArb,
        fc.array(fc.integer({ min: 0, max: 46 * D }), { minLength: 1, maxLength: 8 }),
        (slo: MathSlo, raw, checks) => {
          const arrivals = raw
            .map((e) => ({ at: T0 + e.at, arrives: T0 + e.at + e.late, good: e.good, total: e.good + e.bad }))
            .sort((a, b) => a.arrives - b.arrives);
          const live = new LiveBudget(slo);
          const added: SliEvent[] = [];
          let next = 0;
          for (const c of [...checks].sort((a, b) => a - b)) {
            const now = T0 + c;
            while (next < arrivals.length && arrivals[next]!.arrives <= now) {
              const { at, good, total } = arrivals[next++]!;
              live.add({ at, good, total });
              added.push({ at, good, total });
            }
            close(live.status(now), evaluateBudget(slo, added, now), 'status');
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('built from stored events at once, it agrees with the full evaluation too', () => {
    fc.assert(
      fc.property(sloArb, streamArb, (slo: MathSlo, raw) => {
        const events = raw.map((e) => ({ at: T0 + e.at, good: e.good, total: e.good + e.bad }));
        const now = T0 + 45 * D;
        close(LiveBudget.from(slo, events).status(now), evaluateBudget(slo, events, now), 'status');
      }),
      { numRuns: 30 },
    );
  });

  it('keeps one period of events, whatever the history, and appends in order without rebuilding', () => {
    const slo: MathSlo = {
      objective: 0.99,
      window: { kind: 'rolling', ms: 7 * D, text: '7d' },
      budgeting: { method: 'occurrences' },
      alerting: { strategy: 'sloth', minEvents: 5, page: true, ticket: true },
      exclusions: [],
    };
    const live = new LiveBudget(slo);
    // 30 days of one event every 5 minutes, evaluated every 6 hours.
    for (let t = 0; t < 30 * D; t += 5 * M) {
      live.add({ at: T0 + t, good: t % 7 === 0 ? 0 : 1, total: 1 });
      if (t % (6 * H) === 0) live.status(T0 + t);
    }
    const kept = live.stats();
    expect(kept.events).toBeLessThanOrEqual(2 * 7 * 288 + 16 + 72);
    expect(kept.rebuilds).toBe(0);
    live.add({ at: T0 + 30 * D - 2 * H, good: 1, total: 1 });
    live.status(T0 + 30 * D);
    expect(live.stats().rebuilds).toBe(1);
    // An instant before the history kept: a domain error naming what to do, not a plain Error.
    expect(() => live.status(T0 + 10 * D)).toThrow(DomainError);
    expect(() => live.status(T0 + 10 * D)).toThrow(/earlier than the history/);
  });

  it('bounds memory without status calls: appends compact once past a bound, and the columns shrink', () => {
    const slo: MathSlo = {
      objective: 0.99,
      window: { kind: 'rolling', ms: D, text: '1d' },
      budgeting: { method: 'timeslices', sliceMs: H, sliceTarget: 0.9 },
      alerting: { strategy: 'sloth', minEvents: 5, page: true, ticket: true },
      exclusions: [],
    };
    const live = new LiveBudget(slo);
    // 30 days of one event a minute, never evaluated: memory stays within a few times what the
    // windows reach (sloth's longest alert window, 3d, and the day of margin): 4 days, not 30.
    for (let t = 0; t < 30 * D; t += M) live.add({ at: T0 + t, good: t % 11 === 0 ? 0 : 1, total: 1 });
    expect(live.stats().events).toBeLessThan(3 * 4 * 1440);
    const built = LiveBudget.from(
      slo,
      Array.from({ length: 30 * 1440 }, (_, i) => ({ at: T0 + i * M, good: 1, total: 1 })),
    );
    built.status(T0 + 30 * D);
    // Its columns hold about what a budget built from the events it kept holds: no more than twice.
    const kept = built.stats().events;
    const fresh = LiveBudget.from(
      slo,
      Array.from({ length: kept }, (_, i) => ({ at: T0 + (30 * 1440 - kept + i) * M, good: 1, total: 1 })),
    );
    expect(built.stats().bytes).toBeLessThanOrEqual(2 * fresh.stats().bytes);
    close(
      built.status(T0 + 30 * D),
      evaluateBudget(
        slo,
        Array.from({ length: 30 * 1440 }, (_, i) => ({ at: T0 + i * M, good: 1, total: 1 })),
        T0 + 30 * D,
      ),
      'status',
    );
  });

  it('bounds the cost of events out of order: crafted instants (newest first) do not rebuild on each one', () => {
    const slo: MathSlo = {
      objective: 0.99,
      window: { kind: 'rolling', ms: 30 * D, text: '30d' },
      budgeting: { method: 'occurrences' },
      alerting: { strategy: 'sloth', minEvents: 5, page: true, ticket: true },
      exclusions: [],
    };
    const live = new LiveBudget(slo);
    const events: SliEvent[] = [];
    for (let i = 20_000; i > 0; i--) {
      const e = { at: T0 + i * M, good: i % 7 === 0 ? 0 : 1, total: 1 };
      events.push(e);
      live.add(e);
    }
    expect(live.stats().rebuilds).toBeLessThan(40);
    close(live.status(T0 + 20_001 * M), evaluateBudget(slo, events, T0 + 20_001 * M), 'status');
  });

  it('ignores events that are not events (no total, not finite), as the full evaluation does', () => {
    const slo: MathSlo = {
      objective: 0.9,
      window: { kind: 'rolling', ms: D, text: '1d' },
      budgeting: { method: 'occurrences' },
      alerting: { strategy: 'sloth', minEvents: 1, page: true, ticket: false },
      exclusions: [],
    };
    const odd: SliEvent[] = [
      { at: T0 - H, good: 3, total: 0 },
      { at: NaN, good: 1, total: 1 },
      { at: T0 - H, good: 5, total: 2 },
      { at: T0 - 2 * H, good: -1, total: 2 },
    ];
    close(LiveBudget.from(slo, odd).status(T0), evaluateBudget(slo, odd, T0), 'status');
  });
});

describe('budget spent in an interval', () => {
  it('over the period is what the status says is consumed; split in two, the bad events of the halves add up (occurrences)', () => {
    fc.assert(
      fc.property(sloArb, streamArb, fc.integer({ min: 0, max: 45 * D }), (slo: MathSlo, raw, cut) => {
        const events = raw.map((e) => ({ at: T0 + e.at, good: e.good, total: e.good + e.bad }));
        const now = T0 + 45 * D;
        const s = evaluateBudget(slo, events, now);
        const start = Date.parse(s.period.start);
        expect(consumedBetween(slo, events, start - 1, now).consumed).toBeCloseTo(s.consumed, 9);
        if (slo.budgeting.method === 'occurrences') {
          const mid = Math.max(start - 1, Math.min(now, T0 + cut));
          // Each half is weighed against the period that holds its end; what they spent adds up.
          const halves = consumedBetween(slo, events, start - 1, mid).bad + consumedBetween(slo, events, mid, now).bad;
          expect(halves).toBe(s.total - s.good);
        }
      }),
      { numRuns: 40 },
    );
  });
});
