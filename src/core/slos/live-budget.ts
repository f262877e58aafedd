/**
 * Incremental evaluation of an SLO's budget: the events are kept once, sorted, as running sums
 * (good and total, and for timeslices each slice's spent share), and each window (the budget
 * period and every alert window) keeps a cursor into them that only moves forward as time does.
 * A new event is one append (O(1)); a status walks each window's cursor past the events that
 * left it since the last status (O(windows), amortised: every event enters and leaves each window
 * once), never the whole history. The tallies are those of evaluateBudget's scan (budget.ts):
 * the same budgetFromTallies turns them into the status, and live-budget.test.ts checks that the
 * two give the same status for random event streams, exclusions and calendar windows. Pure: the
 * instant is an argument.
 *
 * - Events before the furthest any window reaches (the period's start, or the longest alert
 *   window) are dropped, by halves (a compaction when they are as many as the events kept), so
 *   memory holds one period of events. A status compacts; so does an append once the events kept
 *   double (reaching from the newest event less a day, the margin for events ahead of the clock),
 *   so memory is bounded without status calls too. The columns shrink after a compaction.
 *   Instants evaluated must not go back past what was dropped: a DomainError ('invalid') says so.
 * - An event that arrives out of order (earlier than the last one kept) waits in a list of its
 *   own; the list is merged in with one rebuild (O(events kept), counted in `rebuilds`) at the next
 *   status, or once it holds half as many events as are kept: at most one rebuild per status, and
 *   O(1) amortised per event whatever the instants (newest first included).
 * - Exclusion windows are decided once, when an event arrives: an excluded event goes to a list
 *   of its own, which gives the status its `excluded` count.
 * - A calendar window's slices count from the period's start: a new period rebuilds the slices
 *   once.
 */
import type { WindowsSpec } from './alert-windows.ts';
import { budgetFromTallies, budgetPeriod, windowPlan, type BudgetStatus, type Tally } from './budget.ts';
import { invalid } from '../errors.ts';
import { exclusionIntervals, intervalAt, type Interval } from './exclusions.ts';
import type { Exclusion, Slo, SliEvent } from './types.ts';

type LiveSlo = Pick<Slo, 'objective' | 'window' | 'budgeting' | 'alerting'> & { exclusions?: readonly Exclusion[] };

/** A growable column of numbers. */
class Col {
  a: Float64Array;
  n = 0;
  constructor(cap = 8) {
    this.a = new Float64Array(cap);
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  /** Room for `n` values in all, so that building from known events does not double past them. */
  reserve(n: number): void {
    if (n <= this.a.length) return;
    const b = new Float64Array(n);
    b.set(this.a.subarray(0, this.n));
    this.a = b;
  }
  get last(): number {
    return this.a[this.n - 1]!;
  }
  clear(): void {
    this.n = 0;
  }
  /** Give back room when at most a quarter of it is used. */
  fit(): void {
    if (this.a.length <= 64 || this.n * 4 > this.a.length) return;
    const b = new Float64Array(Math.max(8, this.n * 2));
    b.set(this.a.subarray(0, this.n));
    this.a = b;
  }
  /** Memory held, in bytes. */
  get bytes(): number {
    return this.a.byteLength;
  }
}

const DAY = 86_400_000;
/** How far ahead of an instant the exclusion intervals are expanded at once. */
const EXCLUSION_SPAN = 7 * DAY;
/** A cursor that would walk further than this binary-searches instead. */
const WALK = 32;
/** The fewest events kept before an append compacts, or out-of-order events wait before a merge. */
const BOUND = 1024;
const MIN_PENDING = 64;

export interface LiveStats {
  /** Events kept (the period's), and excluded events kept. */
  events: number;
  excluded: number;
  /** Times the sums were rebuilt for an out-of-order event. */
  rebuilds: number;
  /** Bytes of the columns. */
  bytes: number;
}

export class LiveBudget {
  private readonly slo: LiveSlo;
  private readonly windows: WindowsSpec | undefined;
  private readonly slicing: boolean;
  // Events left after exclusions, sorted by instant: instants and running sums (one more entry).
  private readonly at = new Col();
  private readonly cg = new Col();
  private readonly ct = new Col();
  // Timeslices: each event's slice; each slice's first event; running sum of slices' spent shares.
  private readonly sliceOf = new Col();
  private readonly sliceFirst = new Col();
  private readonly spent = new Col();
  private origin = NaN;
  private lastKey = NaN;
  // Excluded events: instants and running sum of totals.
  private readonly xat = new Col();
  private readonly xct = new Col();
  private intervals: Interval[] = [];
  private coveredFrom = Infinity;
  private coveredTo = -Infinity;
  /** Events at or before this instant were dropped: no window evaluated since reaches them. */
  private dropped = -Infinity;
  private readonly hints = new Map<number | string, number>();
  private periodStart = NaN;
  // Events out of order, waiting to be merged in (excluded ones flagged).
  private pending: (SliEvent & { excluded: boolean })[] = [];
  /** The newest instant added, and the count of events kept at which an append compacts. */
  private newest = -Infinity;
  private compactAt = BOUND;
  rebuilds = 0;

