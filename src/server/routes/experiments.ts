/**
 * Experiments over HTTP: apply a file (which never runs anything), list them with their last
 * outcome and history, delete one (its runs stay readable), start a run in the background, and
 * the global stop switch. Process and file providers need `experiments:privileged` to apply and
 * to run, and the server's allow-lists.
 */
import { ApprovalPending } from './access-approval-rules.ts';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { can, type Principal } from '../../core/access/permissions.ts';
import { formatDuration } from '../../core/experiments/duration.ts';
import { OUTCOMES, type Outcome } from '../../core/experiments/outcome.ts';
import { MAX_FILE_LENGTH } from '../../core/experiments/experiment-file.ts';
import type { AppDeps } from '../../app/deps.ts';
import { applyExperiment, EXPERIMENT_NAME, fileWithoutSecrets, getExperiment } from '../../app/experiments/apply-experiment.ts';
import { deleteExperiment } from '../../app/experiments/delete-experiment.ts';
import type { RunManager } from '../../app/experiments/run-manager.ts';
import type { ServerPolicy } from '../../app/experiments/server-policy.ts';
import type { ExperimentRecord, RunRecord } from '../../store/experiments/port.ts';
import type { RouteRegistry } from '../route.ts';
import { apiActor, actorLabel } from '../../core/ledger/actor.ts';

export interface ExperimentRouteOptions {
  runs: RunManager;
  policy: ServerPolicy;
}

const HISTORY = 20;

export const experimentName = z
  .string()
  .regex(EXPERIMENT_NAME, 'an experiment name is 1–64 characters of a-z, 0-9 and "-"')
  .describe('the experiment name');

export const RunSummary = z.object({
  id: z.string(),
  experiment: z.string().describe('the experiment name'),
  state: z.enum(['pending', 'running', 'rolling-back', 'done']),
  outcome: z.enum(OUTCOMES).nullable().describe('one of the eight outcomes once done; null while running and for a dry run'),
  reason: z.string().nullable(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  ttdMs: z.number().nullable().describe("time to detect: Bulwark's receipt of the first matching signal minus the injection"),
  dryRun: z.boolean(),
});

export const viewRun = (r: RunRecord): z.output<typeof RunSummary> => ({
  id: r.id,
  experiment: r.experiment,
  state: r.state,
  outcome: outcomeOf(r),
  reason: r.reason,
  startedAt: r.startedAt,
  endedAt: r.endedAt,
  ttdMs: r.ttdMs,
  dryRun: r.dryRun,
});

const isOutcome = (s: string): s is Outcome => (OUTCOMES as readonly string[]).includes(s);

/** The store keeps the outcome as text; only the eight outcomes are ever written (core/experiments/outcome.ts). */
function outcomeOf(r: RunRecord): Outcome | null {
  if (r.outcome === null || isOutcome(r.outcome)) return r.outcome;
  throw new Error(`run ${r.id} has an outcome this version does not know: ${r.outcome}`);
}

export const Schedule = z.object({ cron: z.string(), jitter: z.string().describe('a duration, e.g. 5s') }).nullable();

const ExperimentView = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  techniques: z.array(z.string()),
  schedule: Schedule,
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const ExperimentItem = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  techniques: z.array(z.string()),
  schedule: Schedule,
  lastRun: RunSummary.nullable(),
  history: z.array(RunSummary).describe(`newest first, at most ${HISTORY}`),
});

export const DeletedView = z.object({
  name: z.string(),
  title: z.string(),
  version: z.number().int().describe('the version that was deleted; applying the name again gives the next one'),
  schedule: Schedule.describe('the schedule that no longer runs'),
  deletedAt: z.string(),
  deletedBy: z.string().describe('who deleted it, as the ledger writes it (token:ID)'),
  unfinished: z
    .array(RunSummary)
    .describe(
      'its runs not done when it was deleted, oldest first: deleting stops none of them (POST /v1/runs/{id}/stop does), but a scheduled run still waiting for its time ends aborted without starting',
    ),
});

export const ExperimentDetail = ExperimentItem.extend({ file: z.string() });

const base = (e: Pick<ExperimentRecord, 'name' | 'title' | 'description' | 'techniques' | 'schedule'>) => ({
  name: e.name,
  title: e.title,
  description: e.description,
  techniques: e.techniques,
  schedule: e.schedule ? { cron: e.schedule.cron, jitter: formatDuration(e.schedule.jitterMs) } : null,
});

async function item(deps: AppDeps, e: ExperimentRecord): Promise<z.output<typeof ExperimentItem>> {
  const history = (await deps.store.runs.list({ experiment: e.name, limit: HISTORY })).runs.map(viewRun);
  return { ...base(e), lastRun: history[0] ?? null, history };
}

const actorOf = (p: Principal, req: { id: string }) => apiActor(p, req.id);
const varName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'a variable name is a letter or "_", then letters, digits, "_", "." or "-"');

