/**
 * SLOs in the server: their routes, and their metrics on /metrics, computed when scraped:
 * `bulwark_slo_sli_ratio`, `bulwark_slo_objective_ratio`, `bulwark_slo_error_budget_remaining_ratio`,
 * `bulwark_slo_burn_rate{window}`, `bulwark_slo_alert_firing{severity}` and
 * `bulwark_slo_policy_freeze`, each labelled `slo` and `service` (docs/prometheus.md).
 */
import { Gauge, type Registry } from 'prom-client';
import type { AppDeps } from '../../app/deps.ts';
import { allStatuses, sloRoutes } from '../routes/slos.ts';
import type { ServerPart } from '../server-part.ts';

export const slosServer: ServerPart = (ctx) => {
  sloRoutes(ctx.app, ctx.routes, ctx.deps);
  sloMetrics(ctx.metrics, ctx.deps);
};

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
  async function refresh(): Promise<void> {
    for (const g of [sli, objective, remaining, burn, alert, freeze]) g.reset();
    let all;
    try {
      all = await allStatuses(deps);
    } catch {
      return;
    }
    for (const s of all) {
      const l = { slo: s.record.name, service: s.model.service };
      objective.set(l, s.model.objective);
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
