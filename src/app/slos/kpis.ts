/**
 * The KPI report: each provider turns the records it reads into KPI inputs (core/slos/kpis.ts),
 * and the core computes. Experiment runs give time to detect; cases and incidents give time to
 * acknowledge, triage, mitigate and resolve, and time to detect from an incident's impact start
 * (app/incidents/kpis.ts). A KPI nothing feeds (time to repair: incidents record no repair yet)
 * reports "no data", never zero.
 */
import { computeKpis, KPI_NAMES, type KpiDimension, type KpiInput, type KpiName, type KpiResult } from '../../core/slos/kpis.ts';
import type { AppDeps } from '../deps.ts';
import { runFacts } from './slo-status.ts';
import { incidentsKpiProvider } from '../incidents/kpis.ts';

export interface KpiProvider {
  name: string;
  /** The KPIs it feeds. */
  kpis: readonly KpiName[];
  /** Its inputs that may fall in (from, to]. */
  inputs(deps: Pick<AppDeps, 'store'>, from: number, to: number): Promise<KpiInput[]>;
}

const PAGE = 500;
// Runs end after they start: a run ending in the window may have started this much earlier.
const START_SLACK_MS = 86_400_000;

/**
 * Time to detect from experiment runs: injection → Bulwark's receipt of the first matching signal,
 * as the run measured it, at the run's end. A run that expected a detection and got none is an
 * incomplete pair; not-run, aborted and dry runs, and runs that expected no detection, give nothing.
 */
export const runsKpiProvider: KpiProvider = {
  name: 'experiment runs',
  kpis: ['time-to-detect'],
  async inputs(deps, from) {
    const out: KpiInput[] = [];
    let cursor: { startedAt: string; id: string } | undefined;
    for (;;) {
      const page = await deps.store.runs.list({ limit: PAGE, ...(cursor ? { cursor } : {}) });
      for (const r of page.runs) {
        const f = runFacts(r);
        if (f.dryRun || f.outcome === null || f.endedAt === null || f.outcome === 'not-run' || f.outcome === 'aborted') continue;
        if (f.detectionsExpected === 0) continue;
        const at = Date.parse(f.endedAt);
        const j = (r.journal ?? {}) as { bulwark?: { detections?: { name?: unknown }[] } };
        const control = (j.bulwark?.detections ?? []).map((d) => d.name).filter((n): n is string => typeof n === 'string');
        out.push({ kpi: 'time-to-detect', at, durationMs: f.ttdMs, dims: { technique: f.techniques, control } });
      }
      const last = page.runs.at(-1);
      if (!page.next || !last || Date.parse(last.startedAt) < from - START_SLACK_MS) break;
      cursor = page.next;
    }
    return out;
  },
};

/** The providers the report reads: experiment runs, and the records of cases and incidents. */
export const KPI_PROVIDERS: readonly KpiProvider[] = [runsKpiProvider, incidentsKpiProvider];

export interface KpiReport {
  from: string;
  to: string;
  by: KpiDimension | null;
  kpis: (KpiResult & { sources: string[]; why: string | null })[];
}

export async function kpiReport(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  opts: { windowMs: number; by?: KpiDimension; providers?: readonly KpiProvider[] },
): Promise<KpiReport> {
  const to = deps.clock.now().getTime();
  const from = to - opts.windowMs;
  const providers = opts.providers ?? KPI_PROVIDERS;
  const inputs = (await Promise.all(providers.map((p) => p.inputs(deps, from, to)))).flat();
  const sources = new Map<KpiName, string[]>(KPI_NAMES.map((k) => [k, providers.filter((p) => p.kpis.includes(k)).map((p) => p.name)]));
  const kpis = computeKpis(inputs, { from, to }, opts.by).map((r) => {
    const s = sources.get(r.kpi)!;
    const why =
      r.status === 'ok'
        ? null
        : s.length === 0
          ? 'no source feeds it yet'
          : `no complete ${r.title.replace(/^Mean /, '').toLowerCase()} pair in the window from ${s.join(', ')}`;
    return { ...r, sources: s, why };
  });
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), by: opts.by ?? null, kpis };
}
