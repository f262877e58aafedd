/**
 * SLOs in the server: their routes, and their metrics on /metrics, computed when scraped:
 * `bulwark_slo_sli_ratio`, `bulwark_slo_objective_ratio`, `bulwark_slo_error_budget_remaining_ratio`,
 * `bulwark_slo_burn_rate{window}`, `bulwark_slo_alert_firing{severity}` and
 * `bulwark_slo_policy_freeze` and, for Prometheus SLIs, `bulwark_slo_unknown`, each labelled `slo` and `service` (docs/prometheus.md); KPIs and KRIs.
 */
import { Gauge, type Registry } from 'prom-client';
import type { AppDeps } from '../../app/deps.ts';
import { kpiReport } from '../../app/slos/kpis.ts';
import { allStatuses, sloRoutes } from '../routes/slos.ts';
import { kpiRoutes } from '../routes/slos-kpis.ts';
import { kriRoutes } from '../routes/slos-kris.ts';
import { sloSeriesRoutes } from '../routes/slos-series.ts';
import { evaluateKris } from '../../app/slos/kris.ts';
import { KRI_COLOURS } from '../../core/slos/kris.ts';
import type { ServerPart } from '../server-part.ts';
import { budgetConsumed, type BudgetConsumed } from '../../app/slos/budget-consumed.ts';

/** What the SLOs offer other capabilities in the server. */
export interface SloService {
  /**
   * The share of SLO `name`'s error budget spent in (from, to] (app/slos/budget-consumed.ts);
   * undefined when there is no such SLO. A RangeError for a time that is not one or from after to.
   */
  budgetConsumed(name: string, from: Date | string | number, to: Date | string | number): Promise<BudgetConsumed | undefined>;
}

declare module '../server-part.ts' {
  interface Services {
    slos: SloService;
  }
}

export const slosServer: ServerPart = (ctx) => {
  sloRoutes(ctx.app, ctx.routes, ctx.deps);
  sloSeriesRoutes(ctx.app, ctx.routes, ctx.deps);
  kpiRoutes(ctx.app, ctx.routes, ctx.deps);
  kriRoutes(ctx.app, ctx.routes, ctx.deps);
  sloMetrics(ctx.metrics, ctx.deps);
  ctx.services.slos = { budgetConsumed: (name, from, to) => budgetConsumed(ctx.deps, name, from, to) };
  kpiMetrics(ctx.metrics, ctx.deps);
  kriMetrics(ctx.metrics, ctx.deps);
};

/**
 * KRIs on /metrics: `bulwark_kri_value{kri}` (absent when it could not be counted) and
 * `bulwark_kri_colour{kri, colour}`, 1 for the KRI's colour and 0 for the others.
 */
export function kriMetrics(registry: Registry, deps: AppDeps): void {
  if (registry.getSingleMetric('bulwark_kri_value')) return;
  let pending: Promise<void> | undefined;
  const collect = () =>
    (pending ??= refresh().finally(() => {
      pending = undefined;
    }));
  const value = new Gauge({
    name: 'bulwark_kri_value',
    help: 'A key risk indicator’s count now',
    labelNames: ['kri'],
    registers: [registry],
    collect,
  });
  const colour = new Gauge({
    name: 'bulwark_kri_colour',
    help: '1 for the colour a key risk indicator is now (green, amber, red, unknown), 0 for the others',
    labelNames: ['kri', 'colour'],
    registers: [registry],
    collect,
  });
  async function refresh(): Promise<void> {
    value.reset();
    colour.reset();
    let kris;
    try {
      kris = await evaluateKris(deps, await allStatuses(deps));
    } catch {
      return;
    }
    for (const k of kris) {
      if (k.value !== null) value.set({ kri: k.kri }, k.value);
      for (const c of KRI_COLOURS) colour.set({ kri: k.kri, colour: c }, k.colour === c ? 1 : 0);
    }
  }
}

const KPI_WINDOW_MS = 30 * 86_400_000;

/**
 * KPIs over the last 30 days on /metrics: `bulwark_kpi_seconds{kpi, stat=mean|p50|p90}` (absent
 * without data, never 0) and `bulwark_kpi_pairs{kpi, kind=complete|incomplete|refused}`.
 */
