/**
 * The coverage map: for each ATT&CK technique, what the runs that exercised it showed. Pure:
 * runs and the time come in as values.
 *
 * A run's outcome maps onto evidence (docs/coverage.md has the table):
 *
 * | outcome                       | evidence  |
 * | ----------------------------- | --------- |
 * | `prevented`                   | `blocked` |
 * | `detected`, `detected-late`   | `alerted` |
 * | `missed`                      | `none`    |
 * | `not-run`, `aborted`, `errored`, `rollback-failed` | no evidence: the run does not count |
 *
 * A counted run that recorded per-control results (core/experiments/controls.ts) says more: its
 * evidence is the strongest result of its controls (blocked, then alerted, then logged, else
 * none), so a run `missed` because an alert was asked and only a log record came is `logged`,
 * not `none`. Each cell also keeps, per control, the last result and when it was verified.
 *
 * `rollback-failed` hides every other result (core/experiments/outcome.ts), so it says nothing
 * about the control either. A cell shows its last counted run's evidence; a `blocked`,
 * `alerted` or `logged` cell older than its technique's age (30 days by default) is `stale`,
 * and so is each control's result on its own.
 *
 * Two forms that agree (a property test holds them to it): `computeCoverage` over every run at
 * once, and `CoverageAccumulator`, which takes one run at a time in O(1) amortised (percentiles
 * are sorted when read, once per change).
 */
import type { AttackTable, AttackTechnique } from './attack.ts';
import { staleAfterDaysFor, techniquesInScope, type CoverageSettings } from './settings.ts';

export const EVIDENCE = ['blocked', 'alerted', 'logged', 'none'] as const;
export type Evidence = (typeof EVIDENCE)[number];

/** What a cell shows: its last evidence, `stale` when that was coverage and is too old, `never` when in scope and never exercised. */
export const CELL_STATUSES = ['blocked', 'alerted', 'logged', 'none', 'stale', 'never', 'out-of-scope'] as const;
export type CellStatus = (typeof CELL_STATUSES)[number];

const DAY_MS = 86_400_000;

/** The evidence of a run's outcome; null when the run does not count as coverage. */
export function evidenceOf(outcome: string | null): Evidence | null {
  switch (outcome) {
    case 'prevented':
      return 'blocked';
    case 'detected':
    case 'detected-late':
      return 'alerted';
    case 'missed':
      return 'none';
    case null:
    default:
      return null;
  }
}

/** One control's result in a run: what it did (blocked, alerted, logged or none) and how fast it saw it. */
export interface RunControl {
  control: string;
  results: readonly string[];
  alertedTtdMs?: number | null;
  loggedTtdMs?: number | null;
}

/** The control of runs that recorded no per-control results (their outcome is their one control's result). */
export const UNNAMED_CONTROL = 'default';

/** The strongest of a set of results: blocked, then alerted, then logged, else none. */
export function strongestEvidence(results: readonly string[]): Evidence {
  for (const e of EVIDENCE) if (results.includes(e)) return e;
  return 'none';
}

/**
 * A counted run's evidence: from its controls when it recorded them, else from its outcome;
 * null when the run does not count.
 */
export function runEvidence(run: Pick<CoverageRun, 'outcome' | 'controls'>): Evidence | null {
  const base = evidenceOf(run.outcome);
  if (base === null || !run.controls || run.controls.length === 0) return base;
  return strongestEvidence(run.controls.flatMap((c) => c.results));
}

/** A finished run, reduced to what coverage reads. */
export interface CoverageRun {
  id: string;
  /** The experiment's name (its title when it is no longer applied). */
  experiment: string;
  techniques: readonly string[];
  outcome: string | null;
  /** When it started (RFC 3339): time to detect counts from here. */
  startedAt: string;
  /** When it ended (RFC 3339): the time of its evidence. */
  endedAt: string;
  ttdMs: number | null;
  /** Per-control results, when the run recorded them. */
  controls?: readonly RunControl[];
  /** The experiment's tags when it ran: they can set the age of its evidence (staleAfterDays.tags). */
  tags?: readonly string[];
}