export function experimentRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps, opts: ExperimentRouteOptions): void {
  r.add(app, {
    method: 'POST',
    url: '/v1/experiments',
    tag: 'experiments',
    summary: 'Apply an experiment file (YAML or JSON): a new experiment (201) or the next version of one (200). Nothing runs.',
    auth: { permission: 'experiments:write' },
    body: z.strictObject({
      file: z.string().min(1).max(MAX_FILE_LENGTH).describe('the experiment file, YAML or JSON text'),
      name: experimentName.optional().describe('the name to apply it under; a slug of the title by default'),
    }),
    status: 201,
    response: ExperimentView,
    errors: [200, 403],
    handler: async ({ body, principal, req, reply }) => {
      const r = await applyExperiment(
        deps,
        actorOf(principal, req),
        { file: body.file, ...(body.name !== undefined ? { name: body.name } : {}) },
        { mayPrivileged: can(principal, 'experiments:privileged'), policy: opts.policy },
      );
      const view = { ...base(r.experiment), createdAt: r.experiment.createdAt, updatedAt: r.experiment.updatedAt };
      // A new version of a known name is 200, not 201.
      return r.created ? view : reply.code(200).send(view);
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/experiments',
    tag: 'experiments',
    summary: 'Every applied experiment with its last run and its recent history',
    auth: { permission: 'experiments:read' },
    priority: 'low',
    response: z.object({ experiments: z.array(ExperimentItem) }),
    handler: async () => {
      const all = await deps.store.experiments.list();
      return { experiments: await Promise.all(all.map((e) => item(deps, e))) };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/experiments/:name',
    tag: 'experiments',
    summary: 'One applied experiment, with the file as applied (inline secret values replaced)',
    auth: { permission: 'experiments:read' },
    params: z.strictObject({ name: experimentName }),
    response: ExperimentDetail,
    errors: [404],
    handler: async ({ params }) => {
      const e = await getExperiment(deps, params.name);
      return { ...(await item(deps, e)), file: fileWithoutSecrets(e) };
    },
  });

  r.add(app, {
    method: 'DELETE',
    url: '/v1/experiments/:name',
    tag: 'experiments',
    summary:
      'Delete an experiment: it is no longer listed, run or scheduled (on every server on the database); its runs and ledger entries stay readable. Runs going on are not stopped.',
    auth: { permission: 'experiments:write' },
    params: z.strictObject({ name: experimentName }),
    // 202 with an approval request when the approval rules guard experiment.delete (docs/access.md).
    response: z.union([DeletedView, ApprovalPending]),
    errors: [202, 404],
    handler: async ({ params, principal, req }) => {
      const d = await deleteExperiment(deps, actorOf(principal, req), params.name);
      // Read after the commit: what of it is still going, which deleting does not stop.
      const unfinished = (await deps.store.runs.unfinished()).filter((run) => run.experiment === d.name);
      return {
        name: d.name,
        title: d.title,
        version: d.version,
        schedule: base(d).schedule,
        deletedAt: d.deletedAt,
        deletedBy: d.deletedBy,
        unfinished: unfinished.map(viewRun),
      };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/experiments/:name/runs',
    tag: 'experiments',
    summary: 'Start a run of an experiment; it proceeds in the background of this server',
    auth: { permission: 'experiments:run' },
    params: z.strictObject({ name: experimentName }),
    body: z
      .strictObject({
        dryRun: z.boolean().default(false).describe('check and record the plan; send nothing'),
        vars: z
          .record(varName, z.string().max(4096))
          .default({})
          .refine((v) => Object.keys(v).length <= 50, 'at most 50 variables')
          .describe('configuration overrides, as `bulwark run --var k=v`'),
      })
      .prefault({}),
    status: 202,
    response: z.object({ run: RunSummary }),
    errors: [403, 404, 409],
    handler: async ({ params, body, principal, req }) => {
      const run = await opts.runs.start({
        name: params.name,
        actor: actorOf(principal, req),
        dryRun: body.dryRun,
        vars: body.vars,
        mayPrivileged: can(principal, 'experiments:privileged'),
      });
      return { run: viewRun(run) };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/experiments/stop-all',
    tag: 'experiments',
    summary:
      'The global stop switch: abort every run going on, in this server at once and in every other server on the database within a second; their rollbacks run',
    auth: { permission: 'experiments:stop' },
    priority: 'critical',
    body: z.strictObject({}).optional().describe('nothing, or an empty object'),
    response: z.object({
      stopped: z.number().int().describe('runs of this server that were aborted (other servers abort theirs within a second)'),
    }),
    handler: async ({ principal, req }) => {
      const actor = actorOf(principal, req);
      return { stopped: await opts.runs.stopAll(`stopped by ${actorLabel(actor)} (stop all)`, actor) };
    },
  });
}
