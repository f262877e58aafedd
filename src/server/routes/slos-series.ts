/** GET /v1/slos/{name}/series: the budget remaining, burn rates and firing alerts over time, for the SLO page's charts. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../../app/deps.ts';
import { getSlo } from '../../app/slos/apply-slo.ts';
import { sloSeries } from '../../app/slos/slo-series.ts';
import { MAX_SERIES_POINTS } from '../../core/slos/series.ts';
import type { RouteRegistry } from '../route.ts';
import { sloName } from './slos.ts';

export const SeriesView = z.object({
  name: z.string(),
  from: z.string().describe('the first point: the period’s start (a rolling window: one window back)'),
  to: z.string().describe('now'),
  points: z.array(
    z.object({
      at: z.string(),
      remaining: z.number().nullable().describe('budget remaining at that instant (1 − consumed); null while the period had no event'),
      burnRates: z
        .record(z.string(), z.number().nullable())
        .describe('burn rate per window (5m, 1h, …, and the period); null without events'),
      firing: z.array(z.enum(['page', 'ticket'])).describe('the burn-rate alerts that fired at that instant'),
    }),
  ),
  note: z.string().nullable().describe('why there are no points (a Prometheus or external SLI)'),
});

export function sloSeriesRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/slos/:name/series',
    tag: 'slos',
    summary: "An SLO's budget remaining, burn rates and firing alerts at evenly spaced instants over its period, up to now",
    auth: { permission: 'slos:read' },
    priority: 'low',
    params: z.strictObject({ name: sloName }),
    query: z.strictObject({
      points: z.coerce
        .number()
        .int()
        .min(2)
        .max(MAX_SERIES_POINTS)
        .default(60)
        .describe(`how many instants, 2 to ${MAX_SERIES_POINTS} (60 by default)`),
    }),
    response: SeriesView,
    errors: [404],
    handler: async ({ params, query }) => {
      const rec = await getSlo(deps, params.name);
      return { name: rec.name, ...(await sloSeries(deps, rec, query.points)) };
    },
  });
}
