import fc from 'fast-check';
import rrule from 'rrule';
import { describe, expect, it } from 'vitest';
import { evaluateBudget } from './budget.ts';
import { toInstant } from './calendar.ts';
import { checkRrule, exclusionIntervals, intervalAt } from './exclusions.ts';
import { parseSloFile } from './slo-file.ts';
import type { Exclusion, SliEvent, Slo } from './types.ts';

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);

const slo = (exclusions: Exclusion[]) => ({
  objective: 0.99,
  window: { kind: 'rolling' as const, ms: 30 * D, text: '30d' },
  budgeting: { method: 'occurrences' } as Slo['budgeting'],
  alerting: { strategy: 'sloth' as const, minEvents: 5, page: true, ticket: true },
  exclusions,
});

const weekly: Exclusion = {
  name: 'weekly',
  start: '2026-01-04T02:00:00',
  durationMs: 2 * H,
  rrule: 'FREQ=WEEKLY;BYDAY=SU',
  timeZone: 'Europe/Paris',
};

describe('exclusion windows', () => {
  it('repeats a weekly window at 02:00 Paris wall-clock time, across the change to summer time', () => {
    const i = exclusionIntervals([weekly], Date.UTC(2026, 2, 20), Date.UTC(2026, 3, 10));
    expect(i.map((x) => new Date(x.start).toISOString())).toEqual([
      '2026-03-22T01:00:00.000Z', // CET, UTC+1
      '2026-03-29T01:00:00.000Z', // 02:00 does not exist that night: the clocks jump to 03:00 CEST then
      '2026-04-05T00:00:00.000Z', // CEST, UTC+2
    ]);
    expect(i.every((x) => x.end - x.start === 2 * H && x.name === 'weekly')).toBe(true);
  });

  it('leaves events inside a window out of the budget, good and total, and says which window is in effect', () => {
    const maintenance: Exclusion = { name: 'pentest', start: '2026-06-15T10:00:00', durationMs: 4 * H, timeZone: 'UTC' };
    const events: SliEvent[] = [
      { at: NOW - 10 * D, good: 10, total: 10 },
      { at: NOW - 20 * 60_000, good: 0, total: 7 }, // inside the window: the pentest broke things on purpose
    ];
    const without = evaluateBudget(slo([]), events, NOW);
    expect(without.alerts.find((a) => a.severity === 'page')!.firing).toBe(true);
    const s = evaluateBudget(slo([maintenance]), events, NOW);
    expect(s).toMatchObject({
      good: 10,
      total: 10,
      consumed: 0,
      excluded: 7,
      exclusion: { name: 'pentest', until: '2026-06-15T14:00:00.000Z' },
    });
    expect(s.alerts.every((a) => !a.firing)).toBe(true);
    const after = evaluateBudget(slo([maintenance]), events, NOW + 3 * H);
    expect(after.exclusion).toBeNull();
  });

  it('an excluded interval never changes the budget, whatever events fall in it', () => {
    const event = fc.record({ ago: fc.integer({ min: 0, max: 35 * D }), good: fc.nat(5), extra: fc.nat(5) });
    const toEvent = (e: { ago: number; good: number; extra: number }): SliEvent => ({
      at: NOW - e.ago,
      good: e.good,
      total: e.good + e.extra,
    });
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 40 }),
        fc.array(event, { maxLength: 40 }),
        fc.constantFrom('DAILY', 'WEEKLY;BYDAY=MO,TH'),
        (base, noise, freq) => {
          const x: Exclusion = {
            name: 'w',
            start: '2026-01-01T03:00:00',
            durationMs: 3 * H,
            rrule: `FREQ=${freq}`,
            timeZone: 'America/New_York',
          };
          const intervals = exclusionIntervals([x], NOW - 60 * D, NOW + 1);
          const outside = base.map(toEvent).filter((e) => !intervalAt(intervals, e.at));
          // Move each noise event into some window.
          const inside = noise.map(toEvent).map((e, k) => {
            const w = intervals[k % intervals.length]!;
            return { ...e, at: w.start + (((e.at % (w.end - w.start)) + (w.end - w.start)) % (w.end - w.start)) };
          });
          const a = evaluateBudget(slo([x]), outside, NOW);
          const b = evaluateBudget(slo([x]), [...outside, ...inside], NOW);
          expect({ ...b, excluded: 0 }).toEqual({ ...a, excluded: 0 });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('expands the same occurrences near now as from the rule’s start (moving the start is only a shortcut)', () => {
    const rules = fc.constantFrom(
      'FREQ=DAILY',
      'FREQ=DAILY;INTERVAL=3',
      'FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SA;WKST=SU',
      'FREQ=WEEKLY;INTERVAL=3',
      'FREQ=MONTHLY;BYDAY=-1FR',
      'FREQ=MONTHLY;INTERVAL=2',
      'FREQ=MONTHLY;BYMONTHDAY=31',
      'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29',
      'FREQ=YEARLY',
      'FREQ=MONTHLY;BYDAY=2MO;BYHOUR=6,18;BYMINUTE=30',
    );
    fc.assert(
      fc.property(rules, fc.integer({ min: 0, max: 8 * 365 }), fc.integer({ min: 0, max: 23 }), (rule, daysBack, hour) => {
        const startMs = Date.UTC(2026, 5, 15) - daysBack * D + hour * H;
        const start = new Date(startMs).toISOString().slice(0, 19);
        const x: Exclusion = { name: 'w', start, durationMs: H, rrule: rule, timeZone: 'UTC' };
        const from = NOW - 40 * D;
        const got = exclusionIntervals([x], from, NOW).map((i) => i.start);
        const all = new rrule.RRule({ ...rrule.RRule.parseString(rule), dtstart: new Date(startMs) })
          .between(new Date(from - 2 * H), new Date(NOW), true)
          .map((d) => d.getTime())
          .filter((t) => t < NOW && t + H > from);
        expect(got).toEqual(all);
      }),
      { numRuns: 80 },
    );
  });

  it('refuses rules that could never match (the library would search to the year 9999) and other rules it does not take', () => {
    expect(checkRrule('FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31')).toMatch(/never falls/);
    expect(checkRrule('FREQ=MONTHLY;BYDAY=5MO')).toMatch(/ordinals are ±1 to ±4/);
    expect(checkRrule('FREQ=MINUTELY')).toMatch(/not supported/);
    expect(checkRrule('FREQ=WEEKLY;BYSETPOS=6')).toMatch(/BYSETPOS is not supported/);
    expect(checkRrule('FREQ=WEEKLY;BYDAY=XX')).toMatch(/not a day/);
    expect(checkRrule('FREQ=WEEKLY;COUNT=3;UNTIL=20270101')).toMatch(/COUNT and UNTIL/);
    expect(checkRrule('RRULE:FREQ=WEEKLY;BYDAY=SU;BYHOUR=0;BYMINUTE=0')).toBeUndefined();
    expect(checkRrule('FREQ=YEARLY;BYMONTH=2,4;BYMONTHDAY=30')).toBeUndefined();
    // Without a day, the rule recurs on the start's day of the month: it must exist in BYMONTH.
    expect(checkRrule('FREQ=MONTHLY;BYMONTH=4', 31)).toMatch(/starts on day 31, which never falls in BYMONTH 4/);
    expect(checkRrule('FREQ=YEARLY;BYMONTH=2', 30)).toMatch(/never falls in BYMONTH 2/);
    expect(checkRrule('FREQ=YEARLY;BYMONTH=2,4', 30)).toBeUndefined();
    expect(checkRrule('FREQ=MONTHLY;BYMONTH=4;BYDAY=1SU', 31)).toBeUndefined();
    expect(checkRrule('FREQ=MONTHLY', 31)).toBeUndefined();
  });

  it('refuses in the SLO file a recurring window whose start day never falls in its months, naming the field', () => {
    const file = (start: string) => `apiVersion: bulwark/v1
kind: SLO
name: maint
service: shop
objective: 99
window: 30d
sli: {experiments: {tag: waf}}
exclusions:
  - name: quarterly
    start: ${start}
    duration: 2h
    rrule: FREQ=MONTHLY;BYMONTH=4
`;
    const bad = parseSloFile(file('2025-01-31T02:00'));
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.errors).toEqual([
        expect.objectContaining({
          path: 'exclusions.0.rrule',
          line: 12,
          message: expect.stringMatching(/rrule: the window starts on day 31, which never falls in BYMONTH 4/) as string,
        }),
      ]);
    }
    const good = parseSloFile(file('2025-01-30T02:00'));
    expect(good.ok, JSON.stringify(good)).toBe(true);
  });

  it('turns a one-off window with an end in its zone into the instants between', () => {
    const r = parseSloFile(`apiVersion: bulwark/v1
kind: SLO
name: s
service: shop
objective: 99
window: 30d
sli: {experiments: {tag: waf}}
exclusions:
  - {name: migration, start: 2026-03-28T22:00, end: 2026-03-29T04:00, timeZone: Europe/Paris}
  - {name: sundays, start: 2026-01-04T02:00, duration: 2h, rrule: 'RRULE:freq=weekly;byday=SU'}
`);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const [one, sundays] = r.slos[0]!.exclusions;
    // The night clocks went forward: five hours of real time between 22:00 and 04:00.
    expect(one!.durationMs).toBe(5 * H);
    expect(toInstant({ y: 2026, mo: 3, d: 28, h: 22, mi: 0, s: 0 }, 'Europe/Paris')).toBe(Date.UTC(2026, 2, 28, 21));
    expect(sundays).toEqual({
      name: 'sundays',
      start: '2026-01-04T02:00:00',
      durationMs: 2 * H,
      rrule: 'FREQ=WEEKLY;BYDAY=SU',
      timeZone: 'UTC',
    });
  });
});