/** A control tested against a technique: its last result and when it was verified. */
export interface CellControl {
  control: string;
  /** The last run's result for it, before staleness. */
  evidence: Evidence;
  /** What `evidence` is now: `stale` when covered and older than the technique's age. */
  status: Evidence | 'stale';
  /** Every fact of that run: blocked, alerted, logged (or none), not collapsed. */
  results: string[];
  lastRun: string;
  experiment: string;
  verifiedAt: string;
  alertedTtdMs: number | null;
  loggedTtdMs: number | null;
  /** Its time to detect over every counted run that tested it (a run's: its first alert, else its first log record). */
  ttd: TimeToDetect;
  /** Counted runs that tested it. */
  runs: number;
}

export interface LastRun {
  id: string;
  experiment: string;
  outcome: string;
  evidence: Evidence;
  startedAt: string;
  /** When it ended. */
  at: string;
  ttdMs: number | null;
}

export interface TimeToDetect {
  lastMs: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  /** Counted runs with a time to detect. */
  samples: number;
}

/**
 * A technique's summary of itself and its sub-techniques (T1059 over T1059.001 …), by one rule:
 * the members are the technique and its sub-techniques that are in scope and exercised; the
 * status is the weakest of theirs (none, then stale, then logged, then alerted, then blocked),
 * the verification the oldest of theirs.
 */
export interface CellRollup {
  /** The weakest member's status; `never` when nothing in scope is exercised, `out-of-scope` when neither it nor a sub-technique is in scope. */
  status: CellStatus;
  /** The member whose status that is (the first by id on a tie); null without members. */
  weakest: string | null;
  /** Sub-techniques in the table. */
  subtechniques: number;
  /** Of them, in scope. */
  inScope: number;
  /** Of them, with at least one counted run ("3 of 9 sub-techniques exercised"). */
  exercised: number;
  /** The oldest verification of the members: the freshness of the whole. */
  verifiedAt: string | null;
  /** Counted runs of the members together (a run of two of them counts twice). */
  runs: number;
}

/** Weakness of a status in a roll-up: the lower, the weaker. */
export const ROLLUP_ORDER: readonly CellStatus[] = ['none', 'stale', 'logged', 'alerted', 'blocked'];

export interface CoverageCell {
  technique: string;
  name: string;
  tactics: string[];
  platforms: string[];
  subtechnique: boolean;
  inScope: boolean;
  status: CellStatus;
  /** The last counted run's evidence (before staleness). */
  evidence: Evidence | null;
  /** Experiments with a counted run of this technique, by name. */
  experiments: string[];
  /** Counted runs. */
  runs: number;
  lastRun: LastRun | null;
  /** When the last counted run ended. */
  verifiedAt: string | null;
  /** When a covered cell turns (or turned) stale. */
  staleAt: string | null;
  staleAfterDays: number;
  ttd: TimeToDetect;
  /** The controls tested against it, by name. */
  controls: CellControl[];
  /** For a technique with sub-techniques, it and them summarised; null for a sub-technique or a technique without any. */
  rollup: CellRollup | null;
}

export interface CoverageKris {
  inScope: number;
  /** In scope, with at least one counted run. */
  exercised: number;
  /** In scope, never exercised: a KRI. */
  neverExercised: number;
  /** In scope, covered once but not verified within its age: a KRI. */
  stale: number;
  blocked: number;
  alerted: number;
  logged: number;
  none: number;
}

export interface CoverageMap {
  attackVersion: string;
  at: string;
  /** Every technique of the table (in scope or not), by id. */
  cells: CoverageCell[];
  kris: CoverageKris;
  /** Technique ids runs named that are not in the table (wrong, deprecated or revoked). */
  unknownTechniques: string[];
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** A control's time to detect in one run: its first alert, else its first log record (what `?control=` counts too). */
export const controlTtd = (c: Pick<RunControl, 'alertedTtdMs' | 'loggedTtdMs'>): number | null => c.alertedTtdMs ?? c.loggedTtdMs ?? null;

/** Whether the run (ms, id) is later evidence than (bMs, bId): by end time, then by id (so that the order runs arrive in does not matter). */
const later = (ms: number, id: string, bMs: number, bId: string): boolean => (ms !== bMs ? ms > bMs : id > bId);

/** Times to detect, kept as they come; sorted (numerically, natively) only when read after a change. */
class Samples {
  private readonly values: number[] = [];
  private sorted: Float64Array | null = null;
  /** The latest run with a time to detect: its end, its id, and that time. */
  private lastEnd = 0;
  private lastId = '';
  private lastMs: number | null = null;

