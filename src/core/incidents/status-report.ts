/**
 * Status reports: tactical (for the responders) and executive (for leadership), drafted from a
 * template filled from the incident's record, edited by a person, then posted. A template is
 * Markdown with `{{placeholder}}`s; the settings file may replace the shipped ones
 * (`statusReports: { tactical: …, executive: … }`), and an unknown placeholder is refused when
 * the file is applied. Pure.
 */
import { ROLE_TITLES, type IncidentStatus, type RoleInterval } from './model.ts';
import { formatSpan } from './postmortem.ts';

export const REPORT_KINDS = ['tactical', 'executive'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

export const REPORT_STATES = ['draft', 'posted'] as const;
export type ReportState = (typeof REPORT_STATES)[number];

export const PLACEHOLDERS = [
  'id',
  'title',
  'status',
  'severity',
  'severityMeans',
  'priority',
  'impact',
  'roles',
  'commander',
  'openTasks',
  'nextUpdate',
  'now',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export const DEFAULT_REPORT_TEMPLATES: Record<ReportKind, string> = {
  tactical: `## INC-{{id}} {{title}}: tactical update ({{now}})

- Status: {{status}}
- Severity: {{severity}} ({{severityMeans}}), {{priority}}
- Impact: {{impact}}
- Roles: {{roles}}
- Open tasks: {{openTasks}}
- Next update: {{nextUpdate}}
`,
  executive: `## INC-{{id}} {{title}}: executive summary ({{now}})

A {{severity}} incident ({{severityMeans}}), now {{status}}. Impact: {{impact}}.
Led by the incident commander ({{commander}}). Next update by {{nextUpdate}}.
`,
};

const PATTERN = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

/** The placeholders a template names that do not exist (empty when it is good). */
export function unknownPlaceholders(template: string): string[] {
  const out = new Set<string>();
  for (const m of template.matchAll(PATTERN)) if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!)) out.add(m[1]!);
  return [...out];
}

/** Fill a template; an unknown placeholder is left as written (the settings parser refuses them). */
export function fillTemplate(template: string, values: Record<Placeholder, string>): string {
  return template.replace(PATTERN, (whole, name: string) =>
    (PLACEHOLDERS as readonly string[]).includes(name) ? values[name as Placeholder] : whole,
  );
}

export interface ReportRecord {
  incident: {
    id: number;
    title: string;
    status: IncidentStatus;
    severity: string;
    severityMeans: string | null;
    priority: string;
    impactStartedAt: string | null;
    declaredAt: string;
    resolvedAt: string | null;
  };
  roles: readonly RoleInterval[];
  openTasks: readonly { title: string; owner: string | null; dueAt: string | null }[];
  now: string;
  nextUpdateAt: string | null;
}

const at = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/** The placeholder values from the record at `now`. */
export function reportValues(r: ReportRecord): Record<Placeholder, string> {
  const i = r.incident;
  const start = i.impactStartedAt ?? i.declaredAt;
  const end = i.resolvedAt ?? r.now;
  const held = r.roles.filter((x) => x.to === null);
  return {
    id: String(i.id),
    title: i.title.replace(/\s+/g, ' ').trim(),
    status: i.status,
    severity: i.severity,
    severityMeans: i.severityMeans ?? 'no description',
    priority: i.priority,
    impact: `${i.impactStartedAt ? 'since' : 'since declared at'} ${at(start)}, ${i.resolvedAt ? `resolved after ${formatSpan(Date.parse(end) - Date.parse(start))}` : `${formatSpan(Date.parse(end) - Date.parse(start))} so far`}`,
    roles: held.length === 0 ? 'none assigned' : held.map((x) => `${ROLE_TITLES[x.role]}: ${x.holder}`).join('; '),
    commander: held.find((x) => x.role === 'commander')?.holder ?? 'not assigned',
    openTasks:
      r.openTasks.length === 0
        ? 'none'
        : `${r.openTasks.length} (${r.openTasks
            .slice(0, 5)
            .map((t) => `${t.title}${t.owner ? `, ${t.owner}` : ''}${t.dueAt ? `, due ${at(t.dueAt)}` : ''}`)
            .join('; ')}${r.openTasks.length > 5 ? '; …' : ''})`,
    nextUpdate: r.nextUpdateAt ? at(r.nextUpdateAt) : 'none planned',
    now: at(r.now),
  };
}
