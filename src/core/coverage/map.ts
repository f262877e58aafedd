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

/** The run's controls: those it recorded, or its outcome as the one control `default`. */
function controlsOfRun(run: CoverageRun, evidence: Evidence): RunControl[] {
  if (run.controls && run.controls.length > 0) return [...run.controls];
  return [{ control: UNNAMED_CONTROL, results: [evidence], alertedTtdMs: evidence === 'alerted' ? run.ttdMs : null, loggedTtdMs: null }];
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

/** Whether run a is later evidence than b: by end time, then by id (so that the order runs arrive in does not matter). */
function later(a: { ms: number; id: string }, b: { ms: number; id: string }): boolean {
  return a.ms !== b.ms ? a.ms > b.ms : a.id > b.id;
}

interface Acc {
  experiments: Set<string>;
  runs: number;
  last: LastRun | null;
  /** When the last run ended, in ms. */
  lastMs: number;
  /** The latest counted run with a time to detect: its end (ms), id and time to detect. */
  lastTtd: { ms: number; id: string; ttdMs: number } | null;
  ttds: number[];
  sorted: number[] | null;
  controls: Map<string, ControlAcc>;
  /** The tags of the last run. */
  lastTags: readonly string[];
}

interface ControlAcc {
  last: Omit<CellControl, 'status' | 'runs' | 'ttd'>;
  lastMs: number;
  runs: number;
  /** Its time to detect per counted run with one, and the latest of them. */
  ttds: number[];
  sorted: number[] | null;
  lastTtd: { ms: number; id: string; ttdMs: number } | null;
}

/** A control's time to detect in one run: its first alert, else its first log record (what `?control=` counts too). */
export const controlTtd = (c: Pick<RunControl, 'alertedTtdMs' | 'loggedTtdMs'>): number | null => c.alertedTtdMs ?? c.loggedTtdMs ?? null;

/** Fold one run's controls into a technique's: the later run's result wins, order of arrival aside. */
function foldControls(into: Map<string, ControlAcc>, run: CoverageRun, evidence: Evidence, endMs: number): void {
  for (const c of controlsOfRun(run, evidence)) {
    const last: ControlAcc['last'] = {
      control: c.control,
      evidence: strongestEvidence(c.results),
      results: c.results.length ? [...c.results] : ['none'],
      lastRun: run.id,
      experiment: run.experiment,
      verifiedAt: run.endedAt,
      alertedTtdMs: c.alertedTtdMs ?? null,
      loggedTtdMs: c.loggedTtdMs ?? null,
    };
    const key = { ms: endMs, id: run.id };
    let a = into.get(c.control);
    if (!a) {
      a = { last, lastMs: endMs, runs: 1, ttds: [], sorted: null, lastTtd: null };
      into.set(c.control, a);
    } else {
      a.runs++;
      if (later(key, { ms: a.lastMs, id: a.last.lastRun })) {
        a.last = last;
        a.lastMs = endMs;
      }
    }
    const ttd = controlTtd(c);
    if (ttd !== null) {
      a.ttds.push(ttd);
      a.sorted = null;
      if (!a.lastTtd || later(key, a.lastTtd)) a.lastTtd = { ms: endMs, id: run.id, ttdMs: ttd };
    }
  }
}

/** The coverage map built one run at a time; `map(now)` reads it. */
export class CoverageAccumulator {
  private readonly accs = new Map<string, Acc>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly table: AttackTable,
    private readonly settings: CoverageSettings,
  ) {}

  /** Take one finished run; a run id seen before, or a run that does not count, changes nothing. */
  apply(run: CoverageRun): void {
    const evidence = runEvidence(run);
    if (evidence === null || this.seen.has(run.id)) return;
    this.seen.add(run.id);
    const endMs = Date.parse(run.endedAt);
    const key = { ms: endMs, id: run.id };
    const last: LastRun = {
      id: run.id,
      experiment: run.experiment,
      outcome: run.outcome!,
      evidence,
      startedAt: run.startedAt,
      at: run.endedAt,
      ttdMs: run.ttdMs,
    };
    for (const t of new Set(run.techniques)) {
      let a = this.accs.get(t);
      if (!a) {
        a = {
          experiments: new Set(),
          runs: 0,
          last: null,
          lastMs: 0,
          lastTtd: null,
          ttds: [],
          sorted: null,
          controls: new Map(),
          lastTags: [],
        };
        this.accs.set(t, a);
      }
      a.experiments.add(run.experiment);
      a.runs++;
      foldControls(a.controls, run, evidence, endMs);
      if (!a.last || later(key, { ms: a.lastMs, id: a.last.id })) {
        a.last = last;
        a.lastMs = endMs;
        a.lastTags = run.tags ?? [];
      }
      if (run.ttdMs !== null) {
        a.ttds.push(run.ttdMs);
        a.sorted = null;
        if (!a.lastTtd || later(key, a.lastTtd)) a.lastTtd = { ms: endMs, id: run.id, ttdMs: run.ttdMs };
      }
    }
  }

  map(now: Date): CoverageMap {
    return assemble(
      this.table,
      this.settings,
      now,
      (id) => {
        const a = this.accs.get(id);
        if (!a) return undefined;
        a.sorted ??= [...a.ttds].sort((x, y) => x - y);
        return {
          experiments: [...a.experiments].sort(),
          runs: a.runs,
          last: a.last,
          ttd: ttdOf(a.sorted, a.lastTtd?.ttdMs ?? null),
          controls: a.controls,
          tags: a.lastTags,
        };
      },
      [...this.accs.keys()],
    );
  }
}

