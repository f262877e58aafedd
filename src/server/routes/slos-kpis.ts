/**
 * KPIs over HTTP: each duration KPI named exactly (from which instant to which), with its mean,
 * p50 and p90 over a window, optionally per severity, technique or control; "no data" (null
 * numbers) where nothing feeds it yet, never zero.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../../app/deps.ts';
import { kpiReport } from '../../app/slos/kpis.ts';
import { parsePromDuration } from '../../core/slos/duration.ts';
import { KPI_DIMENSIONS, KPI_NAMES } from '../../core/slos/kpis.ts';
import type { RouteRegistry } from '../route.ts';

const YEAR_MS = 366 * 86_400_000;

export const KpiView = z.object({
  kpi: z.enum(KPI_NAMES as [string, ...string[]]),
  title: z.string(),
  from: z.string().describe('the instant the duration starts at'),
  to: z.string().describe('the instant the duration ends at'),
  group: z.string().nullable().describe('the value of the `by` dimension; null for all'),
  status: z.enum(['ok', 'no-data']),
  count: z.number().int().describe('complete pairs in the window'),
  incomplete: z.number().int().describe('pairs with an instant missing, left out'),
  refused: z.number().int().describe('pairs that end before they start, left out'),
  meanMs: z.number().nullable(),
  p50Ms: z.number().nullable().describe('nearest rank'),
  p90Ms: z.number().nullable().describe('nearest rank'),
  sources: z.array(z.string()).describe('what feeds it'),
  why: z.string().nullable().describe('why there is no data'),
});

export const KpiReportView = z.object({
  from: z.string(),
  to: z.string(),
  by: z.enum(KPI_DIMENSIONS).nullable(),
  kpis: z.array(KpiView),
});

export function kpiRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/kpis',
    tag: 'slos',
    summary: 'KPIs (time to detect, acknowledge, triage, mitigate, repair, resolve): mean, p50, p90 over a window',
    auth: { permission: 'slos:read' },
    priority: 'low',
    query: z.strictObject({
      window: z
        .string()
        .refine((s) => {
          const ms = parsePromDuration(s);
          return ms !== undefined && ms <= YEAR_MS;
        }, 'window is a duration up to a year, such as 7d or 30d')
        .default('30d')
        .describe('how far back from now'),
      by: z.enum(KPI_DIMENSIONS).optional().describe('also one result per severity, technique or control'),
    }),
    response: KpiReportView,
    handler: async ({ query }) => kpiReport(deps, { windowMs: parsePromDuration(query.window)!, ...(query.by ? { by: query.by } : {}) }),
  });
}
