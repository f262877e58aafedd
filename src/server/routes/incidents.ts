/**
 * Incidents over HTTP: settings, declare, list and show (restricted ones answer 404 to those who
 * may not see them, and are left out of lists and counts), status, command roles, participants,
 * notes, pinned signals, evidence (added and read, never changed or deleted: no route does) and
 * its verification, the postmortem. Every change is a ledger entry on the incident's timeline.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../../app/deps.ts';
import { addEvidence, MAX_EVIDENCE_BYTES, pinSignal, readEvidence, verifyEvidence } from '../../app/incidents/evidence.ts';
import {
  addNote,
  addParticipant,
  assignIncidentRole,
  declareIncident,
  incidentDetail,
  setIncidentSeverity,
  setIncidentStatus,
} from '../../app/incidents/incidents.ts';
import { generatePostmortem } from '../../app/incidents/postmortem.ts';
import { currentSettings } from '../../app/incidents/record.ts';
import { applyIncidentSettings } from '../../app/incidents/settings.ts';
import { invalid } from '../../core/errors.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import { INCIDENT_STATUSES, ROLES } from '../../core/incidents/model.ts';
import { MAX_SETTINGS_LENGTH } from '../../core/incidents/settings.ts';
import type { RouteRegistry } from '../route.ts';
import { declareFields } from './incidents-cases.ts';
import {
  EvidenceView,
  evidenceView,
  IncidentDetailView,
  IncidentView,
  incidentView,
  numberId,
  timelineView,
  viewer,
} from './incidents-views.ts';

const SettingsView = z.object({
  version: z.number().int().nullable().describe('null while the defaults apply'),
  file: z.string().nullable(),
  severities: z.array(z.object({ name: z.string(), means: z.string() })),
  resolutions: z.array(z.string()),
  rules: z.array(
    z.object({ name: z.string(), on: z.enum(['signal', 'run']), match: z.string(), groupBy: z.array(z.string()), window: z.string() }),
  ),
});

export function incidentRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  const params = z.strictObject({ id: numberId('incident') });
  const settingsView = async (): Promise<z.output<typeof SettingsView>> => {
    const stored = await deps.store.incidents.getSettings();
    const s = await currentSettings(deps);
    return {
      version: stored?.version ?? null,
      file: stored?.file ?? null,
      severities: s.severities,
      resolutions: s.resolutions,
      rules: s.rules.map((x) => ({ name: x.name, on: x.on, match: x.program.source, groupBy: x.groupBy, window: x.window })),
    };
  };

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/settings',
    tag: 'incidents',
    summary: 'The severity model, the resolution taxonomy and the triage rules in force',
    auth: { permission: 'incidents:read' },
    response: SettingsView,
    handler: settingsView,
  });

  r.add(app, {
    method: 'PUT',
    url: '/v1/incidents/settings',
    tag: 'incidents',
    summary: 'Apply an incidents settings file (YAML or JSON): severities, resolutions, triage rules',
    auth: { permission: 'incidents:write' },
    body: z.strictObject({ file: z.string().min(1).max(MAX_SETTINGS_LENGTH) }),
    response: SettingsView,
    handler: async ({ body, principal, req }) => {
      await applyIncidentSettings(deps, apiActor(principal, req.id), body.file);
      return settingsView();
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents',
    tag: 'incidents',
    summary: 'Declare an incident; the declarer becomes a participant',
    auth: { permission: 'incidents:write' },
    body: z.strictObject({ ...declareFields, title: z.string().min(1).max(300) }),
    status: 201,
    response: IncidentView,
    handler: async ({ body, principal, req }) => incidentView(await declareIncident(deps, apiActor(principal, req.id), body)),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents',
    tag: 'incidents',
    summary: 'Incidents the caller may see, newest first, with their count',
    auth: { permission: 'incidents:read' },
    priority: 'low',
    query: z.strictObject({ status: z.enum(INCIDENT_STATUSES).optional(), limit: z.coerce.number().int().min(1).max(1000).optional() }),
    response: z.object({ incidents: z.array(IncidentView), total: z.number().int() }),
    handler: async ({ query, principal }) => {
      const r = await deps.store.incidents.listIncidents({ viewer: viewer(principal), status: query.status, limit: query.limit ?? 100 });
      return { incidents: r.incidents.map(incidentView), total: r.total };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/:id',
    tag: 'incidents',
    summary: 'An incident with its roles, participants, evidence and timeline (ledger entries, a page at a time)',
    auth: { permission: 'incidents:read' },
    params,
    query: z.strictObject({ after: z.coerce.number().int().min(0).optional(), limit: z.coerce.number().int().min(1).max(1000).optional() }),
    response: IncidentDetailView,
    errors: [404],
    handler: async ({ params, query, principal }) => {
      const d = await incidentDetail(deps, viewer(principal), params.id, query);
      return { ...d, incident: incidentView(d.incident), evidence: d.evidence.map(evidenceView), timeline: d.timeline.map(timelineView) };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/status',
    tag: 'incidents',
    summary: 'Change the status: active → mitigated → resolved → closed (or active again)',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({ status: z.enum(INCIDENT_STATUSES), note: z.string().max(20_000).optional() }),
    response: IncidentView,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) =>
      incidentView(
        await setIncidentStatus(deps, apiActor(principal, req.id), viewer(principal), params.id, body.status, body.note ?? null),
      ),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/severity',
    tag: 'incidents',
    summary: 'Change the severity, to one of the severity model (webhooks are told)',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({ severity: z.string().min(1).max(16), note: z.string().max(20_000).optional() }),
    response: IncidentView,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) =>
      incidentView(
        await setIncidentSeverity(deps, apiActor(principal, req.id), viewer(principal), params.id, body.severity, body.note ?? null),
      ),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/roles',
    tag: 'incidents',
    summary: 'Assign a command role; to someone else while held, a handoff at this instant',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({ role: z.enum(ROLES), holder: z.string().min(1).max(200).describe('a principal id or name') }),
    response: IncidentView,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) =>
      incidentView(await assignIncidentRole(deps, apiActor(principal, req.id), viewer(principal), params.id, body.role, body.holder)),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/participants',
    tag: 'incidents',
    summary: 'Add a participant (who then sees a restricted incident)',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({ participant: z.string().min(1).max(200).describe('a principal id') }),
    response: IncidentView,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) =>
      incidentView(await addParticipant(deps, apiActor(principal, req.id), viewer(principal), params.id, body.participant)),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/notes',
    tag: 'incidents',
    summary: 'A note on the timeline; `corrects` names the entry a correction is for (nothing is edited)',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({ text: z.string().min(1).max(20_000), corrects: z.number().int().min(0).optional() }),
    status: 201,
    response: IncidentView,
    errors: [404],
    handler: async ({ params, body, principal, req }) =>
      incidentView(await addNote(deps, apiActor(principal, req.id), viewer(principal), params.id, body.text, body.corrects ?? null)),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/pins',
    tag: 'incidents',
    summary: 'Pin a signal: on the timeline, its raw payload kept as evidence',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({ signal: z.string().min(1).max(200) }),
    status: 201,
    response: EvidenceView,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) =>
      evidenceView(await pinSignal(deps, apiActor(principal, req.id), viewer(principal), params.id, body.signal)),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/evidence',
    tag: 'incidents',
    summary: `Add evidence (text, or base64 bytes; at most ${MAX_EVIDENCE_BYTES} bytes): stored by SHA-256, never changed`,
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({
      name: z.string().min(1).max(300),
      mediaType: z.string().min(1).max(200).optional(),
      origin: z.string().min(1).max(1000).describe('where it was collected: host and path, URL, `upload`'),
      text: z.string().optional(),
      base64: z.string().optional(),
    }),
    status: 201,
    response: EvidenceView,
    errors: [404, 409, 413],
    handler: async ({ params, body, principal, req }) => {
      if ((body.text === undefined) === (body.base64 === undefined)) throw invalid('send the content as exactly one of text or base64');
      if (body.base64 !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(body.base64))
        throw invalid('base64 is not base64 (A–Z, a–z, 0–9, +, /, = padding)');
      const bytes = body.text !== undefined ? Buffer.from(body.text, 'utf8') : Buffer.from(body.base64!, 'base64');
      const mediaType = body.mediaType ?? (body.text !== undefined ? 'text/plain; charset=utf-8' : 'application/octet-stream');
      return evidenceView(
        await addEvidence(deps, apiActor(principal, req.id), viewer(principal), params.id, {
          name: body.name,
          mediaType,
          bytes,
          origin: body.origin,
        }),
      );
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/:id/evidence/:sha256',
    tag: 'incidents',
    summary: 'The content of an item of evidence, as collected; the read is recorded in the ledger (custody)',
    auth: { permission: 'incidents:read' },
    params: z.strictObject({
      id: numberId('incident'),
      sha256: z
        .string()
        .length(64)
        .regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex'),
    }),
    produces: 'application/octet-stream',
    errors: [404],
    handler: async ({ params, principal, req, reply }) => {
      const b = await readEvidence(deps, apiActor(principal, req.id), viewer(principal), params.id, params.sha256);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('x-content-type-options', 'nosniff')
        .header('content-disposition', `attachment; filename="${b.name.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
        .header('x-evidence-media-type', b.mediaType.replace(/[^\x20-\x7e]/g, ''))
        .send(b.bytes);
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/evidence/verify',
    tag: 'incidents',
    summary: 'Rehash every item of evidence: content against its digest and the ledger',
    auth: { permission: 'incidents:read' },
    params,
    response: z.object({
      ok: z.boolean(),
      items: z.array(z.object({ sha256: z.string(), name: z.string(), ok: z.boolean(), problem: z.string().nullable() })),
    }),
    errors: [404],
    handler: async ({ params, principal, req }) => verifyEvidence(deps, apiActor(principal, req.id), viewer(principal), params.id),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/postmortem',
    tag: 'incidents',
    summary: 'Generate the postmortem (Markdown) from the record; blameless: roles, not names',
    auth: { permission: 'incidents:read' },
    params,
    response: z.object({ markdown: z.string(), sha256: z.string() }),
    errors: [404],
    handler: async ({ params, principal, req }) => generatePostmortem(deps, apiActor(principal, req.id), viewer(principal), params.id),
  });
}