  add(endMs: number, id: string, ms: number): void {
    this.values.push(ms);
    this.sorted = null;
    if (this.lastMs === null || later(endMs, id, this.lastEnd, this.lastId)) {
      this.lastEnd = endMs;
      this.lastId = id;
      this.lastMs = ms;
    }
  }

  read(): TimeToDetect {
    const n = this.values.length;
    if (n === 0) return { lastMs: null, p50Ms: null, p90Ms: null, samples: 0 };
    const sorted = (this.sorted ??= Float64Array.from(this.values).sort());
    return { lastMs: this.lastMs, p50Ms: rank(sorted, 50), p90Ms: rank(sorted, 90), samples: n };
  }
}

/** Nearest rank of a non-empty sorted array (as `percentile`). */
const rank = (sorted: Float64Array, p: number): number =>
  sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;

/** A control tested against a technique, as the accumulator keeps it. */
interface ControlAcc {
  /** The last run that tested it, and when that ended. */
  last: CoverageRun;
  lastEnd: number;
  /** Its result in that run; null for the control `default` of a run that recorded none (made from the run when read). */
  result: RunControl | null;
  runs: number;
  ttd: Samples;
}

/** A technique as the accumulator keeps it: references to runs, counts and numbers; the cell is built when the map is read. */
interface Acc {
  /** The experiments, one bit per experiment number (names are numbered once per run, not hashed per technique). */
  experiments: Uint32Array;
  /** Their names sorted, kept until another experiment joins. */
  sortedExperiments: string[] | null;
  runs: number;
  last: CoverageRun;
  lastEnd: number;
  lastEvidence: Evidence;
  ttd: Samples;
  /** By the control's number (holes for controls not tested against it). */
  controls: (ControlAcc | undefined)[];
}

/** The strongest evidence of a run's controls, without building a list of their results. */
function strongestOfControls(controls: readonly RunControl[]): Evidence {
  let best = EVIDENCE.length - 1;
  for (const c of controls)
    for (const r of c.results) {
      const i = EVIDENCE.indexOf(r as Evidence);
      if (i >= 0 && i < best) best = i;
    }
  return EVIDENCE[best]!;
}

/** The result of the control `default` in a run that recorded no controls: its outcome's evidence, its time to detect when alerted. */
function unnamedResult(run: CoverageRun): RunControl {
  const evidence = evidenceOf(run.outcome) ?? 'none';
  return { control: UNNAMED_CONTROL, results: [evidence], alertedTtdMs: evidence === 'alerted' ? run.ttdMs : null, loggedTtdMs: null };
}

/**
 * The coverage map built one run at a time, in O(1) amortised per run (its techniques and
 * controls), allocating almost nothing per run; `map(now)` reads it, sorting only the times to
 * detect and the experiment names that changed since the last read.
 */
export class CoverageAccumulator {
  private readonly accs = new Map<string, Acc>();
  private readonly seen = new Set<string>();
  /** Experiment and control names, numbered in the order they first came. */
  private readonly experimentNo = new Map<string, number>();
  private readonly experimentNames: string[] = [];
  private readonly controlNo = new Map<string, number>();
  /** The numbers of the controls of the run being applied (reused). */
  private readonly scratch: number[] = [];

  constructor(
    private readonly table: AttackTable,
    private readonly settings: CoverageSettings,
  ) {}

