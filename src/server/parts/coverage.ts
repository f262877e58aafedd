/**
 * Coverage in the server: its routes (the map is computed from the store on each read), and its
 * KRIs on /metrics, computed when scraped: `bulwark_coverage_techniques{state}` with state
 * in_scope, exercised, never_exercised, stale, blocked, alerted, logged, none (docs/coverage.md).
 */
import { Gauge, type Registry } from 'prom-client';
import { coverageMap } from '../../app/coverage/coverage.ts';
import type { AppDeps } from '../../app/deps.ts';
import type { CoverageKris } from '../../core/coverage/map.ts';
import { coverageRoutes } from '../routes/coverage.ts';
import type { ServerPart } from '../server-part.ts';

export const coverageServer: ServerPart = ({ app, routes, deps, metrics }) => {
  coverageRoutes(app, routes, deps);
  coverageMetrics(metrics, deps);
};

const STATES: readonly [string, keyof CoverageKris][] = [
  ['in_scope', 'inScope'],
  ['exercised', 'exercised'],
  ['never_exercised', 'neverExercised'],
  ['stale', 'stale'],
  ['blocked', 'blocked'],
  ['alerted', 'alerted'],
  ['logged', 'logged'],
  ['none', 'none'],
];

/** The coverage KRIs as one gauge; absent when the map cannot be computed (never a stale number). */
export function coverageMetrics(registry: Registry, deps: AppDeps): void {
  if (registry.getSingleMetric('bulwark_coverage_techniques')) return;
  let pending: Promise<void> | undefined;
  const gauge: Gauge = new Gauge({
    name: 'bulwark_coverage_techniques',
    help: 'ATT&CK techniques by coverage state: in_scope, exercised, never_exercised (KRI), stale (KRI), and by status blocked, alerted, logged, none',
    labelNames: ['state'],
    registers: [registry],
    collect: () =>
      (pending ??= refresh().finally(() => {
        pending = undefined;
      })),
  });
  async function refresh(): Promise<void> {
    gauge.reset();
    let kris: CoverageKris;
    try {
      kris = (await coverageMap(deps)).kris;
    } catch {
      return;
    }
    for (const [state, key] of STATES) gauge.set({ state }, kris[key]);
  }
}
