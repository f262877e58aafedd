/**
 * The work of an incident over HTTP: tasks (owner, due time, status), recovery checklists made
 * of tasks from the settings' templates, and status reports (drafted from a template, edited,
 * posted, every version kept), and tabletop exercises (an incident in exercise mode, from a
 * scenario file). A restricted incident's tasks answer 404 to those
 * who may not see it, like the incident. Every change is a ledger entry on its timeline.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../../app/deps.ts';
import { currentSettings } from '../../app/incidents/record.ts';
import { advanceExercise, answerQuestion, endExercise, exerciseReport, startExercise } from '../../app/incidents/exercises.ts';
import { visibleIncident } from '../../app/incidents/record.ts';
import { draftReport, editReport, listReports, postReport, reportHistory } from '../../app/incidents/reports.ts';
import { addChecklist, addTask, changeTask, listTasks } from '../../app/incidents/tasks.ts';
import { REPORT_KINDS, REPORT_STATES } from '../../core/incidents/status-report.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import { ROLES } from '../../core/incidents/model.ts';
import { TASK_STATUSES } from '../../core/incidents/tasks.ts';
import type { ReportVersion, TaskRecord } from '../../store/incidents/port.ts';
import type { RouteRegistry } from '../route.ts';
import { hiddenIncidents, IncidentView, incidentView, numberId, viewer } from './incidents-views.ts';

export const TaskView = z.object({
  incidentId: z.number().int(),
  id: z.number().int().describe('numbered within the incident'),
  title: z.string(),
  owner: z.string().nullable(),
  dueAt: z.string().nullable(),
  status: z.enum(TASK_STATUSES),
  checklist: z.string().nullable().describe('the checklist template it came from'),
  createdAt: z.string(),
  createdBy: z.string(),
  updatedAt: z.string(),
  doneAt: z.string().nullable(),
});

export const ChecklistTemplateView = z.object({
  name: z.string(),
  title: z.string(),
  items: z.array(z.object({ title: z.string(), owner: z.enum(ROLES).nullable(), due: z.string().nullable() })),
});

export const ReportView = z.object({
  incidentId: z.number().int(),
  report: z.number().int().describe('numbered within the incident'),
  version: z.number().int().describe('every edit, and the posting, is a new version'),
  kind: z.enum(REPORT_KINDS),
  state: z.enum(REPORT_STATES),
  body: z.string().describe('Markdown'),
  nextUpdateAt: z.string().nullable(),
  at: z.string(),
  by: z.string(),
});

export const reportView = (v: ReportVersion): z.output<typeof ReportView> => ({ ...v });

export const taskView = (t: TaskRecord): z.output<typeof TaskView> => ({ ...t });

const MAX_SCENARIO_LENGTH = 256 * 1024;
const time = z.string().min(1).max(64).describe('RFC 3339');

/** A notification of the webhook outbox, without its body. */
export const NotificationView = z.object({
  id: z.number().int(),
  webhook: z.string(),
  event: z.string(),
  incidentId: z.number().int(),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  createdAt: z.string(),
  nextAttemptAt: z.string(),
  deliveredAt: z.string().nullable(),
  lastError: z.string().nullable(),
});

