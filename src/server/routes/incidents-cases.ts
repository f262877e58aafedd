/** Cases over HTTP: list, show (with what they grouped), acknowledge, assign, close with a resolution, escalate into an incident. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../../app/deps.ts';
import { acknowledgeCase, assignCase, closeCase, escalateCase, getCase } from '../../app/incidents/cases.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import { CASE_STATES, PRIORITIES } from '../../core/incidents/model.ts';
import type { RouteRegistry } from '../route.ts';
import {
  CaseLinkView,
  CaseView,
  caseView,
  caseViewFor,
  hiddenIncidents,
  IncidentView,
  incidentView,
  linkView,
  numberId,
} from './incidents-views.ts';

const who = z.string().min(1).max(200);
export const declareFields = {
  severity: z.string().min(1).max(16).describe('a severity of the model (default SEV1–SEV4)'),
  priority: z.enum(PRIORITIES),
  restricted: z.boolean().optional().describe('visible only to participants and to incidents:restricted'),
  impactStartedAt: z.iso.datetime().optional().describe('when the impact began, if known (RFC 3339); at most 90 days before now'),
  slos: z.array(z.string().min(1).max(64)).max(50).optional().describe('SLOs the incident affected, by name'),
  techniques: z.array(z.string().min(1).max(16)).max(50).optional().describe('ATT&CK techniques seen in it (T1110, T1110.004)'),
};

export function caseRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  const params = z.strictObject({ id: numberId('case') });

  r.add(app, {
    method: 'GET',
    url: '/v1/cases',
    tag: 'incidents',
    summary: 'Cases, newest first',
    auth: { permission: 'incidents:read' },
    priority: 'low',
    query: z.strictObject({ state: z.enum(CASE_STATES).optional(), limit: z.coerce.number().int().min(1).max(1000).optional() }),
    response: z.object({ cases: z.array(CaseView) }),
    handler: async ({ query, principal }) => {
      const [cases, hidden] = await Promise.all([
        deps.store.incidents.listCases({ state: query.state, limit: query.limit ?? 100 }),
        hiddenIncidents(deps, principal),
      ]);
      return { cases: cases.map(caseViewFor(hidden)) };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/cases/:id',
    tag: 'incidents',
    summary: 'One case with the signals and runs it grouped',
    auth: { permission: 'incidents:read' },
    params,
    response: z.object({ case: CaseView, links: z.array(CaseLinkView) }),
    errors: [404],
    handler: async ({ params, principal }) => {
      const [c, hidden] = await Promise.all([getCase(deps, params.id), hiddenIncidents(deps, principal)]);
      return { case: caseViewFor(hidden)(c.case), links: c.links.map(linkView) };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/cases/:id/ack',
    tag: 'incidents',
    summary: 'Acknowledge a case (new → triage), recording who and when',
    auth: { permission: 'incidents:write' },
    params,
    response: CaseView,
    errors: [404, 409],
    handler: async ({ params, principal, req }) => caseView(await acknowledgeCase(deps, apiActor(principal, req.id), params.id)),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/cases/:id/assign',
    tag: 'incidents',
    summary: 'Assign a case (new → triage)',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({ assignee: who }),
    response: CaseView,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) =>
      caseView(await assignCase(deps, apiActor(principal, req.id), params.id, body.assignee)),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/cases/:id/close',
    tag: 'incidents',
    summary: 'Close a case with a resolution from the taxonomy',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({ resolution: z.string().min(1).max(64), note: z.string().max(20_000).optional() }),
    response: CaseView,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) =>
      caseView(await closeCase(deps, apiActor(principal, req.id), params.id, body.resolution, body.note ?? null)),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/cases/:id/escalate',
    tag: 'incidents',
    summary: 'Escalate a case into an incident (its timeline starts with the case’s)',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({ ...declareFields, title: z.string().min(1).max(300).optional() }),
    status: 201,
    response: z.object({ case: CaseView, incident: IncidentView }),
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) => {
      const r = await escalateCase(deps, apiActor(principal, req.id), params.id, body);
      return { case: caseView(r.case), incident: incidentView(r.incident) };
    },
  });
}
