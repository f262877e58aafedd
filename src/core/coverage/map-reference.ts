/**
 * The coverage map computed the straightforward way: every run's evidence folded per technique
 * after sorting, every cell built from scratch. Not used by the product; the tests hold
 * `computeCoverage` and `CoverageAccumulator` (map.ts, written for speed) to give exactly what
 * this gives, for any runs in any order at any time.
 */
import type { AttackTable, AttackTechnique } from './attack.ts';
import {
  controlTtd,
  percentile,
  ROLLUP_ORDER,
  runEvidence,
  strongestEvidence,
  UNNAMED_CONTROL,
  type CellControl,
  type CellStatus,
  type CoverageCell,
  type CoverageKris,
  type CoverageMap,
  type CoverageRun,
  type Evidence,
  type LastRun,
  type RunControl,
  type TimeToDetect,
} from './map.ts';
import { staleAfterDaysFor, techniquesInScope, type CoverageSettings } from './settings.ts';

const DAY_MS = 86_400_000;

/** The run's controls: those it recorded, or its outcome as the one control `default`. */
function controlsOfRun(run: CoverageRun, evidence: Evidence): RunControl[] {
  if (run.controls && run.controls.length > 0) return [...run.controls];
  return [{ control: UNNAMED_CONTROL, results: [evidence], alertedTtdMs: evidence === 'alerted' ? run.ttdMs : null, loggedTtdMs: null }];
}

/** Whether run a is later evidence than b: by end time, then by id (so that the order runs arrive in does not matter). */
function later(a: { ms: number; id: string }, b: { ms: number; id: string }): boolean {
  return a.ms !== b.ms ? a.ms > b.ms : a.id > b.id;
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

/** The map over every run at once, the straightforward way. */
export function referenceCoverage(table: AttackTable, settings: CoverageSettings, runs: readonly CoverageRun[], now: Date): CoverageMap {
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
