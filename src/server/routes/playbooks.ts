/**
 * Playbooks over HTTP: apply a file (every version kept), list and show them, start a run (or a
 * dry run), follow a run with its steps, complete a step that waits for a person, pause, resume,
 * cancel; "my checklist"; the toil report; promotions of a step to `auto` (asked by one person,
 * approved by another). Every change is a ledger entry.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../../app/deps.ts';
import { applyPlaybook, getPlaybook, modelOf, versionModel } from '../../app/playbooks/apply-playbook.ts';
import { cancelRun, completeStep, getRun, pauseRun, resumeRun, startRun } from '../../app/playbooks/runs.ts';
import { decidePromotion, requestPromotion, toilReport } from '../../app/playbooks/toil.ts';
import { conditionalAccess } from '../../app/access/custom-roles.ts';
import { experimentLabels } from '../../app/access/resource-labels.ts';
import { can } from '../../core/access/permissions.ts';
import type { ExecutableEntry } from '../../core/experiments/process-policy.ts';
import { conflict, invalid } from '../../core/errors.ts';
import { exportCacao, importCacao, MAX_CACAO_LENGTH } from '../../core/playbooks/cacao.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import { MAX_PLAYBOOK_FILE_LENGTH, PLAYBOOK_NAME, STEP_ID } from '../../core/playbooks/playbook-file.ts';
import { STEP_KINDS, type Playbook } from '../../core/playbooks/types.ts';
import {
  RUN_STATES,
  type PlaybookRecord,
  type PlaybookRunRecord,
  type PromotionRecord,
  type StepExecutionRecord,
} from '../../store/playbooks/port.ts';
import type { RouteRegistry } from '../route.ts';

const name = z.string().regex(PLAYBOOK_NAME, 'a playbook name is 1–64 characters of a-z, 0-9 and "-"').describe('the playbook name');
const stepId = z.string().regex(STEP_ID, 'a step id is a-z, 0-9 and "_", starting with a letter');
const runId = z.string().regex(/^pbr_[a-z0-9]{16}$/, 'a playbook run id is pbr_ and 16 letters and digits');
const promotionId = z.string().regex(/^pbp_[0-9a-f]{16}$/, 'a promotion id is pbp_ and 16 hex digits');
const MODE = z.enum(['manual', 'assisted', 'auto']);

const StepDef = z.object({
  id: z.string(),
  title: z.string(),
  kind: z.enum(STEP_KINDS),
  mode: MODE,
  instructions: z.string(),
  items: z.array(z.string()).nullable(),
  assignee: z.string().nullable(),
  guarded: z.boolean().describe('inside an if: runs only on its branch'),
});

export const PlaybookItem = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  owner: z.string().nullable(),
  version: z.number().int(),
  sha256: z.string(),
  trigger: z.object({ manual: z.boolean(), signal: z.string().nullable(), schedule: z.string().nullable() }),
  inputs: z.record(z.string(), z.object({ type: z.string(), required: z.boolean(), description: z.string() })),
  automateAfter: z.number().int(),
  steps: z.array(StepDef),
  updatedAt: z.string(),
  appliedBy: z.string(),
});

const PlaybookDetail = PlaybookItem.extend({
  file: z.string(),
  versions: z.array(z.object({ version: z.number().int(), sha256: z.string(), appliedAt: z.string(), appliedBy: z.string() })),
});

const StepView = z.object({
  index: z.number().int(),
  id: z.string(),
  title: z.string(),
  kind: z.string(),
  mode: MODE,
  state: z.string(),
  attempts: z.number().int(),
  outputs: z.unknown(),
  error: z.string().nullable(),
  idempotencyKey: z.string().nullable(),
  instructions: z.string(),
  items: z.array(z.string()).nullable(),
  assignee: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  notes: z.string().nullable(),
  timeSpentMs: z.number().nullable(),
  doneBy: z.string().nullable(),
});

export const RunItem = z.object({
  id: z.string(),
  playbook: z.string(),
  version: z.number().int(),
  state: z.enum(RUN_STATES),
  inputs: z.record(z.string(), z.unknown()),
  trigger: z.string().nullable().describe('the id of the signal that started it, or schedule:MINUTE; null when a person did'),
  cursor: z.number().int(),
  wakeAt: z.string().nullable(),
  startedBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  reason: z.string().nullable(),
});

export const RunDetail = RunItem.extend({ steps: z.array(StepView) });

const PlanView = z.object({
  dryRun: z.literal(true),
  steps: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      kind: z.string(),
      mode: MODE,
      action: z.string(),
      request: z
        .object({ method: z.string(), url: z.string(), headers: z.record(z.string(), z.string()), body: z.unknown().optional() })
        .optional(),
      unresolved: z.string().optional(),
      guarded: z.boolean(),
    }),
  ),
});

export const PromotionView = z.object({
  id: z.string(),
  playbook: z.string(),
  step: z.string(),
  fromVersion: z.number().int(),
  fromMode: z.enum(['manual', 'assisted']),
  state: z.enum(['pending', 'approved', 'rejected']),
  requestedBy: z.string(),
  requestedAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  newVersion: z.number().int().nullable(),
});

export const ChecklistItem = StepView.extend({ run: z.string(), playbook: z.string(), version: z.number().int(), mine: z.boolean() });

export const ToilView = z.object({
  rows: z.array(
    z.object({
      playbook: z.string(),
      stepId: z.string(),
      mode: z.enum(['manual', 'assisted']),
      done: z.number().int(),
      failed: z.number().int(),
      timeSpentMs: z.number(),
      lastAt: z.string().nullable(),
    }),
  ),
  totals: z.object({ executions: z.number().int(), timeSpentMs: z.number() }),
  proposals: z.array(
    z.object({
      playbook: z.string(),
      step: z.string(),
      mode: z.enum(['manual', 'assisted']),
      manualDone: z.number().int(),
      threshold: z.number().int(),
      pending: z.string().nullable(),
    }),
  ),
});

function playbookView(rec: PlaybookRecord, m: Playbook): z.input<typeof PlaybookItem> {
  return {
    name: rec.name,
    title: m.title,
    description: m.description,
    owner: m.owner ?? null,
    version: rec.version,
    sha256: rec.fileSha256,
    trigger: { manual: m.trigger.manual, signal: m.trigger.signal?.source ?? null, schedule: m.trigger.schedule?.source ?? null },
    inputs: Object.fromEntries(
      Object.entries(m.inputs).map(([k, i]) => [k, { type: i.type, required: i.required, description: i.description }]),
    ),
    automateAfter: m.automateAfter,
    steps: m.steps.map((s) => ({
      id: s.id,
      title: s.title,
      kind: s.kind,
      mode: s.mode,
      instructions: s.instructions,
      items: s.items ?? null,
      assignee: s.assignee ?? null,
      guarded: s.guards.length > 0,
    })),
    updatedAt: rec.updatedAt,
    appliedBy: rec.appliedBy,
  };
}

export function runView(r: PlaybookRunRecord): z.input<typeof RunItem> {
  const t = r.trigger as { id?: unknown } | null;
  return {
    id: r.id,
    playbook: r.playbook,
    version: r.version,
    state: r.state,
    inputs: r.inputs,
    trigger: t && typeof t.id === 'string' ? t.id : null,
    cursor: r.cursor,
    wakeAt: r.wakeAt,
    startedBy: r.startedBy,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
    reason: r.reason,
  };
}

function stepView(s: StepExecutionRecord, m: Playbook): z.input<typeof StepView> {
  const def = m.steps[s.idx];
  return {
    index: s.idx,
    id: s.stepId,
    title: def?.title ?? s.stepId,
    kind: s.kind,
    mode: s.mode,
    state: s.state,
    attempts: s.attempts,
    outputs: s.outputs,
    error: s.error,
    idempotencyKey: s.idempotencyKey,
    instructions: def?.instructions ?? '',
    items: def?.items ?? null,
    assignee: s.assignee,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    notes: s.notes,
    timeSpentMs: s.timeSpentMs,
    doneBy: s.doneBy,
  };
}

const promotionView = (p: PromotionRecord): z.input<typeof PromotionView> => ({
  id: p.id,
  playbook: p.playbook,
  step: p.stepId,
  fromVersion: p.fromVersion,
  fromMode: p.fromMode,
  state: p.state,
  requestedBy: p.requestedBy,
  requestedAt: p.requestedAt,
  decidedBy: p.decidedBy,
  decidedAt: p.decidedAt,
  newVersion: p.newVersion,
});

/** What the routes need besides the store: a nudge to the engine when a person or a start made work. */
export interface PlaybookRouteOptions {
  /** The server's executable allow-list: process steps are judged by it at apply. */
  allowExecutables?: readonly ExecutableEntry[];
  kick(): void;
}

