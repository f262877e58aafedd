/** The response shapes of cases and incidents, shared by their routes and the dashboard's types. */
import { z } from 'zod';
import type { AppDeps } from '../../app/deps.ts';
import type { TimelineEvent } from '../../app/incidents/record.ts';
import { can, type Principal } from '../../core/access/permissions.ts';
import { CASE_STATES, INCIDENT_STATUSES, PRIORITIES, ROLES } from '../../core/incidents/model.ts';
import { SEE_RESTRICTED } from '../../core/incidents/permissions.ts';
import { SEVERITIES } from '../../core/signals/severity.ts';
import type { EntryRedactor } from './ledger.ts';
import type { CaseLink, CaseRecord, EvidenceItem, IncidentRecord, Viewer } from '../../store/incidents/port.ts';

export const numberId = (what: string) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1)
    .describe(`the ${what} number`);
const time = z.string().nullable();

export const CaseView = z.object({
  id: z.number().int(),
  title: z.string(),
  state: z.enum(CASE_STATES),
  severity: z.enum(SEVERITIES),
  rule: z.string(),
  groupKey: z.string().describe('the values of the rule’s groupBy fields, as JSON'),
  openedAt: z.string(),
  lastSeenAt: z.string(),
  items: z.number().int().describe('signals and runs it grouped'),
  assignee: z.string().nullable(),
  assignedAt: time,
  acknowledgedAt: time,
  acknowledgedBy: z.string().nullable(),
  closedAt: time,
  resolution: z.string().nullable(),
  incidentId: z.number().int().nullable(),
});

export const CaseLinkView = z.object({ kind: z.enum(['signal', 'run']), ref: z.string(), at: z.string(), resolved: z.boolean() });

export const IncidentView = z.object({
  id: z.number().int(),
  title: z.string(),
  severity: z.string(),
  priority: z.enum(PRIORITIES),
  status: z.enum(INCIDENT_STATUSES),
  restricted: z.boolean(),
  impactStartedAt: time,
  declaredAt: z.string(),
  declaredBy: z.string(),
  mitigatedAt: time,
  resolvedAt: time,
  closedAt: time,
  caseId: z.number().int().nullable(),
});

export const RoleView = z.object({ role: z.enum(ROLES), holder: z.string(), from: z.string(), to: time });

export const EvidenceView = z.object({
  sha256: z.string(),
  name: z.string(),
  mediaType: z.string(),
  size: z.number().int(),
  origin: z.string(),
  collectedBy: z.string(),
  collectedAt: z.string(),
});

export const TimelineView = z.object({
  seq: z.number().int().describe('the ledger entry (GET /v1/ledger/entries/{seq}/proof proves it)'),
  time: z.string(),
  kind: z.string(),
  actor: z.string(),
  data: z.record(z.string(), z.unknown()),
});

export const IncidentDetailView = z.object({
  incident: IncidentView,
  roles: z.array(RoleView),
  participants: z.array(z.string()),
  evidence: z.array(EvidenceView),
  timeline: z.array(TimelineView),
  next: z.number().int().nullable().describe('more timeline after this entry: pass it as ?after='),
});

export const caseView = (c: CaseRecord): z.output<typeof CaseView> => ({ ...c });
export const linkView = (l: CaseLink): z.output<typeof CaseLinkView> => ({ ...l });
export const incidentView = (i: IncidentRecord): z.output<typeof IncidentView> => ({ ...i });
export const evidenceView = (e: EvidenceItem): z.output<typeof EvidenceView> => ({
  sha256: e.sha256,
  name: e.name,
  mediaType: e.mediaType,
  size: e.size,
  origin: e.origin,
  collectedBy: e.collectedBy,
  collectedAt: e.collectedAt,
});
export const timelineView = (e: TimelineEvent): z.output<typeof TimelineView> => ({
  seq: e.seq,
  time: e.time,
  kind: e.kind,
  actor: e.actor,
  data: e.data,
});

/** The request's principal as a viewer of incidents. */
export const viewer = (p: Principal): Viewer => ({ id: p.id, seesRestricted: can(p, SEE_RESTRICTED) });

/** The ids of the restricted incidents the caller may not see, looked up once per request (none when it sees all). */
export async function hiddenIncidents(deps: AppDeps, p: Principal): Promise<ReadonlySet<number>> {
  const v = viewer(p);
  return new Set(v.seesRestricted ? [] : await deps.store.incidents.hiddenIncidents(v));
}

/**
 * The ledger entries of restricted incidents the caller may not see: those about `incident:ID`
 * and the escalation of a case into one. The ledger read routes withhold their actor and data.
 */
export const incidentRedactor = (deps: AppDeps): EntryRedactor => ({
  async forCaller(p) {
    const hidden = await hiddenIncidents(deps, p);
    if (hidden.size === 0) return undefined;
    return (e) => {
      const m = /^incident:(\d+)$/.exec(e.subject);
      if (m) return hidden.has(Number(m[1]));
      if (e.kind !== 'case.escalated' || typeof e.data !== 'object' || e.data === null) return false;
      const incident = (e.data as { incident?: unknown }).incident;
      return typeof incident === 'number' && hidden.has(incident);
    };
  },
});

/** A case as the caller may see it: the incident it escalated into only when the caller may see that incident. */
export const caseViewFor =
  (hidden: ReadonlySet<number>) =>
  (c: CaseRecord): z.output<typeof CaseView> =>
    c.incidentId !== null && hidden.has(c.incidentId) ? { ...c, incidentId: null } : { ...c };