interface Summary {
  experiments: string[];
  runs: number;
  last: LastRun | null;
  ttd: TimeToDetect;
  controls: Map<string, ControlAcc>;
  /** The tags of the last run. */
  tags: readonly string[];
}

function ttdOf(sorted: readonly number[], lastMs: number | null): TimeToDetect {
  return { lastMs, p50Ms: percentile(sorted, 50), p90Ms: percentile(sorted, 90), samples: sorted.length };
}

/** The map over every run at once (the reference the accumulator is checked against). */
export function computeCoverage(table: AttackTable, settings: CoverageSettings, runs: readonly CoverageRun[], now: Date): CoverageMap {
  const byId = new Map<string, { run: CoverageRun; endMs: number }>();
  for (const r of runs) if (runEvidence(r) !== null && !byId.has(r.id)) byId.set(r.id, { run: r, endMs: Date.parse(r.endedAt) });
  const byTechnique = new Map<string, { run: CoverageRun; endMs: number }[]>();
  for (const x of byId.values())
    for (const t of new Set(x.run.techniques)) {
      const list = byTechnique.get(t);
      if (list) list.push(x);
      else byTechnique.set(t, [x]);
    }
  const summaries = new Map<string, Summary>();
  for (const [t, xs] of byTechnique) {
    const ordered = xs.sort((a, b) => a.endMs - b.endMs || (a.run.id < b.run.id ? -1 : a.run.id > b.run.id ? 1 : 0)).map((x) => x.run);
    const l = ordered[ordered.length - 1]!;
    const withTtd = ordered.filter((r) => r.ttdMs !== null);
    const controls = new Map<string, ControlAcc>();
    for (const r of ordered) foldControls(controls, r, runEvidence(r)!, Date.parse(r.endedAt));
    summaries.set(t, {
      controls,
      tags: l.tags ?? [],
      experiments: [...new Set(ordered.map((r) => r.experiment))].sort(),
      runs: ordered.length,
      last: {
        id: l.id,
        experiment: l.experiment,
        outcome: l.outcome!,
        evidence: runEvidence(l)!,
        startedAt: l.startedAt,
        at: l.endedAt,
        ttdMs: l.ttdMs,
      },
      ttd: ttdOf(
        withTtd.map((r) => r.ttdMs!).sort((a, b) => a - b),
        withTtd.length ? withTtd[withTtd.length - 1]!.ttdMs : null,
      ),
    });
  }
  return assemble(table, settings, now, (id) => summaries.get(id), [...summaries.keys()]);
}

function assemble(
  table: AttackTable,
  settings: CoverageSettings,
  now: Date,
  summary: (id: string) => Summary | undefined,
  exercisedIds: string[],
): CoverageMap {
  const scope = techniquesInScope(settings, table);
  const known = new Set(table.techniques.map((t) => t.id));
  const kris: CoverageKris = { inScope: 0, exercised: 0, neverExercised: 0, stale: 0, blocked: 0, alerted: 0, logged: 0, none: 0 };
  const cells = table.techniques.map((t) => {
    const s = summary(t.id);
    const c = cellOf(t, scope.has(t.id), s, staleAfterDaysFor(settings, t, s?.tags), now);
    if (c.inScope) {
      kris.inScope++;
      if (c.runs > 0) kris.exercised++;
      if (c.status === 'never') kris.neverExercised++;
      else if (c.status !== 'out-of-scope') kris[c.status]++;
    }
    return c;
  });
  rollUp(cells);
  return {
    attackVersion: table.version,
    at: now.toISOString(),
    cells,
    kris,
    unknownTechniques: exercisedIds.filter((id) => !known.has(id)).sort(),
  };
}

function cellOf(t: AttackTechnique, inScope: boolean, s: Summary | undefined, staleAfterDays: number, now: Date): CoverageCell {
  const last = s?.last ?? null;
  const evidence = last?.evidence ?? null;
  const staleAtMs = last && evidence !== 'none' ? Date.parse(last.at) + staleAfterDays * DAY_MS : null;
  const status: CellStatus = !inScope
    ? 'out-of-scope'
    : evidence === null
      ? 'never'
      : staleAtMs !== null && now.getTime() >= staleAtMs
        ? 'stale'
        : evidence;
  return {
    technique: t.id,
    name: t.name,
    tactics: t.tactics,
    platforms: t.platforms,
    subtechnique: t.subtechnique,
    inScope,
    status,
    evidence,
    experiments: s?.experiments ?? [],
    runs: s?.runs ?? 0,
    lastRun: last,
    verifiedAt: last?.at ?? null,
    staleAt: staleAtMs === null ? null : new Date(staleAtMs).toISOString(),
    staleAfterDays,
    ttd: s?.ttd ?? { lastMs: null, p50Ms: null, p90Ms: null, samples: 0 },
    controls: s
      ? [...s.controls.values()]
          .map((a) => {
            const { last, runs } = a;
            const staleMs = last.evidence === 'none' ? null : Date.parse(last.verifiedAt) + staleAfterDays * DAY_MS;
            a.sorted ??= [...a.ttds].sort((x, y) => x - y);
            return {
              ...last,
              status: staleMs !== null && now.getTime() >= staleMs ? ('stale' as const) : last.evidence,
              ttd: ttdOf(a.sorted, a.lastTtd?.ttdMs ?? null),
              runs,
            };
          })
          .sort((a, b) => (a.control < b.control ? -1 : a.control > b.control ? 1 : 0))
      : [],
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
