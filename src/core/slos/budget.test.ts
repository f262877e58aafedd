import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pyrraWindows, slothWindows } from './alert-windows.ts';
import { consumedBetween, evaluateBudget } from './budget.ts';
import { calendarPeriod } from './calendar.ts';
import type { Budgeting, Slo, SliEvent } from './types.ts';

const H = 3_600_000;
const D = 24 * H;
// The fake clock: every evaluation takes its instant as an argument.
const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);

const slo = (over: Partial<Pick<Slo, 'objective' | 'window' | 'budgeting' | 'alerting'>> = {}) => ({
  objective: 0.99,
  window: { kind: 'rolling' as const, ms: 30 * D, text: '30d' },
  budgeting: { method: 'occurrences' } as Budgeting,
  alerting: { strategy: 'sloth' as const, minEvents: 5, page: true, ticket: true },
  ...over,
});

const budgeting = fc.oneof(
  fc.constant<Budgeting>({ method: 'occurrences' }),
  fc.record({
    method: fc.constant('timeslices' as const),
    sliceMs: fc.constantFrom(60_000, H, D),
    sliceTarget: fc.double({ min: 0.5, max: 1, noNaN: true }),
  }),
  fc.record({ method: fc.constant('ratio-timeslices' as const), sliceMs: fc.constantFrom(60_000, H, D) }),
);
const events = fc.array(
  fc
    .record({ ago: fc.integer({ min: 0, max: 40 * D }), good: fc.nat(20), extra: fc.nat(20) })
    .map((e): SliEvent => ({ at: NOW - e.ago, good: e.good, total: e.good + e.extra })),
  { maxLength: 200 },
);
const objective = fc.double({ min: 0.5, max: 0.9999, noNaN: true });

const finiteOrNull = (n: number | null) => n === null || Number.isFinite(n);

describe('error budgets', () => {
  it('is never NaN or infinite, whatever the events (none, few, all bad)', () => {
    fc.assert(
      fc.property(events, objective, budgeting, (ev, o, b) => {
        const s = evaluateBudget(slo({ objective: o, budgeting: b }), ev, NOW);
        expect(Number.isFinite(s.consumed) && Number.isFinite(s.remaining)).toBe(true);
        expect(finiteOrNull(s.sli) && finiteOrNull(s.timeToExhaustionMs)).toBe(true);
        for (const r of s.burnRates) expect(finiteOrNull(r.rate)).toBe(true);
        expect(s.remaining).toBeCloseTo(1 - s.consumed, 9);
      }),
    );
  });

  it('spends exactly the budget when the error rate equals 1 − objective (occurrences)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 2, max: 100 }), (bad, per) => {
        const total = bad * per;
        const ev: SliEvent[] = [{ at: NOW - H, good: total - bad, total }];
        const s = evaluateBudget(slo({ objective: 1 - 1 / per }), ev, NOW);
        expect(s.consumed).toBeCloseTo(1, 9);
        expect(s.burnRates.at(-1)!.rate).toBeCloseTo(1, 9);
      }),
    );
  });

  it('leaves out events outside the window: they never change the budget', () => {
    fc.assert(
      fc.property(events, events, budgeting, (inside, outside, b) => {
        const inWin = inside.map((e) => ({ ...e, at: NOW - ((NOW - e.at) % (29 * D)) }));
        const old = outside.map((e) => ({ ...e, at: NOW - 31 * D - (NOW - e.at) }));
        const a = evaluateBudget(slo({ budgeting: b }), inWin, NOW);
        const c = evaluateBudget(slo({ budgeting: b }), [...inWin, ...old], NOW);
        expect(c.consumed).toBe(a.consumed);
        expect(c.sli).toBe(a.sli);
      }),
    );
  });

  it('consumes more budget with more bad events, never less', () => {
    fc.assert(
      fc.property(events, fc.integer({ min: 1, max: 10 }), budgeting, (ev, n, b) => {
        const before = evaluateBudget(slo({ budgeting: b }), ev, NOW);
        const after = evaluateBudget(slo({ budgeting: b }), [...ev, { at: NOW - 10, good: 0, total: n }], NOW);
        expect(after.consumed).toBeGreaterThanOrEqual(before.consumed - 1e-12);
      }),
    );
  });

  it('gives time to exhaustion = remaining × period ÷ burn rate of the last hour', () => {
    // 1000 good events long ago, then 2% bad over the last hour at 99% objective: burn 2.
    const ev: SliEvent[] = [
      { at: NOW - 10 * D, good: 1000, total: 1000 },
      { at: NOW - 30 * 60_000, good: 98, total: 100 },
    ];
    const s = evaluateBudget(slo(), ev, NOW);
    const hour = s.burnRates.find((r) => r.window === '1h')!;
    expect(hour.rate).toBeCloseTo(2, 9);
    expect(s.timeToExhaustionMs).toBeCloseTo((s.remaining * 30 * D) / 2, 0);
    expect(evaluateBudget(slo(), [{ at: NOW - D, good: 10, total: 10 }], NOW).timeToExhaustionMs).toBeNull();
  });

  it('counts timeslices: a bad slice spends 1 ÷ ((1 − objective) × slices in the period)', () => {
    const b: Budgeting = { method: 'timeslices', sliceMs: H, sliceTarget: 0.9 };
    // 30 days of hourly slices at 99%: 7.2 slices of budget. Two bad slices, one good.
    const ev: SliEvent[] = [
      { at: NOW - 5 * H - 1, good: 1, total: 2 },
      { at: NOW - 3 * H - 1, good: 8, total: 10 },
      { at: NOW - 2 * H - 1, good: 10, total: 10 },
    ];
    const s = evaluateBudget(slo({ budgeting: b }), ev, NOW);
    expect(s.consumed).toBeCloseTo(2 / 7.2, 9);
    expect(s.sli).toBeCloseTo(1 / 3, 9);
    const r = evaluateBudget(slo({ budgeting: { method: 'ratio-timeslices', sliceMs: H } }), ev, NOW);
    expect(r.consumed).toBeCloseTo((0.5 + 0.2) / 7.2, 9);
  });
});