const FILE_HEAD = `apiVersion: bulwark/v1
kind: SLO
name: s
service: shop
objective: 99
window: 30d
sli: {experiments: {tag: waf}}
`;

describe('exclusion fields, fuzzed', () => {
  const token = fc.constantFrom(
    'FREQ=DAILY',
    'FREQ=WEEKLY',
    'FREQ=MONTHLY',
    'FREQ=YEARLY',
    'FREQ=HOURLY',
    'BYDAY=SU',
    'BYDAY=1MO,-1FR',
    'BYDAY=5TU',
    'BYMONTH=2',
    'BYMONTH=4,6',
    'BYMONTHDAY=31',
    'BYMONTHDAY=-1',
    'BYMONTHDAY=30',
    'BYHOUR=0',
    'BYHOUR=24',
    'BYMINUTE=59',
    'INTERVAL=0',
    'INTERVAL=2',
    'COUNT=5',
    'UNTIL=20270101T000000Z',
    'UNTIL=bad',
    'WKST=SU',
    'BYSETPOS=1',
    'DTSTART=20260101',
    '',
    '=',
    'FREQ',
  );
  const rule = fc.oneof(
    fc.array(token, { maxLength: 5 }).map((t) => t.join(';')),
    fc.string({ maxLength: 30 }),
  );

  it('every rule is refused with a reason or expands quickly, never throws', () => {
    fc.assert(
      fc.property(rule, (r) => {
        const why = checkRrule(r);
        if (why !== undefined) {
          expect(why.length).toBeGreaterThan(0);
          return;
        }
        const x: Exclusion = {
          name: 'w',
          start: '2020-02-29T23:30:00',
          durationMs: H,
          rrule: r.replace(/^RRULE:/i, '').toUpperCase(),
          timeZone: 'Asia/Kolkata',
        };
        const t0 = performance.now();
        exclusionIntervals([x], NOW - 90 * D, NOW);
        expect(performance.now() - t0).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
  });

  it('an SLO file with any exclusion fields parses or names what to fix, never throws', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.constantFrom('2026-01-01', '2026-02-30', '2026-01-01T25:00', '2h', '0s', 'UTC', 'Mars/Olympus', 'FREQ=DAILY', null),
    );
    const field = fc.constantFrom('name', 'start', 'duration', 'end', 'rrule', 'timeZone', 'other');
    const exclusion = fc.dictionary(field, fc.oneof(value, rule), { maxKeys: 6 });
    fc.assert(
      fc.property(fc.array(exclusion, { maxLength: 3 }), (xs) => {
        const r = parseSloFile(`${FILE_HEAD}exclusions: ${JSON.stringify(xs)}\n`);
        if (!r.ok) expect(r.errors.every((e) => e.message.length > 0 && e.line >= 1)).toBe(true);
        else expect(r.slos[0]!.exclusions.every((x) => x.durationMs > 0)).toBe(true);
      }),
      { numRuns: 80 },
    );
  });
});
