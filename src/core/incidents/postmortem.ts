/**
 * The postmortem, generated as Markdown from the record: summary, impact, timeline, detection
 * and the times to detect, acknowledge, mitigate and resolve, and action items (the open tasks,
 * with the owner the author gave them, and notes that start with `action:`). Blameless by
 * construction: whoever acted is named by the command role they held at that moment ("Incident
 * commander"), or "a responder"; only the text people wrote (notes) is quoted as written. Pure:
 * the same record gives the same bytes (a golden-file test holds to it).
 */
import { budgetLines, coverageLines, type IncidentLinks } from './links.ts';
import { ROLE_TITLES, type IncidentStatus, type Priority, type RoleInterval } from './model.ts';
import { repairOf, type RecoveryTaskState } from './repair.ts';

export interface PostmortemIncident {
  id: number;
  title: string;
  severity: string;
  severityMeans: string | null;
  priority: Priority;
  status: IncidentStatus;
  restricted: boolean;
  impactStartedAt: string | null;
  declaredAt: string;
  mitigatedAt: string | null;
  resolvedAt: string | null;
  closedAt: string | null;
}

/** A timeline entry: a ledger entry of the incident (or of the case it came from). */
export interface PostmortemEvent {
  seq: number;
  time: string;
  kind: string;
  /** The id of who acted (a principal, a CLI user, a system part): matched against role holders. */
  actor: string;
  data: Record<string, unknown>;
}

export interface PostmortemInput {
  incident: PostmortemIncident;
  roles: readonly RoleInterval[];
  /** Role holders are given by the short labels of the actors that hold them. */
  events: readonly PostmortemEvent[];
  case: { id: number; title: string; openedAt: string; acknowledgedAt: string | null; items: number } | null;
  evidence: readonly { sha256: string; name: string; size: number; collectedAt: string }[];
  /** The incident's open tasks: the action items, with their owners and due times. */
  openTasks?: readonly { id: number; title: string; owner: string | null; dueAt: string | null; checklist: string | null }[];
  /** The tasks from recovery checklists: when the last was done is when the incident was repaired. */
  recovery?: readonly RecoveryTaskState[];
  /** The SLOs it affected with the budget spent, the experiments that exercise its techniques. */
  links?: IncidentLinks;
}

/** `1h 2m 3s`; `0s` for zero; negative durations (a clock mistake in the record) as `-…`. */
export function formatSpan(ms: number): string {
  if (ms < 0) return `-${formatSpan(-ms)}`;
  const s = Math.round(ms / 1000);
  const parts: string[] = [];
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (sec || parts.length === 0) parts.push(`${sec}s`);
  return parts.join(' ');
}

const span = (from: string | null | undefined, to: string | null | undefined) =>
  from && to ? formatSpan(Date.parse(to) - Date.parse(from)) : 'not recorded';

/** The role `actor` held at `time`, by title; "a responder" when none. */
function roleAt(roles: readonly RoleInterval[], actor: string, time: string): string {
  const t = Date.parse(time);
  const r = roles.find((i) => i.holder === actor && Date.parse(i.from) <= t && (i.to === null || t < Date.parse(i.to)));
  return r ? ROLE_TITLES[r.role] : 'a responder';
}

const roleTitle = (role: unknown) =>
  typeof role === 'string' && role in ROLE_TITLES ? ROLE_TITLES[role as keyof typeof ROLE_TITLES] : String(role);
const oneLine = (s: unknown) => String(s).replace(/\s+/g, ' ').trim();
const hhmm = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;