  constructor(slo: LiveSlo, windows?: WindowsSpec) {
    this.slo = slo;
    this.windows = windows;
    this.slicing = slo.budgeting.method !== 'occurrences';
    if (slo.window.kind === 'rolling') this.origin = 0;
    this.cg.push(0);
    this.ct.push(0);
    this.spent.push(0);
    this.xct.push(0);
  }

  /** A live budget over events (any order): what a server builds from its store at start. */
  static from(slo: LiveSlo, events: readonly SliEvent[], windows?: WindowsSpec): LiveBudget {
    const live = new LiveBudget(slo, windows);
    // Room for every event (and a little for the next ones): the columns then hold what they need.
    const room = events.length + 64;
    live.at.reserve(room);
    live.cg.reserve(room + 1);
    live.ct.reserve(room + 1);
    for (const e of [...events].sort((a, b) => a.at - b.at)) live.add(e);
    return live;
  }

  /** One new event: an append, O(1) amortised (out of order: waits for a merge). */
  add(e: SliEvent): void {
    if (!(e.total > 0) || !Number.isFinite(e.at) || !Number.isFinite(e.total) || e.at <= this.dropped) return;
    const good = Math.min(Math.max(Number.isFinite(e.good) ? e.good : 0, 0), e.total);
    if (e.at > this.newest) this.newest = e.at;
    if (this.excludedAt(e.at)) {
      if (this.xat.n === 0 || e.at >= this.xat.last) {
        this.xat.push(e.at);
        this.xct.push(this.xct.last + e.total);
      } else this.pending.push({ at: e.at, good: 0, total: e.total, excluded: true });
    } else {
      if (Number.isNaN(this.origin)) this.origin = budgetPeriod(this.slo, e.at).start;
      if (this.at.n === 0 || e.at >= this.at.last) this.append(e.at, good, e.total);
      else this.pending.push({ at: e.at, good, total: e.total, excluded: false });
    }
    if (this.pending.length >= Math.max(MIN_PENDING, (this.at.n + this.xat.n) / 2)) this.merge();
    if (this.at.n + this.xat.n >= this.compactAt) {
      this.merge();
      // Statuses are for instants at or after the newest event, less a day of clock skew.
      const at = this.newest - DAY;
      const { start, end } = budgetPeriod(this.slo, at);
      const { longest } = windowPlan(this.slo.alerting.strategy, end - start, this.windows);
      this.compact(Math.min(start, at - longest) - 1);
      this.compactAt = Math.max(BOUND, 2 * (this.at.n + this.xat.n));
    }
  }

  /** Merge the events that arrived out of order: one rebuild of each list they belong to. */
  private merge(): void {
    if (this.pending.length === 0) return;
    const late = this.pending.sort((a, b) => a.at - b.at);
    this.pending = [];
    const mergeInto = (rows: SliEvent[], add: SliEvent[]): SliEvent[] => {
      const out: SliEvent[] = [];
      let i = 0;
      for (const r of rows) {
        while (i < add.length && add[i]!.at < r.at) out.push(add[i++]!);
        out.push(r);
      }
      while (i < add.length) out.push(add[i++]!);
      return out;
    };
    const inc = late.filter((r) => !r.excluded).map(({ at, good, total }) => ({ at, good, total }));
    const exc = late.filter((r) => r.excluded);
    if (inc.length > 0) {
      this.rebuild(mergeInto(this.rows(this.at, this.cg, this.ct), inc));
      this.rebuilds++;
    }
    if (exc.length > 0) this.rebuildExcluded(mergeInto(this.rows(this.xat, this.xct, this.xct), exc));
  }

