import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cronMatches, nextMatch, nextRun, parseCron, tryParseCron } from './cron.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString());

describe('parseCron', () => {
  it('reads every field form: *, lists, ranges, steps and names', () => {
    const c = parseCron('*/15 9-17/4 1,15 jan-mar,DEC mon-fri');
    expect(c.minutes).toEqual([0, 15, 30, 45]);
    expect(c.hours).toEqual([9, 13, 17]);
    expect(c.daysOfMonth).toEqual([1, 15]);
    expect(c.months).toEqual([1, 2, 3, 12]);
    expect(c.daysOfWeek).toEqual([1, 2, 3, 4, 5]);
    expect(c.domRestricted && c.dowRestricted).toBe(true);
  });

  it('folds 7 into Sunday and reads 5/15 as from 5 in steps of 15', () => {
    expect(parseCron('5/15 0 * * 5-7').daysOfWeek).toEqual([0, 5, 6]);
    expect(parseCron('5/15 0 * * *').minutes).toEqual([5, 20, 35, 50]);
  });

  it('expands the @ shorthands', () => {
    expect(parseCron('@hourly')).toMatchObject({ minutes: [0], hours: Array.from({ length: 24 }, (_, i) => i) });
    expect(parseCron('@weekly').daysOfWeek).toEqual([0]);
  });

  it.each([
    ['* * * *', /has 4 fields; write five/],
    ['60 * * * *', /minute value 60 is out of range 0-59/],
    ['* 24 * * *', /hour value 24 is out of range 0-23/],
    ['* * 0 * *', /day-of-month value 0 is out of range 1-31/],
    ['* * * foo *', /month 'foo' is not a number 1-12 or a name \(jan/],
    ['*/0 * * * *', /step in '\*\/0' must be a positive number/],
    ['5-1 * * * *', /runs backwards/],
    ['1,,2 * * * *', /empty list item/],
    ['0 0 30 2 *', /never matches/],
    ['@often', /not a known shorthand/],
  ])('refuses %j and names the field', (expr, why) => {
    const r = tryParseCron(expr);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(why);
  });
});

describe('nextMatch and nextRun', () => {
  it('finds the next minute in simple cases', () => {
    const c = parseCron('*/15 * * * *');
    expect(iso(nextMatch(c, at('2024-05-01T10:07:12Z')))).toBe('2024-05-01T10:15:00.000Z');
    expect(iso(nextMatch(c, at('2024-05-01T10:15:00Z')))).toBe('2024-05-01T10:30:00.000Z');
    expect(iso(nextMatch(c, at('2024-12-31T23:59:59Z')))).toBe('2025-01-01T00:00:00.000Z');
  });

  it('ORs day-of-month and day-of-week when both are restricted, as Vixie cron does', () => {
    // 2024-05-01 is a Wednesday: the 13th or any Friday, whichever comes first.
    const c = parseCron('0 12 13 * fri');
    expect(iso(nextMatch(c, at('2024-05-01T00:00:00Z')))).toBe('2024-05-03T12:00:00.000Z');
    expect(iso(nextMatch(c, at('2024-05-10T13:00:00Z')))).toBe('2024-05-13T12:00:00.000Z');
  });

  it('finds 29 February in the next leap year', () => {
    expect(iso(nextMatch(parseCron('0 0 29 2 *'), at('2025-03-01T00:00:00Z')))).toBe('2028-02-29T00:00:00.000Z');
  });

  it('adds jitter from the random source passed in, within [0, jitter)', () => {
    const c = parseCron('0 * * * *');
    const after = at('2024-05-01T10:30:00Z');
    expect(nextRun(c, after, 30_000, () => 0)).toEqual({ scheduledAt: at('2024-05-01T11:00:00Z'), runAt: at('2024-05-01T11:00:00Z') });
    expect(nextRun(c, after, 30_000, () => 0.5)?.runAt).toBe(at('2024-05-01T11:00:15Z'));
    expect(nextRun(c, after, 30_000, () => 1)!.runAt).toBeLessThan(at('2024-05-01T11:00:30Z'));
    expect(nextRun(c, after, 0, () => 0.9)?.runAt).toBe(at('2024-05-01T11:00:00Z'));
  });
});

/** A field as the generator means it: its text and the set of values it must select. */
interface GenField {
  text: string;
  values: number[];
}

function field(min: number, max: number): fc.Arbitrary<GenField> {
  const all = (lo: number, hi: number, step: number) => {
    const out: number[] = [];
    for (let v = lo; v <= hi; v += step) out.push(v);
    return out;
  };
  const range = fc
    .tuple(fc.integer({ min, max }), fc.integer({ min, max }), fc.integer({ min: 1, max: 10 }), fc.boolean())
    .map(([a, b, step, withStep]) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      return withStep ? { text: `${lo}-${hi}/${step}`, values: all(lo, hi, step) } : { text: `${lo}-${hi}`, values: all(lo, hi, 1) };
    });
  return fc.oneof(
    fc.constant({ text: '*', values: all(min, max, 1) }),
    fc.integer({ min: 1, max: 20 }).map((s) => ({ text: `*/${s}`, values: all(min, max, s) })),
    range,
    fc
      .uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 4 })
      .map((vs) => ({ text: vs.join(','), values: [...vs].sort((a, b) => a - b) })),
  );
}