function describe(e: PostmortemEvent, who: string): string | undefined {
  const d = e.data;
  switch (e.kind) {
    case 'case.opened':
      return `Case ${String(d.case)} opened by rule \`${String(d.rule)}\` from a ${d.from && typeof d.from === 'object' ? String((d.from as { kind: unknown }).kind) : 'signal'} (severity ${String(d.severity)}).`;
    case 'case.grouped':
      return undefined; // counted in the detection section, not listed one by one
    case 'case.acknowledged':
      return `Case acknowledged by ${who}.`;
    case 'case.assigned':
      return `Case assigned.`;
    case 'case.escalated':
      return `Case escalated into this incident.`;
    case 'incident.declared':
      return `Incident declared by ${who}: ${String(d.severity)}, ${String(d.priority)}${d.restricted === true ? ', restricted' : ''}.`;
    case 'incident.status.changed':
      return `Status ${String(d.from)} → ${String(d.to)} (${who})${d.note ? `: ${oneLine(d.note)}` : '.'}`;
    case 'incident.severity.changed':
      return `Severity ${String(d.from)} → ${String(d.to)} (${who})${d.note ? `: ${oneLine(d.note)}` : '.'}`;
    case 'incident.role.assigned':
      return d.previous ? `${roleTitle(d.role)} handed off.` : `${roleTitle(d.role)} assigned.`;
    case 'incident.participant.added':
      return undefined;
    case 'incident.linked': {
      const list = (v: unknown) => (Array.isArray(v) ? v.map((x) => `\`${String(x)}\``).join(', ') : '');
      const parts = [
        Array.isArray(d.slos) && d.slos.length ? `SLO ${list(d.slos)}` : '',
        Array.isArray(d.techniques) && d.techniques.length ? `technique ${list(d.techniques)}` : '',
      ].filter(Boolean);
      return `Linked: ${parts.join('; ')}.`;
    }
    case 'incident.postmortem.saved':
      return undefined;
    case 'incident.note':
      return `Note (${who})${d.corrects !== null && d.corrects !== undefined ? `, correcting entry ${Number(d.corrects)}` : ''}: ${oneLine(d.text)}`;
    case 'incident.signal.pinned':
      return `Signal \`${String(d.signal)}\` pinned as evidence (${String(d.evidence).slice(0, 12)}…).`;
    case 'incident.evidence.added':
      return `Evidence \`${oneLine(d.name)}\` collected (${String(d.size)} bytes, ${String(d.sha256).slice(0, 12)}…).`;
    case 'incident.task.added':
      return d.checklist ? undefined : `Task ${Number(d.task)} added: ${oneLine(d.title)}`;
    case 'incident.checklist.added':
      return `Checklist \`${String(d.checklist)}\` added (${Array.isArray(d.tasks) ? d.tasks.length : 0} tasks).`;
    case 'incident.task.changed': {
      const c = (d.changes ?? {}) as { status?: string };
      return c.status ? `Task ${Number(d.task)} ${c.status === 'open' ? 'reopened' : String(c.status)} (${who}).` : undefined;
    }
    default:
      return undefined;
  }
}

/** Action items: notes that start with `action:` (the rest of the note is the item). */
function actionItems(events: readonly PostmortemEvent[]): string[] {
  return events
    .filter((e) => e.kind === 'incident.note' && /^\s*action:/i.test(String(e.data.text)))
    .map((e) => oneLine(String(e.data.text).replace(/^\s*action:\s*/i, '')));
}