  private rebuildExcluded(rows: readonly SliEvent[]): void {
    this.xat.clear();
    this.xct.clear();
    this.xct.push(0);
    for (const r of rows) {
      this.xat.push(r.at);
      this.xct.push(this.xct.last + r.total);
    }
    this.xat.fit();
    this.xct.fit();
  }

  /** The status at `now`: what evaluateBudget gives for every event added, in O(windows). */
  status(now: number): BudgetStatus {
    const { start, end } = budgetPeriod(this.slo, now);
    const periodMs = end - start;
    const { longest } = windowPlan(this.slo.alerting.strategy, periodMs, this.windows);
    const reach = Math.min(start, now - longest) - 1;
    if (reach < this.dropped) throw tooEarly(this.dropped);
    this.merge();
    this.periodStart = start;
    this.compact(reach);
    // Excluded events of [start, now], as evaluateBudget counts them.
    const xlo = lowerIn(this.xat, start);
    const xhi = upperIn(this.xat, now);
    const excluded = xhi > xlo ? this.xct.a[xhi]! - this.xct.a[xlo]! : 0;
    let exclusion: BudgetStatus['exclusion'] = null;
    if (this.slo.exclusions && this.slo.exclusions.length > 0) {
      this.cover(now);
      const active = intervalAt(this.intervals, now);
      if (active) exclusion = { name: active.name, until: new Date(active.end).toISOString() };
    }
    return budgetFromTallies(this.slo, now, (from, to, origin) => this.tally(from, to, origin), excluded, exclusion, this.windows);
  }

  stats(): LiveStats {
    this.merge();
    const cols = [this.at, this.cg, this.ct, this.sliceOf, this.sliceFirst, this.spent, this.xat, this.xct];
    return { events: this.at.n, excluded: this.xat.n, rebuilds: this.rebuilds, bytes: cols.reduce((s, c) => s + c.bytes, 0) };
  }

  private append(at: number, good: number, total: number): void {
    const i = this.at.n;
    this.at.push(at);
    this.cg.push(this.cg.last + good);
    this.ct.push(this.ct.last + total);
    const b = this.slo.budgeting;
    if (b.method === 'occurrences') return;
    const key = Math.floor((at - this.origin) / b.sliceMs);
    if (key !== this.lastKey || this.sliceFirst.n === 0) {
      this.lastKey = key;
      this.sliceFirst.push(i);
      this.spent.push(this.spent.last + this.part(i, i + 1));
    } else {
      const s = this.sliceFirst.n;
      this.spent.a[s] = this.spent.a[s - 1]! + this.part(this.sliceFirst.a[s - 1]!, i + 1);
    }
    this.sliceOf.push(this.sliceFirst.n - 1);
  }

  /** The share of events [lo, hi) spent, in the method's units (one slice's). */
  private part(lo: number, hi: number): number {
    const b = this.slo.budgeting;
    const ratio = (this.cg.a[hi]! - this.cg.a[lo]!) / (this.ct.a[hi]! - this.ct.a[lo]!);
    return b.method === 'timeslices' ? (ratio >= b.sliceTarget ? 0 : 1) : 1 - ratio;
  }

  /** The events kept, as rows (from the running sums). */
  private rows(at: Col, cg: Col, ct: Col): SliEvent[] {
    const out: SliEvent[] = [];
    for (let i = 0; i < at.n; i++) out.push({ at: at.a[i]!, good: cg.a[i + 1]! - cg.a[i]!, total: ct.a[i + 1]! - ct.a[i]! });
    return out;
  }

  private rebuild(rows: readonly SliEvent[]): void {
    for (const c of [this.at, this.cg, this.ct, this.sliceOf, this.sliceFirst, this.spent]) c.clear();
    this.cg.push(0);
    this.ct.push(0);
    this.spent.push(0);
    this.lastKey = NaN;
    this.hints.clear();
    for (const r of rows) this.append(r.at, r.good, r.total);
    for (const c of [this.at, this.cg, this.ct, this.sliceOf, this.sliceFirst, this.spent]) c.fit();
  }