  /** Take one finished run; a run id seen before, or a run that does not count, changes nothing. */
  apply(run: CoverageRun): void {
    const base = evidenceOf(run.outcome);
    if (base === null) return;
    const seen = this.seen.size;
    if (this.seen.add(run.id).size === seen) return;
    const { id, techniques: ts, ttdMs } = run;
    const recorded = run.controls !== undefined && run.controls.length > 0 ? run.controls : null;
    const evidence = recorded ? strongestOfControls(recorded) : base;
    const endMs = Date.parse(run.endedAt);
    const exp = this.number(this.experimentNo, run.experiment, this.experimentNames);
    const word = exp >>> 5;
    const bit = 1 << (exp & 31);
    const nos = this.scratch;
    nos.length = 0;
    if (recorded) for (const c of recorded) nos.push(this.number(this.controlNo, c.control));
    else nos.push(this.number(this.controlNo, UNNAMED_CONTROL));
    const unnamedTtd = !recorded && evidence === 'alerted' ? ttdMs : null;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      if (ts.indexOf(t) < i) continue; // named twice: once
      let a = this.accs.get(t);
      if (!a) {
        a = {
          experiments: new Uint32Array((this.experimentNames.length >>> 5) + 1),
          sortedExperiments: null,
          runs: 0,
          last: run,
          lastEnd: endMs,
          lastEvidence: evidence,
          ttd: new Samples(),
          controls: [],
        };
        this.accs.set(t, a);
      } else if (endMs !== a.lastEnd ? endMs > a.lastEnd : id > a.last.id) {
        a.last = run;
        a.lastEnd = endMs;
        a.lastEvidence = evidence;
      }
      if (word >= a.experiments.length) {
        const grown = new Uint32Array(Math.max(word + 1, a.experiments.length * 2));
        grown.set(a.experiments);
        a.experiments = grown;
      }
      if ((a.experiments[word]! & bit) === 0) {
        a.experiments[word]! |= bit;
        a.sortedExperiments = null;
      }
      a.runs++;
      if (ttdMs !== null) a.ttd.add(endMs, id, ttdMs);
      for (let k = 0; k < nos.length; k++) {
        const c = recorded ? recorded[k]! : null;
        // Later evidence than what a cell holds (later(), written out so that the held run's id is read only on a tie).
        let ca = a.controls[nos[k]!];
        if (!ca) {
          ca = { last: run, lastEnd: endMs, result: c, runs: 0, ttd: new Samples() };
          a.controls[nos[k]!] = ca;
        } else if (endMs !== ca.lastEnd ? endMs > ca.lastEnd : id > ca.last.id) {
          ca.last = run;
          ca.lastEnd = endMs;
          ca.result = c;
        }
        ca.runs++;
        const ttd = c ? controlTtd(c) : unnamedTtd;
        if (ttd !== null) ca.ttd.add(endMs, id, ttd);
      }
    }
  }

  /** The number of a name, given it when it first comes. */
  private number(numbers: Map<string, number>, name: string, names?: string[]): number {
    let n = numbers.get(name);
    if (n === undefined) {
      n = numbers.size;
      numbers.set(name, n);
      names?.push(name);
    }
    return n;
  }

  /** A technique's experiment names, sorted (kept until another joins). */
  private experimentsOf(a: Acc): string[] {
    if (a.sortedExperiments === null) {
      const names: string[] = [];
      for (let w = 0; w < a.experiments.length; w++)
        for (let bits = a.experiments[w]!; bits !== 0; bits &= bits - 1)
          names.push(this.experimentNames[w * 32 + 31 - Math.clz32(bits & -bits)]!);
      a.sortedExperiments = names.sort();
    }
    return a.sortedExperiments;
  }

  map(now: Date): CoverageMap {
    const { table, settings, accs } = this;
    const scope = techniquesInScope(settings, table);
    const nowMs = now.getTime();
    const kris: CoverageKris = { inScope: 0, exercised: 0, neverExercised: 0, stale: 0, blocked: 0, alerted: 0, logged: 0, none: 0 };
    const cells = table.techniques.map((t) => {
      const a = accs.get(t.id);
      const c = cellOf(t, scope.has(t.id), a, a ? this.experimentsOf(a) : [], staleAfterDaysFor(settings, t, a?.last.tags), nowMs);
      if (c.inScope) {
        kris.inScope++;
        if (c.runs > 0) kris.exercised++;
        if (c.status === 'never') kris.neverExercised++;
        else if (c.status !== 'out-of-scope') kris[c.status]++;
      }
      return c;
    });
    rollUp(cells);
    const known = new Set(table.techniques.map((t) => t.id));
    return {
      attackVersion: table.version,
      at: now.toISOString(),
      cells,
      kris,
      unknownTechniques: [...accs.keys()].filter((id) => !known.has(id)).sort(),
    };
  }
}

/** The map over every run at once: the accumulator fed every run (map-reference.ts is the straightforward form it is tested against). */
export function computeCoverage(table: AttackTable, settings: CoverageSettings, runs: readonly CoverageRun[], now: Date): CoverageMap {
  const acc = new CoverageAccumulator(table, settings);
  for (const r of runs) acc.apply(r);
  return acc.map(now);
}