export function postmortemMarkdown(p: PostmortemInput): string {
  const i = p.incident;
  const out: string[] = [];
  const detectedAt = p.case?.openedAt ?? i.declaredAt;
  const ackAt =
    p.case?.acknowledgedAt ??
    p.roles.filter((r) => r.role === 'commander').sort((a, b) => Date.parse(a.from) - Date.parse(b.from))[0]?.from ??
    null;
  const start = i.impactStartedAt ?? detectedAt;
  out.push(`# Postmortem: INC-${i.id} ${oneLine(i.title)}`, '');
  out.push(`Generated from the record of incident ${i.id}. Blameless: people appear by the role they held.`, '');
  out.push('## Summary', '');
  out.push(`- Severity: ${i.severity}${i.severityMeans ? ` (${i.severityMeans})` : ''}`);
  out.push(`- Priority: ${i.priority}`);
  out.push(`- Status: ${i.status}${i.restricted ? ' (restricted)' : ''}`);
  out.push(`- Declared: ${hhmm(i.declaredAt)}`);
  if (p.case)
    out.push(
      `- From case ${p.case.id}: ${oneLine(p.case.title)} (${p.case.items} item${p.case.items === 1 ? '' : 's'} grouped: signals or runs)`,
    );
  out.push('');
  out.push('## Impact', '');
  out.push(`- Impact started: ${i.impactStartedAt ? hhmm(i.impactStartedAt) : 'not recorded (times below count from detection)'}`);
  out.push(`- Mitigated: ${i.mitigatedAt ? hhmm(i.mitigatedAt) : 'not yet'}`);
  out.push(`- Resolved: ${i.resolvedAt ? hhmm(i.resolvedAt) : 'not yet'}`);
  out.push(`- Duration of impact: ${i.resolvedAt ? span(start, i.resolvedAt) : 'ongoing'}`);
  if (p.links) out.push(...budgetLines(p.links));
  out.push('');
  out.push('## Detection', '');
  out.push(`- Detected: ${hhmm(detectedAt)} (${p.case ? `case ${p.case.id} opened by triage` : 'declared by hand'})`);
  out.push(`- Time to detect: ${i.impactStartedAt ? span(i.impactStartedAt, detectedAt) : 'not recorded (no impact start)'}`);
  out.push(`- Time to acknowledge: ${span(detectedAt, ackAt)}`);
  out.push(`- Time to mitigate: ${span(start, i.mitigatedAt)}`);
  out.push(`- Time to resolve: ${span(start, i.resolvedAt)}`);
  if (p.recovery) {
    const r = repairOf(p.recovery);
    out.push(
      `- Time to repair (detection → the last recovery task done): ${
        r.state === 'repaired'
          ? span(detectedAt, r.at)
          : r.state === 'open'
            ? `not yet (${r.open} recovery task${r.open === 1 ? '' : 's'} open)`
            : 'not recorded (no recovery checklist)'
      }`,
    );
  }
  out.push('');
  if (p.links) out.push('## Coverage by experiments', '', ...coverageLines(p.links), '');
  out.push('## Command roles', '');
  if (p.roles.length === 0) out.push('No command roles were assigned.');
  for (const r of [...p.roles].sort((a, b) => Date.parse(a.from) - Date.parse(b.from) || a.role.localeCompare(b.role)))
    out.push(
      `- ${ROLE_TITLES[r.role]}: ${hhmm(r.from)} – ${r.to ? hhmm(r.to) : 'still held'} (${span(r.from, r.to ?? i.closedAt ?? i.resolvedAt)})`,
    );
  out.push('');
  out.push('## Timeline', '');
  out.push('| Time (UTC) | Ledger entry | What happened |', '| --- | --- | --- |');
  for (const e of [...p.events].sort((a, b) => a.seq - b.seq)) {
    const what = describe(e, roleAt(p.roles, e.actor, e.time));
    if (what) out.push(`| ${hhmm(e.time)} | ${e.seq} | ${what.replace(/\|/g, '\\|')} |`);
  }
  out.push('');
  out.push('## Evidence', '');
  if (p.evidence.length === 0) out.push('No evidence was collected.');
  for (const e of p.evidence)
    out.push(`- \`${oneLine(e.name)}\`: ${e.size} bytes, SHA-256 \`${e.sha256}\`, collected ${hhmm(e.collectedAt)}`);
  out.push('');
  out.push('## Action items', '');
  const items = actionItems(p.events);
  const tasks = p.openTasks ?? [];
  if (items.length === 0 && tasks.length === 0)
    out.push('None recorded (an open task, or a note that starts with `action:`, becomes one).');
  for (const t of tasks)
    out.push(
      `- [ ] ${oneLine(t.title)} (task ${t.id}${t.checklist ? `, checklist \`${t.checklist}\`` : ''}; owner: ${t.owner ? oneLine(t.owner) : 'none yet'}${t.dueAt ? `; due ${hhmm(t.dueAt)}` : ''})`,
    );
  for (const a of items) out.push(`- [ ] ${a}`);
  out.push('');
  return out.join('\n');
}