const cronArb = fc.tuple(field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 6));

/** An independent matcher written from the generator's sets, not the parser's. */
function oracleMatches(f: GenField[], ms: number): boolean {
  const d = new Date(ms);
  const [mi, h, dom, mon, dow] = f as [GenField, GenField, GenField, GenField, GenField];
  if (!mi.values.includes(d.getUTCMinutes()) || !h.values.includes(d.getUTCHours())) return false;
  if (!mon.values.includes(d.getUTCMonth() + 1)) return false;
  const domStar = dom.text === '*' || dom.text.startsWith('*/');
  const dowStar = dow.text === '*' || dow.text.startsWith('*/');
  const a = dom.values.includes(d.getUTCDate());
  const b = dow.values.includes(d.getUTCDay());
  return !domStar && !dowStar ? a || b : a && b;
}

describe('cron properties', () => {
  it('parses each generated field to the values it means', () => {
    fc.assert(
      fc.property(cronArb, (f) => {
        const r = tryParseCron(f.map((x) => x.text).join(' '));
        fc.pre(r.ok);
        if (!r.ok) return;
        expect(r.cron.minutes).toEqual(f[0].values);
        expect(r.cron.hours).toEqual(f[1].values);
        expect(r.cron.daysOfMonth).toEqual(f[2].values);
        expect(r.cron.months).toEqual(f[3].values);
        expect(r.cron.daysOfWeek).toEqual(f[4].values);
      }),
      { numRuns: 300 },
    );
  });

  it('the next run is after `after`, matches every field, and is the earliest such minute', () => {
    const from = at('2000-01-01T00:00:00Z');
    const to = at('2060-01-01T00:00:00Z');
    fc.assert(
      fc.property(
        cronArb,
        fc.integer({ min: from, max: to }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (f, after, jitter, rnd) => {
          const r = tryParseCron(f.map((x) => x.text).join(' '));
          fc.pre(r.ok);
          if (!r.ok) return;
          const run = nextRun(r.cron, after, jitter, () => rnd);
          expect(run).not.toBeNull();
          const next = run!.scheduledAt;
          expect(next).toBeGreaterThan(after);
          expect(next % 60_000).toBe(0);
          expect(cronMatches(r.cron, next)).toBe(true);
          expect(oracleMatches(f, next)).toBe(true);
          expect(run!.runAt - next).toBeGreaterThanOrEqual(0);
          expect(run!.runAt - next).toBeLessThanOrEqual(Math.max(0, jitter - 1));
          // Earliest: scan day by day (skipping days the date fields exclude), minute by minute within.
          const firstMinute = Math.floor(after / 60_000) * 60_000 + 60_000;
          let dayStart = Math.floor(firstMinute / 86_400_000) * 86_400_000;
          while (dayStart <= next) {
            const probeDay = new Date(dayStart);
            const dateFieldsMatch = oracleDayMatches(f, probeDay);
            if (dateFieldsMatch) {
              for (let t = Math.max(dayStart, firstMinute); t < Math.min(dayStart + 86_400_000, next); t += 60_000) {
                expect(oracleMatches(f, t)).toBe(false);
              }
            }
            dayStart += 86_400_000;
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

function oracleDayMatches(f: GenField[], d: Date): boolean {
  const [, , dom, mon, dow] = f as [GenField, GenField, GenField, GenField, GenField];
  if (!mon.values.includes(d.getUTCMonth() + 1)) return false;
  const domStar = dom.text === '*' || dom.text.startsWith('*/');
  const dowStar = dow.text === '*' || dow.text.startsWith('*/');
  const a = dom.values.includes(d.getUTCDate());
  const b = dow.values.includes(d.getUTCDay());
  return !domStar && !dowStar ? a || b : a && b;
}