  /** Drop the events at or before `reach` once they are as many as those kept after it. */
  private compact(reach: number): void {
    const k = upperIn(this.at, reach);
    const xk = upperIn(this.xat, reach);
    if (k * 2 < this.at.n + 16 && xk * 2 < this.xat.n + 16) return;
    this.dropped = reach;
    if (k > 0) this.rebuild(this.rows(this.at, this.cg, this.ct).slice(k));
    if (xk > 0) this.rebuildExcluded(this.rows(this.xat, this.xct, this.xct).slice(xk));
  }

  /** The first index whose instant is after `x`, from the window's cursor. */
  private seek(x: number, key: number | string): number {
    const a = this.at.a;
    const n = this.at.n;
    let i = this.hints.get(key);
    if (i === undefined || i > n) i = upperIn(this.at, x);
    else {
      let steps = 0;
      while (i < n && a[i]! <= x && steps++ < WALK) i++;
      while (i > 0 && a[i - 1]! > x && steps++ < WALK) i--;
      if (steps >= WALK) i = upperIn(this.at, x);
    }
    if (this.hints.size > 64) this.hints.clear();
    this.hints.set(key, i);
    return i;
  }

  private tally(from: number, to: number, origin: number): Tally {
    if (from < this.dropped) throw tooEarly(this.dropped);
    const b = this.slo.budgeting;
    if (b.method !== 'occurrences' && origin !== this.origin) {
      // A new calendar period: its slices count from its start.
      this.origin = origin;
      this.rebuild(this.rows(this.at, this.cg, this.ct));
    }
    const lo = this.seek(from, from === this.periodStart - 1 ? 'period' : to - from);
    const hi = Math.max(lo, this.seek(to, 'now'));
    const g = this.cg.a[hi]! - this.cg.a[lo]!;
    const t = this.ct.a[hi]! - this.ct.a[lo]!;
    if (b.method === 'occurrences') return { good: g, total: t, bad: t - g, units: t };
    if (lo === hi) return { good: 0, total: 0, bad: 0, units: 0 };
    const sl = this.sliceOf.a[lo]!;
    const sh = this.sliceOf.a[hi - 1]!;
    if (sl === sh) return { good: g, total: t, bad: this.part(lo, hi), units: 1 };
    const endOf = (s: number) => (s + 1 < this.sliceFirst.n ? this.sliceFirst.a[s + 1]! : this.at.n);
    // The first and last slices may be cut by the window; those between are whole.
    const bad = this.part(lo, endOf(sl)) + (this.spent.a[sh]! - this.spent.a[sl + 1]!) + this.part(this.sliceFirst.a[sh]!, hi);
    return { good: g, total: t, bad, units: sh - sl + 1 };
  }

  /** Whether an instant falls in an exclusion window (intervals expanded a week at a time). */
  private excludedAt(at: number): boolean {
    if (!this.slo.exclusions || this.slo.exclusions.length === 0) return false;
    this.cover(at);
    return intervalAt(this.intervals, at) !== undefined;
  }

  private cover(at: number): void {
    if (at >= this.coveredFrom && at <= this.coveredTo) return;
    this.coveredFrom = at - DAY;
    this.coveredTo = at + EXCLUSION_SPAN;
    this.intervals = exclusionIntervals(this.slo.exclusions ?? [], this.coveredFrom, this.coveredTo);
  }
}

/** An instant whose windows reach before the history kept: the caller's input, not a crash. */
function tooEarly(dropped: number): Error {
  return invalid(
    `an instant earlier than the history this budget keeps (events up to ${new Date(dropped).toISOString()} were dropped): evaluate a later instant, or build it again from the events`,
    { droppedUpTo: new Date(dropped).toISOString() },
  );
}

/** The first index whose instant is after `x`. */
function upperIn(c: Col, x: number): number {
  let lo = 0;
  let hi = c.n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c.a[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The first index whose instant is at or after `x`. */
function lowerIn(c: Col, x: number): number {
  let lo = 0;
  let hi = c.n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c.a[mid]! >= x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
