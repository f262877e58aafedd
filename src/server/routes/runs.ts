/** Experiment runs over HTTP: the list, one run with its timeline and journal, and stopping one. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { notFound } from '../../core/errors.ts';
import type { AppDeps } from '../../app/deps.ts';
import type { RunManager } from '../../app/experiments/run-manager.ts';
import { runTimeline, TIMELINE_KINDS } from '../../app/experiments/runner/run-timeline.ts';
import type { RouteRegistry } from '../route.ts';
import { experimentName, RunSummary, viewRun } from './experiments.ts';

const runId = z.string().regex(/^[a-z0-9]{8,32}$/, 'a run id is 8–32 lower-case letters and digits');

export const TimelineEvent = z.object({
  at: z.string(),
  kind: z.enum(TIMELINE_KINDS),
  label: z.string(),
  ok: z.boolean().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});

export const RunDetail = z.object({ run: RunSummary, timeline: z.array(TimelineEvent), journal: z.unknown() });

export function runRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps, opts: { runs: RunManager }): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/runs',
    tag: 'experiments',
    summary: 'Experiment runs, newest first',
    auth: { permission: 'experiments:read' },
    priority: 'low',
    query: z.strictObject({
      experiment: experimentName.optional().describe('only the runs of this experiment'),
      limit: z.coerce.number().int().min(1).max(500).default(50),
    }),
    response: z.object({ runs: z.array(RunSummary) }),
    handler: async ({ query }) => {
      const page = await deps.store.runs.list({
        limit: query.limit,
        ...(query.experiment !== undefined ? { experiment: query.experiment } : {}),
      });
      return { runs: page.runs.map(viewRun) };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/runs/:id',
    tag: 'experiments',
    summary: 'One run: its summary, its timeline (injections, probes, detections with time to detect, rollbacks) and its journal',
    auth: { permission: 'experiments:read' },
    params: z.strictObject({ id: runId }),
    response: RunDetail,
    errors: [404],
    handler: async ({ params }) => {
      const run = await deps.store.runs.get(params.id);
      if (!run) throw notFound(`no run ${params.id}; list them with GET /v1/runs`);
      return { run: viewRun(run), timeline: runTimeline(run), journal: run.journal };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/runs/:id/stop',
    tag: 'experiments',
    summary: 'Abort one run going on in this server; its rollbacks run',
    auth: { permission: 'experiments:stop' },
    priority: 'critical',
    params: z.strictObject({ id: runId }),
    body: z.strictObject({}).optional().describe('nothing, or an empty object'),
    status: 202,
    response: z.object({ run: RunSummary }),
    errors: [404, 409],
    handler: async ({ params, principal }) => ({
      run: viewRun(await opts.runs.stop(params.id, `stopped by token:${principal.tokenId}`)),
    }),
  });
}