describe('multiwindow burn-rate alerts', () => {
  it('pages when both windows of a pair burn too fast, and not below minEvents', () => {
    // Everything bad in the last 5 minutes: every window that holds them burns at 100.
    const bad = (n: number): SliEvent[] => Array.from({ length: n }, (_, i) => ({ at: NOW - i * 1000, good: 0, total: 1 }));
    const quiet = evaluateBudget(slo({ alerting: { strategy: 'sloth', minEvents: 5, page: true, ticket: true } }), bad(4), NOW);
    expect(quiet.alerts.map((a) => a.firing)).toEqual([false, false]);
    expect(quiet.alerts[0]!.why).toContain('fewer than 5 events');
    const loud = evaluateBudget(slo(), bad(5), NOW);
    expect(loud.alerts.map((a) => [a.severity, a.firing])).toEqual([
      ['page', true],
      ['ticket', true],
    ]);
    // Old bad events only: the short windows are clean, nothing fires.
    const old = bad(20).map((e) => ({ ...e, at: e.at - 2 * D }));
    expect(evaluateBudget(slo(), old, NOW).alerts.some((a) => a.firing)).toBe(false);
  });

  it('never fires without events, whatever the strategy or period', () => {
    fc.assert(
      fc.property(fc.constantFrom('sloth' as const, 'pyrra' as const), fc.integer({ min: 1, max: 90 }), (strategy, days) => {
        const s = evaluateBudget(
          slo({
            window: { kind: 'rolling', ms: days * D, text: `${days}d` },
            alerting: { strategy, minEvents: 1, page: true, ticket: true },
          }),
          [],
          NOW,
        );
        expect(s.alerts.every((a) => !a.firing)).toBe(true);
        expect(s.remaining).toBe(1);
      }),
    );
  });

  it("scales Sloth's factors with the period and Pyrra's windows", () => {
    expect(slothWindows(30 * D).map((w) => w.factor)).toEqual([14.4, 6, 3, 1]);
    expect(slothWindows(7 * D).map((w) => [w.shortMs, w.longMs])).toEqual(slothWindows(30 * D).map((w) => [w.shortMs, w.longMs]));
    const p28 = pyrraWindows(28 * D);
    expect(p28.map((w) => [w.shortMs / 60_000, w.longMs / 60_000, w.factor])).toEqual([
      [5, 60, 14],
      [30, 360, 7],
      [120, 1440, 2],
      [360, 5760, 1],
    ]);
    expect(pyrraWindows(7 * D).map((w) => w.factor)).toEqual([14, 7, 2, 1]);
    expect(pyrraWindows(7 * D)[0]!.longMs).toBe(15 * 60_000);
  });
});

