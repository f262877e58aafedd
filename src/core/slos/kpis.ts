/**
 * KPIs: durations between two named instants, each named exactly (never a bare "MTTR"), with
 * their mean, p50 and p90 over a window. Pure: whoever holds the records (experiment runs now,
 * incidents later) turns them into inputs (a pair of instants, or a duration a source measured
 * itself), and this computes. Rules:
 *
 * - A pair with an instant missing is incomplete: left out of the numbers and counted.
 * - A pair that ends before it starts is refused: left out and counted, never a negative duration.
 * - An input belongs to the window when its end (or, incomplete, its known instant) is in
 *   (from, to].
 * - Percentiles are nearest-rank (the value at rank ⌈p × n⌉ of the sorted durations): always a
 *   duration that was observed.
 * - No complete input: the KPI reports "no data" with null numbers, never zero.
 */

export const KPI_DEFINITIONS = {
  'time-to-detect': {
    title: 'Mean time to detect',
    from: 'impact start (an experiment run: the injection)',
    to: 'detection (Bulwark received the first matching signal)',
  },
  'time-to-acknowledge': {
    title: 'Mean time to acknowledge',
    from: 'detection (the incident was opened)',
    to: 'acknowledged (a responder took it)',
  },
  'time-to-triage': {
    title: 'Mean time to triage',
    from: 'detection (the incident was opened)',
    to: 'triaged (severity and owner set)',
  },
  'time-to-mitigate': {
    title: 'Mean time to mitigate',
    from: 'detection (the incident was opened)',
    to: 'mitigated (the impact stopped)',
  },
  'time-to-repair': {
    title: 'Mean time to repair',
    from: 'detection (the incident was opened)',
    to: 'repaired (the cause fixed)',
  },
  'time-to-resolve': {
    title: 'Mean time to resolve',
    from: 'detection (the incident was opened)',
    to: 'resolved (the incident closed)',
  },
} as const;

export type KpiName = keyof typeof KPI_DEFINITIONS;
export const KPI_NAMES = Object.keys(KPI_DEFINITIONS) as KpiName[];

export const KPI_DIMENSIONS = ['severity', 'technique', 'control'] as const;
export type KpiDimension = (typeof KPI_DIMENSIONS)[number];
/** What an input is about: a severity, the ATT&CK techniques, the controls (detections) involved. */
export type KpiDims = Partial<Record<KpiDimension, readonly string[]>>;

/** Two instants (epoch ms), either possibly unknown yet: an incident not acknowledged yet has no end. */
export interface KpiPair {
  kpi: KpiName;
  start: number | null;
  end: number | null;
  dims?: KpiDims;
}

/** A duration its source measured itself (a run's time to detect), at the instant it ended; null when it never ended. */
export interface KpiMeasure {
  kpi: KpiName;
  at: number;
  durationMs: number | null;
  dims?: KpiDims;
}

export type KpiInput = KpiPair | KpiMeasure;

export interface KpiResult {
  kpi: KpiName;
  title: string;
  from: string;
  to: string;
  /** The group's value when grouped by a dimension; null for all inputs. */
  group: string | null;
  status: 'ok' | 'no-data';
  count: number;
  /** Pairs with an instant missing, left out. */
  incomplete: number;
  /** Pairs that end before they start, left out. */
  refused: number;
  meanMs: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
}

type Placed = { kpi: KpiName; at: number; durationMs: number | null; refused: boolean; dims: KpiDims };

function place(i: KpiInput): Placed | undefined {
  const dims = i.dims ?? {};
  if ('at' in i) {
    if (!Number.isFinite(i.at)) return undefined;
    const bad = i.durationMs !== null && !(Number.isFinite(i.durationMs) && i.durationMs >= 0);
    return { kpi: i.kpi, at: i.at, durationMs: bad ? null : i.durationMs, refused: bad, dims };
  }
  const start = i.start !== null && Number.isFinite(i.start) ? i.start : null;
  const end = i.end !== null && Number.isFinite(i.end) ? i.end : null;
  if (start === null && end === null) return undefined;
  if (start === null || end === null) return { kpi: i.kpi, at: (start ?? end)!, durationMs: null, refused: false, dims };
  if (end < start) return { kpi: i.kpi, at: end, durationMs: null, refused: true, dims };
  return { kpi: i.kpi, at: end, durationMs: end - start, refused: false, dims };
}

/** The value at rank ⌈p × n⌉ of sorted durations (nearest rank). */
export function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function result(kpi: KpiName, group: string | null, placed: readonly Placed[]): KpiResult {
  const d = placed.filter((p) => p.durationMs !== null).map((p) => p.durationMs!);
  d.sort((a, b) => a - b);
  const refused = placed.filter((p) => p.refused).length;
  const incomplete = placed.length - d.length - refused;
  const def = KPI_DEFINITIONS[kpi];
  const base = { kpi, title: def.title, from: def.from, to: def.to, group, count: d.length, incomplete, refused };
  if (d.length === 0) return { ...base, status: 'no-data', meanMs: null, p50Ms: null, p90Ms: null };
  // Sum in order from the smallest: the mean of equal durations is that duration exactly.
  let sum = 0;
  for (const x of d) sum += x;
  return { ...base, status: 'ok', meanMs: sum / d.length, p50Ms: nearestRank(d, 0.5), p90Ms: nearestRank(d, 0.9) };
}

/**
 * Every KPI over (from, to]: one result per KPI for all inputs, then, with `by`, one per value of
 * that dimension (an input about two techniques counts for each), values sorted.
 */
export function computeKpis(inputs: readonly KpiInput[], window: { from: number; to: number }, by?: KpiDimension): KpiResult[] {
  const byKpi = new Map<KpiName, Placed[]>(KPI_NAMES.map((k) => [k, []]));
  for (const i of inputs) {
    const p = place(i);
    if (p && p.at > window.from && p.at <= window.to) byKpi.get(p.kpi)?.push(p);
  }
  const out: KpiResult[] = [];
  for (const [kpi, placed] of byKpi) {
    out.push(result(kpi, null, placed));
    if (!by) continue;
    const groups = new Map<string, Placed[]>();
    for (const p of placed) {
      for (const g of new Set(p.dims[by] ?? [])) {
        const list = groups.get(g);
        if (list) list.push(p);
        else groups.set(g, [p]);
      }
    }
    for (const g of [...groups.keys()].sort()) out.push(result(kpi, g, groups.get(g)!));
  }
  return out;
}