export function incidentWorkRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  const params = z.strictObject({ id: numberId('incident') });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/checklists',
    tag: 'incidents',
    summary: 'The recovery checklist templates in force (from the settings file, or the shipped three)',
    auth: { permission: 'incidents:read' },
    response: z.object({ checklists: z.array(ChecklistTemplateView) }),
    handler: async () => ({
      checklists: (await currentSettings(deps)).checklists.map((c) => ({
        name: c.name,
        title: c.title,
        items: c.items.map((i) => ({ title: i.title, owner: i.owner, due: i.due })),
      })),
    }),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/:id/tasks',
    tag: 'incidents',
    summary: "An incident's tasks, by number",
    auth: { permission: 'incidents:read' },
    params,
    query: z.strictObject({ status: z.enum(TASK_STATUSES).optional() }),
    response: z.object({ tasks: z.array(TaskView) }),
    errors: [404],
    handler: async ({ params, query, principal }) => ({
      tasks: (await listTasks(deps, viewer(principal), params.id, query)).map(taskView),
    }),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/tasks',
    tag: 'incidents',
    summary: 'Add a task (open), with an owner and a due time',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({
      title: z.string().min(1).max(500),
      owner: z.string().min(1).max(200).nullable().optional(),
      dueAt: time.nullable().optional(),
    }),
    status: 201,
    response: TaskView,
    errors: [404],
    handler: async ({ params, body, principal, req }) =>
      taskView(await addTask(deps, apiActor(principal, req.id), viewer(principal), params.id, body)),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/tasks/:task',
    tag: 'incidents',
    summary: 'Change a task: status (open, done, cancelled), owner, due time or title; only what changes is recorded',
    auth: { permission: 'incidents:write' },
    params: z.strictObject({ id: numberId('incident'), task: numberId('task') }),
    body: z.strictObject({
      title: z.string().min(1).max(500).optional(),
      owner: z.string().min(1).max(200).nullable().optional(),
      dueAt: time.nullable().optional(),
      status: z.enum(TASK_STATUSES).optional(),
    }),
    response: TaskView,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) =>
      taskView(await changeTask(deps, apiActor(principal, req.id), viewer(principal), params.id, params.task, body)),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/checklists',
    tag: 'incidents',
    summary: 'Add a recovery checklist from a template: one task per item, owned by the holder of its role',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({ template: z.string().min(1).max(64) }),
    status: 201,
    response: z.object({ tasks: z.array(TaskView) }),
    errors: [404],
    handler: async ({ params, body, principal, req }) => ({
      tasks: (await addChecklist(deps, apiActor(principal, req.id), viewer(principal), params.id, body.template)).map(taskView),
    }),
  });

  const reportParams = z.strictObject({ id: numberId('incident'), report: numberId('status report') });
  const expectVersion = z.number().int().min(1).optional().describe('the version the edit starts from: a stale one is a 409');

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/:id/reports',
    tag: 'incidents',
    summary: "An incident's status reports, each as its newest version, newest report first",
    auth: { permission: 'incidents:read' },
    params,
    response: z.object({ reports: z.array(ReportView) }),
    errors: [404],
    handler: async ({ params, principal }) => ({ reports: (await listReports(deps, viewer(principal), params.id)).map(reportView) }),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/reports',
    tag: 'incidents',
    summary: 'Draft a status report (tactical or executive) from its template, filled from the record',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({
      kind: z.enum(REPORT_KINDS),
      nextUpdateIn: z
        .string()
        .min(1)
        .max(40)
        .optional()
        .describe('30m, 2h, 1d (at most 30d) or none; default 1h (tactical), 4h (executive)'),
    }),
    status: 201,
    response: ReportView,
    errors: [404],
    handler: async ({ params, body, principal, req }) =>
      reportView(await draftReport(deps, apiActor(principal, req.id), viewer(principal), params.id, body)),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/:id/reports/:report',
    tag: 'incidents',
    summary: 'Every version of a status report, oldest first',
    auth: { permission: 'incidents:read' },
    params: reportParams,
    response: z.object({ versions: z.array(ReportView) }),
    errors: [404],
    handler: async ({ params, principal }) => ({
      versions: (await reportHistory(deps, viewer(principal), params.id, params.report)).map(reportView),
    }),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/reports/:report',
    tag: 'incidents',
    summary: 'Edit a draft status report: a new version with this text (409 once posted)',
    auth: { permission: 'incidents:write' },
    params: reportParams,
    body: z.strictObject({ body: z.string().min(1).max(20_000), expectVersion }),
    response: ReportView,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) =>
      reportView(await editReport(deps, apiActor(principal, req.id), viewer(principal), params.id, params.report, body)),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/reports/:report/post',
    tag: 'incidents',
    summary: 'Post a draft status report as it stands; it no longer changes',
    auth: { permission: 'incidents:write' },
    params: reportParams,
    body: z.strictObject({ expectVersion }),
    response: ReportView,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) =>
      reportView(await postReport(deps, apiActor(principal, req.id), viewer(principal), params.id, params.report, body)),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/exercises',
    tag: 'incidents',
    summary: 'Start a tabletop exercise from a scenario file: an incident in exercise mode, kept out of production KPIs',
    auth: { permission: 'incidents:write' },
    body: z.strictObject({ file: z.string().min(1).max(MAX_SCENARIO_LENGTH) }),
    status: 201,
    response: z.object({ incident: IncidentView, injects: z.number().int().describe('injects given at the start') }),
    handler: async ({ body, principal, req }) => {
      const r = await startExercise(deps, apiActor(principal, req.id), body.file);
      return { incident: incidentView(r.incident), injects: r.injects };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/exercise/advance',
    tag: 'incidents',
    summary: "Give the exercise's injects whose offset has passed (bulwark serve does it every few seconds)",
    auth: { permission: 'incidents:write' },
    params,
    response: z.object({ given: z.number().int() }),
    errors: [404],
    handler: async ({ params, principal }) => {
      await visibleIncident(deps.store, params.id, viewer(principal));
      return { given: await advanceExercise(deps, params.id) };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/exercise/answers',
    tag: 'incidents',
    summary: "Record the team's answer to one of the scenario's questions",
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({ question: z.string().min(1).max(32), text: z.string().min(1).max(20_000) }),
    status: 201,
    response: z.object({ question: z.string() }),
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) => {
      await answerQuestion(deps, apiActor(principal, req.id), viewer(principal), params.id, body.question, body.text);
      return { question: body.question };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/:id/exercise/report',
    tag: 'incidents',
    summary: "The exercise's report (Markdown) as it stands",
    auth: { permission: 'incidents:read' },
    params,
    response: z.object({ markdown: z.string() }),
    errors: [404],
    handler: async ({ params, principal }) => ({ markdown: await exerciseReport(deps, viewer(principal), params.id) }),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/exercise/end',
    tag: 'incidents',
    summary: 'End the exercise: no more injects; the report is generated and its digest recorded',
    auth: { permission: 'incidents:write' },
    params,
    response: z.object({ markdown: z.string(), sha256: z.string() }),
    errors: [404, 409],
    handler: async ({ params, principal, req }) => endExercise(deps, apiActor(principal, req.id), viewer(principal), params.id),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/notifications',
    tag: 'incidents',
    summary: 'The webhook outbox, newest first: pending, delivered and given-up notifications with their attempts and last error',
    auth: { permission: 'incidents:read' },
    query: z.strictObject({
      incident: numberId('incident').optional(),
      limit: z.coerce.number().int().min(1).max(1000).optional(),
    }),
    response: z.object({ notifications: z.array(NotificationView) }),
    handler: async ({ query, principal }) => {
      const hidden = await hiddenIncidents(deps, principal);
      const items = await deps.store.incidents.notifications({ incidentId: query.incident, limit: query.limit ?? 100 });
      return {
        notifications: items.filter((n) => !hidden.has(n.incidentId)).map(({ body: _body, ...n }) => n),
      };
    },
  });
}