describe('calendar windows', () => {
  it('holds now in a period that starts and ends on month boundaries of the zone', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }), (now) => {
        const p = calendarPeriod({ count: 1, unit: 'month', startTime: '2022-01-01T00:00:00', timeZone: 'UTC' }, now);
        expect(p.start <= now && now < p.end).toBe(true);
        expect(new Date(p.start).getUTCDate()).toBe(1);
        expect(new Date(p.end).getUTCDate()).toBe(1);
        expect(new Date(p.start).getUTCHours()).toBe(0);
      }),
    );
  });

  it('follows the zone: a New York month starts at local midnight (05:00 or 04:00 UTC)', () => {
    const jan = calendarPeriod(
      { count: 1, unit: 'month', startTime: '2022-01-01T00:00:00', timeZone: 'America/New_York' },
      Date.UTC(2026, 0, 15),
    );
    expect(new Date(jan.start).toISOString()).toBe('2026-01-01T05:00:00.000Z');
    const jul = calendarPeriod(
      { count: 1, unit: 'month', startTime: '2022-01-01T00:00:00', timeZone: 'America/New_York' },
      Date.UTC(2026, 6, 15),
    );
    expect(new Date(jul.start).toISOString()).toBe('2026-07-01T04:00:00.000Z');
    expect(new Date(jul.end).toISOString()).toBe('2026-08-01T04:00:00.000Z');
  });

  it('budgets only the current calendar period', () => {
    const s = slo({
      window: { kind: 'calendar', count: 1, unit: 'month', startTime: '2000-01-01T00:00:00', timeZone: 'UTC', text: 'month' },
    });
    const ev: SliEvent[] = [
      { at: Date.UTC(2026, 4, 31, 23), good: 0, total: 100 },
      { at: Date.UTC(2026, 5, 2), good: 99, total: 100 },
    ];
    const b = evaluateBudget(s, ev, NOW);
    expect(b.total).toBe(100);
    expect(b.consumed).toBeCloseTo(1, 9);
    expect(b.period.start).toBe('2026-06-01T00:00:00.000Z');
  });
});

