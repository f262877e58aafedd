/**
 * Incidents over HTTP, continued: links (the SLOs an incident affected, with the budget it spent,
 * and the experiments that cover its ATT&CK techniques), the postmortem as a versioned document
 * (a stale edit is 409; every version is kept and in the ledger), and the export of an incident
 * as one file (JSON or Markdown) with its check against the ledger.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../../app/deps.ts';
import { ExportFileSchema, exportIncident, exportMarkdown, verifyIncidentExport } from '../../app/incidents/export.ts';
import { incidentLinks, linkIncident } from '../../app/incidents/links.ts';
import { MAX_POSTMORTEM_LENGTH, postmortemVersions, savePostmortem } from '../../app/incidents/postmortem.ts';
import { notFound } from '../../core/errors.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import type { IncidentLinks } from '../../core/incidents/links.ts';
import type { PostmortemVersion } from '../../store/incidents/port.ts';
import type { RouteRegistry } from '../route.ts';
import { numberId, viewer } from './incidents-views.ts';

const time = z.string();
const RunView = z.object({ id: z.string(), outcome: z.string(), endedAt: time });

export const LinksView = z.object({
  window: z
    .object({ from: time, to: time, ongoing: z.boolean() })
    .describe('impact start (or declaration) → mitigated (or resolved, or now)'),
  slos: z.array(
    z.object({
      slo: z.string(),
      state: z.enum(['evaluated', 'unknown', 'not-read', 'missing']),
      from: time,
      to: time,
      consumed: z.number().nullable().describe('share of the budget of the period holding `to` spent over the window (1 = all of it)'),
      bad: z.number().nullable(),
      events: z.number().nullable(),
      period: z.object({ start: time, end: time }).nullable(),
      note: z.string().nullable(),
    }),
  ),
  techniques: z.array(z.string()),
  experiments: z.array(
    z.object({
      experiment: z.string(),
      title: z.string(),
      techniques: z.array(z.string()),
      lastBefore: RunView.nullable().describe('the last run that ended before the impact began'),
      latest: RunView.nullable(),
      predicted: z.boolean().nullable().describe('the last run before the impact missed or detected late; null without one'),
    }),
  ),
});

export const PostmortemVersionView = z.object({
  version: z.number().int(),
  source: z.enum(['generated', 'edited']),
  sha256: z.string(),
  size: z.number().int(),
  at: time,
  by: z.string(),
});

const PostmortemDocumentView = PostmortemVersionView.extend({ markdown: z.string() });

const ExportEntryView = z.object({
  seq: z.number().int(),
  time,
  kind: z.string(),
  subject: z.string(),
  actor: z.string(),
  data: z.unknown(),
  leafHash: z.string(),
});

export const IncidentExportView = z.object({
  format: z.literal('bulwark-incident-export/1'),
  exportedAt: time,
  ledger: z.object({ size: z.number().int(), rootHash: z.string() }),
  incident: z.record(z.string(), z.unknown()),
  case: z.record(z.string(), z.unknown()).nullable(),
  roles: z.array(z.object({ role: z.string(), title: z.string(), holder: z.string(), from: time, to: time.nullable() })),
  participants: z.array(z.string()),
  links: LinksView,
  timeline: z.array(ExportEntryView),
  evidence: z.array(
    z.object({
      sha256: z.string(),
      name: z.string(),
      mediaType: z.string(),
      size: z.number().int(),
      origin: z.string(),
      collectedBy: z.string(),
      collectedAt: time,
      custody: z.array(z.object({ seq: z.number().int(), time, kind: z.string(), actor: z.string() })),
    }),
  ),
  tasks: z.array(z.record(z.string(), z.unknown())),
  reports: z.array(
    z.object({
      report: z.number().int(),
      version: z.number().int(),
      kind: z.string(),
      state: z.string(),
      at: time,
      by: z.string(),
      nextUpdateAt: time.nullable(),
      body: z.string(),
    }),
  ),
  postmortem: z.array(
    z.object({ version: z.number().int(), source: z.string(), at: time, by: z.string(), sha256: z.string(), body: z.string() }),
  ),
});

const versionView = (v: PostmortemVersion): z.output<typeof PostmortemVersionView> => ({
  version: v.version,
  source: v.source,
  sha256: v.sha256,
  size: Buffer.byteLength(v.body, 'utf8'),
  at: v.at,
  by: v.by,
});

const linksView = (l: IncidentLinks): z.output<typeof LinksView> => l;

export function incidentLinkRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  const params = z.strictObject({ id: numberId('incident') });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/:id/links',
    tag: 'incidents',
    summary: 'The SLOs the incident affected with the error budget it spent, its techniques and the experiments that cover them',
    auth: { permission: 'incidents:read' },
    priority: 'low',
    params,
    response: LinksView,
    errors: [404],
    handler: async ({ params, principal }) => linksView(await incidentLinks(deps, viewer(principal), params.id)),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/links',
    tag: 'incidents',
    summary: 'Link SLOs the incident affected and ATT&CK techniques seen in it (a ledger entry)',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({
      slos: z.array(z.string().min(1).max(64)).max(50).optional().describe('SLO names; each must exist'),
      techniques: z.array(z.string().min(1).max(16)).max(50).optional().describe('T1110 or T1110.004'),
    }),
    response: LinksView,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) =>
      linksView(await linkIncident(deps, apiActor(principal, req.id), viewer(principal), params.id, body)),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/:id/postmortem/versions',
    tag: 'incidents',
    summary: 'The versions of the postmortem document, oldest first',
    auth: { permission: 'incidents:read' },
    params,
    response: z.object({ versions: z.array(PostmortemVersionView) }),
    errors: [404],
    handler: async ({ params, principal }) => ({
      versions: (await postmortemVersions(deps, viewer(principal), params.id)).map(versionView),
    }),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/:id/postmortem/versions/:version',
    tag: 'incidents',
    summary: 'One version of the postmortem document, with its Markdown',
    auth: { permission: 'incidents:read' },
    params: z.strictObject({ id: numberId('incident'), version: numberId('version') }),
    response: PostmortemDocumentView,
    errors: [404],
    handler: async ({ params, principal }) => {
      const v = (await postmortemVersions(deps, viewer(principal), params.id)).find((x) => x.version === params.version);
      if (!v) throw notFound(`incident ${params.id}'s postmortem has no version ${params.version}; GET …/postmortem/versions lists them`);
      return { ...versionView(v), markdown: v.body };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/:id/postmortem/versions',
    tag: 'incidents',
    summary:
      'Save a version of the postmortem: an edit of the newest (baseVersion), or generated from the record (no markdown); stale: 409',
    auth: { permission: 'incidents:write' },
    params,
    body: z.strictObject({
      baseVersion: z.number().int().min(0).max(1_000_000).describe('the newest version the edit starts from; 0 before the first'),
      markdown: z.string().max(MAX_POSTMORTEM_LENGTH).optional().describe('the edited text; leave it out to generate from the record'),
    }),
    status: 201,
    response: PostmortemDocumentView,
    errors: [404, 409],
    handler: async ({ params, body, principal, req }) => {
      const v = await savePostmortem(deps, apiActor(principal, req.id), viewer(principal), params.id, body);
      return { ...versionView(v), markdown: v.body };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/:id/export',
    tag: 'incidents',
    summary:
      'The incident as one JSON file: timeline with leaf hashes, evidence digests with custody, roles, reports, postmortem (recorded)',
    auth: { permission: 'incidents:read' },
    priority: 'low',
    params,
    response: IncidentExportView,
    errors: [404],
    handler: async ({ params, principal, req }) => exportIncident(deps, apiActor(principal, req.id), viewer(principal), params.id, 'json'),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/incidents/:id/export/markdown',
    tag: 'incidents',
    summary: 'The incident as one Markdown file (the same content as the JSON export, for people; recorded)',
    auth: { permission: 'incidents:read' },
    priority: 'low',
    params,
    produces: 'text/markdown',
    errors: [404],
    handler: async ({ params, principal, req, reply }) => {
      const x = await exportIncident(deps, apiActor(principal, req.id), viewer(principal), params.id, 'markdown');
      return reply
        .header('content-type', 'text/markdown; charset=utf-8')
        .header('content-disposition', `attachment; filename="incident-${params.id}.md"`)
        .send(exportMarkdown(x));
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/incidents/exports/verify',
    tag: 'incidents',
    summary:
      'Check an incident export (JSON) against the ledger and the record: every entry (none missing, each about the incident), texts and digests, the sections rebuilt from the record',
    auth: { permission: 'incidents:read' },
    priority: 'low',
    body: ExportFileSchema,
    response: z.object({
      ok: z.boolean(),
      incident: z.number().int().nullable(),
      entries: z.number().int(),
      problems: z.array(z.string()),
      checked: z.array(z.string()).describe('what was compared with the ledger and the record'),
      notChecked: z.array(z.string()).describe('what the file holds that the check does not vouch for, and why'),
    }),
    errors: [404],
    handler: async ({ body, principal }) => verifyIncidentExport(deps, viewer(principal), body),
  });
}