const byName = (a: CellControl, b: CellControl): number => (a.control < b.control ? -1 : a.control > b.control ? 1 : 0);

function cellOf(
  t: AttackTechnique,
  inScope: boolean,
  a: Acc | undefined,
  experiments: readonly string[],
  staleAfterDays: number,
  nowMs: number,
): CoverageCell {
  const base = {
    technique: t.id,
    name: t.name,
    tactics: t.tactics,
    platforms: t.platforms,
    subtechnique: t.subtechnique,
    inScope,
  };
  if (!a)
    return {
      ...base,
      status: inScope ? 'never' : 'out-of-scope',
      evidence: null,
      experiments: [],
      runs: 0,
      lastRun: null,
      verifiedAt: null,
      staleAt: null,
      staleAfterDays,
      ttd: { lastMs: null, p50Ms: null, p90Ms: null, samples: 0 },
      controls: [],
      rollup: null,
    };
  const { last: run, lastEvidence: evidence } = a;
  const ageMs = staleAfterDays * DAY_MS;
  const staleAtMs = evidence !== 'none' ? a.lastEnd + ageMs : null;
  const status: CellStatus = !inScope ? 'out-of-scope' : staleAtMs !== null && nowMs >= staleAtMs ? 'stale' : evidence;
  const controls: CellControl[] = [];
  for (const ca of a.controls) {
    if (ca === undefined) continue;
    const { last } = ca;
    const c = ca.result ?? unnamedResult(last);
    const ev = strongestEvidence(c.results);
    controls.push({
      control: c.control,
      evidence: ev,
      results: c.results.length ? [...c.results] : ['none'],
      lastRun: last.id,
      experiment: last.experiment,
      verifiedAt: last.endedAt,
      alertedTtdMs: c.alertedTtdMs ?? null,
      loggedTtdMs: c.loggedTtdMs ?? null,
      status: ev !== 'none' && nowMs >= ca.lastEnd + ageMs ? 'stale' : ev,
      ttd: ca.ttd.read(),
      runs: ca.runs,
    });
  }
  return {
    ...base,
    status,
    evidence,
    experiments: [...experiments],
    runs: a.runs,
    lastRun: {
      id: run.id,
      experiment: run.experiment,
      outcome: run.outcome!,
      evidence,
      startedAt: run.startedAt,
      at: run.endedAt,
      ttdMs: run.ttdMs,
    },
    verifiedAt: run.endedAt,
    staleAt: staleAtMs === null ? null : new Date(staleAtMs).toISOString(),
    staleAfterDays,
    ttd: a.ttd.read(),
    controls: controls.sort(byName),
    rollup: null,
  };
}

/**
 * Each technique with sub-techniques summarised with them (CellRollup says the rule). Cells are
 * in the table's order; sub-techniques find their parent by id.
 */
function rollUp(cells: CoverageCell[]): void {
  const subsOf = new Map<string, CoverageCell[]>();
  for (const c of cells)
    if (c.subtechnique) {
      const parent = c.technique.split('.')[0]!;
      const list = subsOf.get(parent);
      if (list) list.push(c);
      else subsOf.set(parent, [c]);
    }
  for (const c of cells) {
    const subs = c.subtechnique ? undefined : subsOf.get(c.technique);
    if (!subs) continue;
    const family = [c, ...subs];
    const members = family.filter((x) => x.inScope && x.runs > 0);
    let weakest: CoverageCell | null = null;
    let oldest: string | null = null;
    let runs = 0;
    for (const m of members) {
      runs += m.runs;
      if (weakest === null || ROLLUP_ORDER.indexOf(m.status) < ROLLUP_ORDER.indexOf(weakest.status)) weakest = m;
      if (m.verifiedAt !== null && (oldest === null || Date.parse(m.verifiedAt) < Date.parse(oldest))) oldest = m.verifiedAt;
    }
    c.rollup = {
      status: weakest ? weakest.status : family.some((x) => x.inScope) ? 'never' : 'out-of-scope',
      weakest: weakest?.technique ?? null,
      subtechniques: subs.length,
      inScope: subs.filter((x) => x.inScope).length,
      exercised: subs.filter((x) => x.runs > 0).length,
      verifiedAt: oldest,
      runs,
    };
  }
}