describe('budget spent in an interval (consumedBetween)', () => {
  const M = 60_000;
  const monthly = (b: Budgeting = { method: 'occurrences' }) =>
    slo({
      budgeting: b,
      window: { kind: 'calendar', count: 1, unit: 'month', startTime: '2000-01-01T00:00:00', timeZone: 'UTC', text: 'month' },
    });
  const DEC = Date.UTC(2026, 11, 1);
  // An event every 10 minutes from 25 November on, 3 in 100 bad: an incident's impact window.
  const FROM = Date.UTC(2026, 10, 25);
  const stream: SliEvent[] = [];
  for (let t = FROM - 2 * D; t <= DEC + 6 * H; t += 10 * M) stream.push({ at: t, good: 97, total: 100 });

  it('does not jump at a calendar boundary: the new period weighs only its own events', () => {
    const before = consumedBetween(monthly(), stream, FROM, DEC - 1000).consumed;
    const at = consumedBetween(monthly(), stream, FROM, DEC).consumed;
    const later = consumedBetween(monthly(), stream, FROM, DEC + 2 * H).consumed;
    // The December part: 3% bad against a 1% budget of December's events alone, i.e. 3.
    expect(at).toBeCloseTo(before + 3, 6);
    expect(later).toBeCloseTo(before + 3, 6);
    expect(before).toBeGreaterThan(0);
    // Until the boundary, the November events are weighed against November's budget.
    const nov = evaluateBudget(monthly(), stream, DEC - 1000);
    expect(consumedBetween(monthly(), stream, Date.parse(nov.period.start) - 1, DEC - 1000).consumed).toBeCloseTo(nov.consumed, 9);
  });

  it('across a month boundary, is the sum of its two sides, each against its own period (calendar, every method)', () => {
    fc.assert(
      fc.property(
        events.map((ev) => ev.map((e) => ({ ...e, at: e.at - NOW + DEC + 10 * D }))),
        objective,
        budgeting,
        fc.integer({ min: 1, max: 30 * D }),
        fc.integer({ min: 0, max: 9 * D }),
        (ev, o, b, back, ahead) => {
          const s = { ...monthly(b), objective: o };
          const from = DEC - back;
          const to = DEC + ahead;
          const whole = consumedBetween(s, ev, from, to);
          const sides = consumedBetween(s, ev, from, DEC - 1).consumed + consumedBetween(s, ev, DEC - 1, to).consumed;
          expect(whole.consumed).toBeCloseTo(sides, 9);
          expect(Number.isFinite(whole.consumed) && whole.consumed >= 0).toBe(true);
          expect(whole.periods.length).toBeLessThanOrEqual(2);
          expect(whole.periods.reduce((n, p) => n + p.consumed, 0)).toBeCloseTo(whole.consumed, 9);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('is never NaN or infinite, and 0 without events (rolling and calendar, every method)', () => {
    fc.assert(
      fc.property(
        events,
        objective,
        budgeting,
        fc.boolean(),
        fc.integer({ min: 0, max: 90 * D }),
        fc.integer({ min: -D, max: D }),
        (ev, o, b, cal, back, shift) => {
          const s = cal
            ? { ...monthly(b), objective: o }
            : slo({ objective: o, budgeting: b, window: { kind: 'rolling', ms: 7 * D, text: '7d' } });
          const r = consumedBetween(s, ev, NOW + shift - back, NOW + shift);
          expect(Number.isFinite(r.consumed) && r.consumed >= 0).toBe(true);
          for (const p of r.periods) expect(Number.isFinite(p.consumed) && Number.isFinite(p.budget)).toBe(true);
          expect(consumedBetween(s, [], NOW - back, NOW).consumed).toBe(0);
          if (r.bad === 0) expect(r.consumed).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("cuts a rolling window into tiles of its length back from `to`: the tile holding `to` is the status's period", () => {
    const s = slo({ window: { kind: 'rolling', ms: 7 * D, text: '7d' } });
    const ev: SliEvent[] = [
      { at: NOW - 10 * D, good: 0, total: 1 }, // tile 2: [NOW-14d, NOW-7d)
      { at: NOW - 8 * D, good: 99, total: 99 },
      { at: NOW - D, good: 0, total: 2 }, // tile 1: [NOW-7d, NOW]
      { at: NOW - H, good: 398, total: 398 },
    ];
    const r = consumedBetween(s, ev, NOW - 12 * D, NOW);
    expect(r.periods.map((p) => [p.start, p.bad, p.events])).toEqual([
      [new Date(NOW - 14 * D).toISOString(), 1, 100],
      [new Date(NOW - 7 * D).toISOString(), 2, 400],
    ]);
    // 1 bad of a 1-event budget (1% of 100), and 2 bad of a 4-event budget (1% of 400).
    expect(r.consumed).toBeCloseTo(1 + 0.5, 9);
    expect(consumedBetween(s, ev, NOW - 7 * D - 1, NOW).consumed).toBeCloseTo(evaluateBudget(s, ev, NOW).consumed, 9);
  });

  it("timeslices: each period's bad slices against its own slices", () => {
    const s = monthly({ method: 'timeslices', sliceMs: H, sliceTarget: 0.9 });
    const ev: SliEvent[] = [
      { at: DEC - 30 * M, good: 0, total: 10 }, // a bad November slice
      { at: DEC + 30 * M, good: 0, total: 10 }, // a bad December slice
      { at: DEC + 90 * M, good: 10, total: 10 },
    ];
    const r = consumedBetween(s, ev, DEC - H, DEC + 2 * H);
    // November: 720 slices, December: 744; 1% of each is the budget.
    expect(r.periods.map((p) => p.bad)).toEqual([1, 1]);
    expect(r.consumed).toBeCloseTo(1 / 7.2 + 1 / 7.44, 9);
  });
});