export function kpiMetrics(registry: Registry, deps: AppDeps): void {
  if (registry.getSingleMetric('bulwark_kpi_seconds')) return;
  let pending: Promise<void> | undefined;
  const collect = () =>
    (pending ??= refresh().finally(() => {
      pending = undefined;
    }));
  const seconds = new Gauge({
    name: 'bulwark_kpi_seconds',
    help: 'A KPI over the last 30 days, in seconds: mean, p50 or p90 (nearest rank); absent without data',
    labelNames: ['kpi', 'stat'],
    registers: [registry],
    collect,
  });
  const pairs = new Gauge({
    name: 'bulwark_kpi_pairs',
    help: 'Pairs of instants behind a KPI over the last 30 days: complete, incomplete (left out) or refused (negative, left out)',
    labelNames: ['kpi', 'kind'],
    registers: [registry],
    collect,
  });
  async function refresh(): Promise<void> {
    seconds.reset();
    pairs.reset();
    let report;
    try {
      report = await kpiReport(deps, { windowMs: KPI_WINDOW_MS });
    } catch {
      return;
    }
    for (const k of report.kpis) {
      pairs.set({ kpi: k.kpi, kind: 'complete' }, k.count);
      pairs.set({ kpi: k.kpi, kind: 'incomplete' }, k.incomplete);
      pairs.set({ kpi: k.kpi, kind: 'refused' }, k.refused);
      if (k.meanMs === null) continue;
      seconds.set({ kpi: k.kpi, stat: 'mean' }, k.meanMs / 1000);
      seconds.set({ kpi: k.kpi, stat: 'p50' }, k.p50Ms! / 1000);
      seconds.set({ kpi: k.kpi, stat: 'p90' }, k.p90Ms! / 1000);
    }
  }
}

export function sloMetrics(registry: Registry, deps: AppDeps): void {
  if (registry.getSingleMetric('bulwark_slo_objective_ratio')) return;
  // One evaluation per scrape: the registry collects its metrics at once, so every gauge's
  // collect awaits the same evaluation, which fills them all.
  let pending: Promise<void> | undefined;
  const collect = () =>
    (pending ??= refresh().finally(() => {
      pending = undefined;
    }));
  const gauge = (name: string, help: string, extra: string[] = []) =>
    new Gauge({ name, help, labelNames: ['slo', 'service', ...extra], registers: [registry], collect });
  const objective = gauge('bulwark_slo_objective_ratio', 'The objective, a ratio');
  const sli = gauge('bulwark_slo_sli_ratio', 'Good events ÷ total over the SLO period (absent without events)');
  const remaining = gauge('bulwark_slo_error_budget_remaining_ratio', 'Error budget left over the period: 1 − consumed');
  const burn = gauge('bulwark_slo_burn_rate', 'Error rate ÷ (1 − objective) over each alert window and the period', ['window']);
  const alert = gauge('bulwark_slo_alert_firing', '1 when the multiwindow burn-rate alert of a severity fires', ['severity']);
  const freeze = gauge('bulwark_slo_policy_freeze', '1 when the budget policy freezes deploys that are not security fixes');
  const unknown = gauge(
    'bulwark_slo_unknown',
    '1 when the SLI source (an external Prometheus) could not answer: the other gauges of the SLO are absent',
  );
  async function refresh(): Promise<void> {
    for (const g of [sli, objective, remaining, burn, alert, freeze, unknown]) g.reset();
    let all;
    try {
      all = await allStatuses(deps);
    } catch {
      return;
    }
    for (const s of all) {
      const l = { slo: s.record.name, service: s.model.service };
      objective.set(l, s.model.objective);
      if (s.model.sli.source === 'prometheus') unknown.set(l, s.state === 'unknown' ? 1 : 0);
      const b = s.budget;
      if (!b) continue;
      if (b.sli !== null) sli.set(l, b.sli);
      remaining.set(l, b.remaining);
      for (const r of b.burnRates) if (r.rate !== null) burn.set({ ...l, window: r.window }, r.rate);
      for (const a of b.alerts) alert.set({ ...l, severity: a.severity }, a.firing ? 1 : 0);
      if (s.policy) freeze.set(l, s.policy.state === 'freeze' ? 1 : 0);
    }
  }
}