export function playbookRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps, o: PlaybookRouteOptions): void {
  const tag = 'playbooks';

  r.add(app, {
    method: 'POST',
    url: '/v1/playbooks',
    tag,
    summary: 'Apply a playbook file (YAML or JSON): a new playbook (201) or its next version (200); every version is kept',
    auth: { permission: 'playbooks:write' },
    body: z.strictObject({ file: z.string().min(1).max(MAX_PLAYBOOK_FILE_LENGTH).describe('the playbook file, YAML or JSON text') }),
    status: 201,
    response: PlaybookItem,
    errors: [200, 403, 409],
    handler: async ({ body, principal, req, reply }) => {
      const a = await applyPlaybook(deps, apiActor(principal, req.id), body.file, {
        mayApprove: can(principal, 'playbooks:approve'),
        mayPrivileged: can(principal, 'experiments:privileged'),
        allowExecutables: o.allowExecutables ?? [],
        mayWriteIncidents: can(principal, 'incidents:write'),
        mayRunExperiment: async (experiment) => {
          if (can(principal, 'experiments:run')) return true;
          // A conditional custom role is evaluated on the experiment the step names, as its own route would.
          const d = await conditionalAccess(deps, principal, 'experiments:run', 'POST', {
            kind: 'experiment',
            name: experiment,
            find: () => experimentLabels(deps, experiment),
          });
          if (d.kind === 'allowed') return true;
          return d.kind === 'none' ? `token "${principal.tokenName}" lacks the permission experiments:run` : d.reason;
        },
      });
      const v = playbookView(a.playbook, a.model);
      return a.created ? v : reply.code(200).send(v);
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/playbooks/import-cacao',
    tag,
    summary:
      'Map a CACAO v2 JSON playbook to a playbook file (returned, not applied: apply it with POST /v1/playbooks); what cannot be mapped is refused (400) naming each element',
    auth: { permission: 'playbooks:write' },
    body: z.strictObject({ cacao: z.string().min(1).max(MAX_CACAO_LENGTH).describe('the CACAO v2 playbook, JSON text') }),
    response: z.object({ name: z.string(), file: z.string().describe('the playbook file (YAML)') }),
    handler: async ({ body }) => {
      const r = importCacao(body.cacao);
      if (!r.ok) throw invalid(`the CACAO playbook cannot be mapped: ${r.errors.join('; ')}`, { errors: r.errors });
      return r.value;
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/playbooks/:name/cacao',
    tag,
    summary: "A playbook's current version as a CACAO v2 JSON playbook; a step with no CACAO counterpart is refused (409) by name",
    auth: { permission: 'playbooks:read' },
    params: z.strictObject({ name }),
    response: z.looseObject({ type: z.literal('playbook'), spec_version: z.literal('cacao-2.0'), id: z.string() }),
    errors: [404, 409],
    handler: async ({ params }) => {
      const rec = await getPlaybook(deps, params.name);
      const r = exportCacao(modelOf(rec.file, rec.fileSha256), rec.updatedAt);
      if (!r.ok) throw conflict(`playbook ${params.name} cannot be exported as CACAO: ${r.errors.join('; ')}`, { errors: r.errors });
      return r.value as { type: 'playbook'; spec_version: 'cacao-2.0'; id: string; [k: string]: unknown };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/playbooks',
    tag,
    summary: 'Every applied playbook at its current version, by name',
    auth: { permission: 'playbooks:read' },
    priority: 'low',
    response: z.object({ playbooks: z.array(PlaybookItem) }),
    handler: async () => ({ playbooks: (await deps.store.playbooks.list()).map((p) => playbookView(p, modelOf(p.file, p.fileSha256))) }),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/playbooks/:name',
    tag,
    summary: 'One playbook: its current version with the file, and every version applied',
    auth: { permission: 'playbooks:read' },
    params: z.strictObject({ name }),
    response: PlaybookDetail,
    errors: [404],
    handler: async ({ params }) => {
      const rec = await getPlaybook(deps, params.name);
      const versions = await deps.store.playbooks.versions(params.name);
      return {
        ...playbookView(rec, modelOf(rec.file, rec.fileSha256)),
        file: rec.file,
        versions: versions.map((v) => ({ version: v.version, sha256: v.fileSha256, appliedAt: v.appliedAt, appliedBy: v.appliedBy })),
      };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/playbooks/:name/runs',
    tag,
    summary: 'Start a run of the current version (201), or with dryRun say what each step would do, sending nothing (200)',
    auth: { permission: 'playbooks:run' },
    params: z.strictObject({ name }),
    body: z.strictObject({ inputs: z.record(z.string().max(64), z.unknown()).default({}), dryRun: z.boolean().default(false) }),
    status: 201,
    response: RunItem,
    errors: [200, 404],
    handler: async ({ params, body, principal, req, reply }) => {
      const r0 = await startRun(deps, apiActor(principal, req.id), params.name, {
        inputs: body.inputs,
        dryRun: body.dryRun,
        mayPrivileged: can(principal, 'experiments:privileged'),
      });
      if ('plan' in r0) return reply.code(200).send(PlanView.parse({ dryRun: true, steps: r0.plan }));
      o.kick();
      return runView(r0.run);
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/playbook-runs',
    tag,
    summary: 'Runs, newest first',
    auth: { permission: 'playbooks:read' },
    priority: 'low',
    query: z.strictObject({
      playbook: name.optional(),
      state: z.enum(RUN_STATES).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    response: z.object({ runs: z.array(RunItem) }),
    handler: async ({ query }) => ({
      runs: (
        await deps.store.playbooks.listRuns({
          limit: query.limit,
          ...(query.playbook !== undefined ? { playbook: query.playbook } : {}),
          ...(query.state !== undefined ? { state: query.state } : {}),
        })
      ).map(runView),
    }),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/playbook-runs/:id',
    tag,
    summary: 'One run with each step: state, attempts, outputs, who did it',
    auth: { permission: 'playbooks:read' },
    params: z.strictObject({ id: runId }),
    response: RunDetail,
    errors: [404],
    handler: async ({ params }) => {
      const run = await getRun(deps, params.id);
      const m = await versionModel(deps.store, run.playbook, run.version);
      return { ...runView(run), steps: (await deps.store.playbooks.steps(run.id)).map((s) => stepView(s, m)) };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/playbook-runs/:id/steps/:step/complete',
    tag,
    summary:
      'A person records the step the run waits at: a manual step done or failed (notes, time spent, outputs), an assisted one confirmed (it runs) or declined',
    auth: { permission: 'playbooks:run' },
    params: z.strictObject({ id: runId, step: stepId }),
    body: z.strictObject({
      outcome: z.enum(['done', 'failed', 'confirmed', 'declined']),
      notes: z.string().max(2000).optional(),
      timeSpentMs: z
        .number()
        .int()
        .min(0)
        .max(30 * 86_400_000)
        .optional(),
      outputs: z.record(z.string().max(64), z.unknown()).optional(),
    }),
    response: RunItem,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) => {
      const run = await completeStep(deps, apiActor(principal, req.id), params.id, params.step, body);
      o.kick();
      return runView(run);
    },
  });

  for (const [verb, fn, summary] of [
    ['pause', pauseRun, 'Pause a running or waiting run: it stops after the step it is in'],
    ['resume', resumeRun, 'Resume a paused run where it was'],
    ['cancel', cancelRun, 'Cancel a run that has not ended: its steps not done are cancelled'],
  ] as const) {
    r.add(app, {
      method: 'POST',
      url: `/v1/playbook-runs/:id/${verb}`,
      tag,
      summary,
      auth: { permission: 'playbooks:run' },
      params: z.strictObject({ id: runId }),
      response: RunItem,
      errors: [404, 409],
      handler: async ({ params, principal, req }) => {
        const run = await fn(deps, apiActor(principal, req.id), params.id);
        o.kick();
        return runView(run);
      },
    });
  }

  r.add(app, {
    method: 'GET',
    url: '/v1/playbook-checklist',
    tag,
    summary: 'Steps waiting for a person: those assigned to the caller or to nobody (mine), then the others',
    auth: { permission: 'playbooks:read' },
    priority: 'low',
    response: z.object({ steps: z.array(ChecklistItem) }),
    handler: async ({ principal }) => {
      const waiting = await deps.store.playbooks.waitingSteps(500);
      const out = [];
      for (const s of waiting) {
        const m = await versionModel(deps.store, s.playbook, s.version);
        out.push({
          ...stepView(s, m),
          run: s.runId,
          playbook: s.playbook,
          version: s.version,
          mine: s.assignee === null || s.assignee === principal.id,
        });
      }
      return { steps: out.sort((a, b) => Number(b.mine) - Number(a.mine)) };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/playbook-toil',
    tag,
    summary: 'The toil report: manual and assisted executions per playbook and step, time spent, and the steps to automate',
    auth: { permission: 'playbooks:read' },
    priority: 'low',
    query: z.strictObject({ playbook: name.optional() }),
    response: ToilView,
    handler: async ({ query }) => toilReport(deps, query.playbook),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/playbooks/:name/steps/:step/promotions',
    tag,
    summary: 'Ask that a step become automatic: a second person approves it (never the requester), which applies the next version',
    auth: { permission: 'playbooks:write' },
    params: z.strictObject({ name, step: stepId }),
    status: 201,
    response: PromotionView,
    errors: [404, 409],
    handler: async ({ params, principal, req }) =>
      promotionView(await requestPromotion(deps, apiActor(principal, req.id), params.name, params.step)),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/playbook-promotions',
    tag,
    summary: 'Promotions of steps to auto, newest first',
    auth: { permission: 'playbooks:read' },
    priority: 'low',
    query: z.strictObject({ playbook: name.optional() }),
    response: z.object({ promotions: z.array(PromotionView) }),
    handler: async ({ query }) => ({ promotions: (await deps.store.playbooks.listPromotions(query.playbook)).map(promotionView) }),
  });

  for (const [verb, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    r.add(app, {
      method: 'POST',
      url: `/v1/playbook-promotions/:id/${verb}`,
      tag,
      summary:
        decision === 'approved'
          ? 'Approve a promotion (not by its requester): the next version, with the step in mode auto, is applied'
          : 'Reject a promotion (not by its requester)',
      auth: { permission: 'playbooks:approve' },
      params: z.strictObject({ id: promotionId }),
      response: PromotionView.extend({ version: z.number().int().nullable() }),
      errors: [403, 404, 409],
      handler: async ({ params, principal, req }) => {
        const d = await decidePromotion(deps, apiActor(principal, req.id), params.id, decision);
        return { ...promotionView(d.promotion), version: d.version };
      },
    });
  }
}
