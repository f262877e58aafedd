// Shapes of the incidents API as the dashboard reads them: derived from the routes' response
// schemas (type-only imports, erased at build time), never copied.
import type { z } from 'zod';
import type { ApiClient } from '../../api.ts';
import type { CaseView, IncidentDetailView, IncidentView } from '../../../../src/server/routes/incidents-views.ts';
import type { ChecklistTemplateView, NotificationView, ReportView, TaskView } from '../../../../src/server/routes/incidents-work.ts';
import type { LinksView, PostmortemVersionView } from '../../../../src/server/routes/incidents-links.ts';

export type CaseItem = z.output<typeof CaseView>;
export type IncidentItem = z.output<typeof IncidentView>;
export type IncidentDetail = z.output<typeof IncidentDetailView>;
export type TaskItem = z.output<typeof TaskView>;
export type ChecklistTemplate = z.output<typeof ChecklistTemplateView>;
export type ReportItem = z.output<typeof ReportView>;

export type IncidentLinks = z.output<typeof LinksView>;
export type PostmortemVersion = z.output<typeof PostmortemVersionView>;
export type PostmortemDocument = PostmortemVersion & { markdown: string };

export async function loadLinks(api: ApiClient, id: number, signal?: AbortSignal): Promise<IncidentLinks> {
  return api.get(`/v1/incidents/${id}/links`, signal);
}

/** The versions of the postmortem, and the newest with its text. */
export async function loadPostmortem(
  api: ApiClient,
  id: number,
  signal?: AbortSignal,
): Promise<{ versions: PostmortemVersion[]; current: PostmortemDocument | null }> {
  const { versions } = await api.get<{ versions: PostmortemVersion[] }>(`/v1/incidents/${id}/postmortem/versions`, signal);
  const last = versions.at(-1);
  const current = last ? await api.get<PostmortemDocument>(`/v1/incidents/${id}/postmortem/versions/${last.version}`, signal) : null;
  return { versions, current };
}

export type OutboxItem = z.output<typeof NotificationView>;

export async function loadOutbox(api: ApiClient, signal?: AbortSignal): Promise<OutboxItem[]> {
  return (await api.get<{ notifications: OutboxItem[] }>('/v1/incidents/notifications?limit=50', signal)).notifications;
}

export async function loadReports(api: ApiClient, id: number, signal?: AbortSignal): Promise<ReportItem[]> {
  return (await api.get<{ reports: ReportItem[] }>(`/v1/incidents/${id}/reports`, signal)).reports;
}

export async function loadTasks(api: ApiClient, id: number, signal?: AbortSignal): Promise<TaskItem[]> {
  return (await api.get<{ tasks: TaskItem[] }>(`/v1/incidents/${id}/tasks`, signal)).tasks;
}

export async function loadChecklists(api: ApiClient, signal?: AbortSignal): Promise<ChecklistTemplate[]> {
  return (await api.get<{ checklists: ChecklistTemplate[] }>('/v1/incidents/checklists', signal)).checklists;
}

export async function loadIncidents(api: ApiClient, signal?: AbortSignal): Promise<{ incidents: IncidentItem[]; total: number }> {
  return api.get('/v1/incidents?limit=200', signal);
}

export async function loadCases(api: ApiClient, signal?: AbortSignal): Promise<CaseItem[]> {
  return (await api.get<{ cases: CaseItem[] }>('/v1/cases?limit=200', signal)).cases;
}

export async function loadIncident(api: ApiClient, id: number, signal?: AbortSignal): Promise<IncidentDetail> {
  return api.get(`/v1/incidents/${id}?limit=1000`, signal);
}

export const ROLE_TITLES: Record<string, string> = {
  commander: 'Incident commander',
  operations: 'Operations lead',
  communications: 'Communications lead',
  scribe: 'Scribe',
};

/** One line for a timeline entry: what happened, from its kind and data. */
export function describeEvent(kind: string, d: Record<string, unknown>): string {
  const s = (v: unknown) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
  switch (kind) {
    case 'case.opened':
      return `Case ${s(d.case)} opened by rule ${s(d.rule)} (${s(d.severity)})`;
    case 'case.grouped':
      return `Another ${d.resolved === true ? 'resolution' : 'item'} grouped into case ${s(d.case)}`;
    case 'case.acknowledged':
      return `Case acknowledged by ${s(d.by)}`;
    case 'case.assigned':
      return `Case assigned to ${s(d.assignee)}`;
    case 'case.escalated':
      return `Case ${s(d.case)} escalated into this incident`;
    case 'incident.declared':
      return `Declared: ${s(d.severity)}, ${s(d.priority)}${d.restricted === true ? ', restricted' : ''}`;
    case 'incident.status.changed':
      return `Status ${s(d.from)} → ${s(d.to)}${d.note ? `: ${s(d.note)}` : ''}`;
    case 'incident.severity.changed':
      return `Severity ${s(d.from)} → ${s(d.to)}${d.note ? `: ${s(d.note)}` : ''}`;
    case 'incident.role.assigned':
      return `${ROLE_TITLES[s(d.role)] ?? s(d.role)}: ${s(d.holder)}${d.previous ? ' (handoff)' : ''}`;
    case 'incident.participant.added':
      return `Participant added: ${s(d.participant)}`;
    case 'incident.note':
      return `${d.corrects !== null && d.corrects !== undefined ? `Correction of #${s(d.corrects)}: ` : ''}${s(d.text)}`;
    case 'incident.signal.pinned':
      return `Signal ${s(d.signal)} pinned`;
    case 'incident.evidence.added':
      return `Evidence ${s(d.name)} collected (${s(d.size)} bytes)`;
    case 'incident.evidence.accessed':
      return `Evidence ${s(d.sha256).slice(0, 12)}… read`;
    case 'incident.evidence.verified':
      return `Evidence verified: ${s(d.items)} items, ${Array.isArray(d.mismatches) ? d.mismatches.length : 0} mismatches`;
    case 'incident.postmortem.generated':
      return 'Postmortem generated';
    case 'incident.postmortem.saved':
      return `Postmortem version ${String(d.version)} saved (${String(d.source)})`;
    case 'incident.linked':
      return `Linked ${[...(Array.isArray(d.slos) ? d.slos.map((x) => `SLO ${String(x)}`) : []), ...(Array.isArray(d.techniques) ? d.techniques.map(String) : [])].join(', ')}`;
    case 'incident.exported':
      return `Exported (${String(d.format)})`;
    case 'incident.task.added':
      return `Task ${s(d.task)} added: ${s(d.title)}${d.owner ? ` (${s(d.owner)})` : ''}`;
    case 'incident.task.changed': {
      const c = (d.changes ?? {}) as Record<string, unknown>;
      return `Task ${s(d.task)}: ${Object.entries(c)
        .map(([k, v]) => `${k} → ${v === null ? 'none' : s(v)}`)
        .join(', ')}`;
    }
    case 'incident.report.drafted':
      return `Status report ${s(d.report)} drafted (${s(d.kind)})`;
    case 'incident.report.edited':
      return `Status report ${s(d.report)} edited (version ${s(d.version)})`;
    case 'incident.report.posted':
      return `Status report ${s(d.report)} posted (${s(d.kind)})`;
    case 'incident.checklist.added':
      return `Checklist ${s(d.checklist)} added (${Array.isArray(d.tasks) ? d.tasks.length : 0} tasks)`;
    default:
      return kind;
  }
}
