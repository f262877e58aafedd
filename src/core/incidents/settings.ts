/**
 * The incidents settings file: the severity model (SEV1–SEV4 by default, each with what it
 * means), the resolution taxonomy for closing cases, and the triage rules that turn signals and
 * finished experiment runs into cases. YAML or JSON; every error has its line and column.
 *
 * ```yaml
 * apiVersion: bulwark/v1
 * kind: IncidentSettings
 * rules:
 *   - name: waf-alerts
 *     on: signal
 *     match: signal.source == "alertmanager" && signal.labels.alertname == "WafBlocked"
 *     groupBy: [labels.alertname, labels.service]
 *     window: 30m
 *     severity: { map: { critical: high }, default: medium }
 * ```
 */
import type { Document } from 'yaml';
import { z } from 'zod';
import { parseYamlBounded } from '../input/bounded-yaml.ts';
import { INPUT_LIMITS } from '../input/limits.ts';
import { parsePromDuration } from '../slos/duration.ts';
import { SEVERITIES, type Severity } from '../signals/severity.ts';
import { OUTCOMES } from '../experiments/outcome.ts';
import { compileTriage, type TriageOn, type TriageProgram } from './triage-cel.ts';
import { ROLES } from './model.ts';
import { DEFAULT_REPORT_TEMPLATES, PLACEHOLDERS, unknownPlaceholders, type ReportKind } from './status-report.ts';
import { DEFAULT_CHECKLISTS, type ChecklistTemplate } from './tasks.ts';
import { DEFAULT_NOTIFICATIONS, NOTIFY_EVENTS, type NotificationSettings } from './notifications.ts';
import { LOOPBACK_HOSTS, urlRefusal, validHostEntry } from '../playbooks/safety.ts';

export const MAX_SETTINGS_LENGTH = INPUT_LIMITS.yaml.length;
const NAME = /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/;

export interface SeverityLevel {
  name: string;
  means: string;
}

export interface TriageRule {
  name: string;
  on: TriageOn;
  title: string;
  program: TriageProgram;
  /** Fields whose values make the group key: `source`, `severity`, `labels.NAME` (signals); `experiment`, `outcome` (runs). */
  groupBy: string[];
  windowMs: number;
  window: string;
  /** The case's severity: fixed, or mapped from the signal's severity or the run's outcome. */
  severity: { map: Record<string, Severity>; default: Severity };
}

export interface IncidentSettings {
  severities: SeverityLevel[];
  resolutions: string[];
  rules: TriageRule[];
  /** Recovery checklists (templates of tasks); the shipped three when the file names none. */
  checklists: ChecklistTemplate[];
  /** Status report templates; the shipped ones for a kind the file does not name. */
  statusReports: Record<ReportKind, string>;
  /** Webhooks told about declarations, severity and role changes and resolutions. */
  notifications: NotificationSettings;
}

export interface SettingsIssue {
  path: string;
  line: number;
  column: number;
  message: string;
}

export type SettingsParse = { ok: true; settings: IncidentSettings } | { ok: false; errors: SettingsIssue[] };

export const DEFAULT_SEVERITIES: SeverityLevel[] = [
  { name: 'SEV1', means: 'critical: customer data exposed or at risk, or a control failed in production with an attacker present' },
  { name: 'SEV2', means: 'major: a security control is down or bypassed in production; no known exploitation yet' },
  { name: 'SEV3', means: 'minor: a control is degraded (late or partial detection); contained to one service' },
  { name: 'SEV4', means: 'low: a weakness found by an experiment or a review, no exposure' },
];

export const DEFAULT_RESOLUTIONS = [
  'benign',
  'false-positive',
  'true-positive-contained',
  'mitigated',
  'operational-error',
  'policy-violation',
  'duplicate',
];

/** The rules in force when no settings file was applied: burn alerts and missed or late detections. */
export const DEFAULT_SETTINGS_FILE = `apiVersion: bulwark/v1
kind: IncidentSettings
rules:
  - name: slo-burn
    title: SLO burn-rate alert
    on: signal
    match: signal.source == "bulwark" && signal.labels.alertname == "SloBurnRate"
    groupBy: [labels.slo]
    window: 6h
    severity: { map: { critical: high }, default: medium }
  - name: missed-detection
    title: Experiment run not detected
    on: run
    match: run.outcome == "missed" || run.outcome == "detected-late" || run.outcome == "rollback-failed"
    groupBy: [experiment]
    window: 24h
    severity: { map: { missed: high, rollback-failed: critical }, default: medium }
  - name: critical-signals
    title: Critical signal
    on: signal
    match: signal.severity == "critical" && signal.source != "bulwark"
    groupBy: [source, labels.alertname]
    window: 1h
    severity: critical
`;

const severity = z.enum(SEVERITIES);
const text = (max: number) => z.string().min(1).max(max);
const ruleSchema = z.strictObject({
  name: z.string().regex(NAME, 'a rule name is 1–64 characters of a-z, 0-9 and "-"'),
  title: text(200).optional(),
  on: z.enum(['signal', 'run']),
  match: text(4096),
  groupBy: z.array(z.string().min(1).max(200)).max(8).default([]),
  window: z.string().refine((s) => parsePromDuration(s) !== undefined, 'window: a duration such as 5m, 1h or 1d'),
  severity: z.union([severity, z.strictObject({ map: z.record(z.string().max(64), severity).default({}), default: severity })]),
});

/** A checklist item's due time, from when the checklist is added: at most a year (a time beyond dates' range would be no time at all). */
const MAX_DUE_MS = 366 * 86_400_000;
const duration = z
  .string()
  .refine((s) => parsePromDuration(s) !== undefined, 'a duration such as 30m, 4h or 1d')
  .refine((s) => (parsePromDuration(s) ?? 0) <= MAX_DUE_MS, 'a due time is at most 366d after the checklist is added');
const checklistSchema = z.strictObject({
  name: z.string().regex(NAME, 'a checklist name is 1–64 characters of a-z, 0-9 and "-"'),
  title: text(200).optional(),
  items: z
    .array(
      // An item is a title, or a mapping with its owner and due time.
      z.preprocess(
        (v) => (typeof v === 'string' ? { title: v } : v),
        z.strictObject({
          title: text(500),
          owner: z.enum(ROLES, `owner: a command role (${ROLES.join(', ')}); its holder owns the task`).optional(),
          due: duration.optional(),
        }),
      ),
    )
    .min(1)
    .max(100),
});
const template = z.string().min(1).max(20_000);
const notificationsSchema = z.strictObject({
  allowHosts: z.array(z.string().refine(validHostEntry, 'a host name, *.name, an IP address or an IPv4 CIDR block')).max(100).optional(),
  webhooks: z
    .array(
      z.strictObject({
        name: z.string().regex(NAME, 'a webhook name is 1–64 characters of a-z, 0-9 and "-"'),
        url: z.string().min(1).max(2000),
        secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'the name of an environment variable, e.g. BULWARK_WEBHOOK_SOC'),
        on: z.array(z.enum(NOTIFY_EVENTS)).min(1).optional(),
        restricted: z.boolean().default(false),
      }),
    )
    .max(20)
    .default([]),
});

const schema = z.strictObject({
  apiVersion: z.literal('bulwark/v1'),
  kind: z.literal('IncidentSettings'),
  severities: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9-]{1,16}$/, 'a severity name is 1–16 letters, digits or "-"'),
        means: text(500),
      }),
    )
    .min(1)
    .max(10)
    .optional(),
  resolutions: z.array(z.string().regex(NAME, 'a resolution is 1–64 characters of a-z, 0-9 and "-"')).min(1).max(50).optional(),
  rules: z.array(ruleSchema).max(200).default([]),
  checklists: z.array(checklistSchema).max(50).optional(),
  statusReports: z.strictObject({ tactical: template.optional(), executive: template.optional() }).optional(),
  notifications: notificationsSchema.optional(),
});

const SIGNAL_FIELDS = /^(source|severity|labels\.[A-Za-z0-9_.:-]{1,128})$/;
const RUN_FIELDS = /^(experiment|outcome)$/;

/** Read a settings file: the settings, or every error with line and column. */
export function parseIncidentSettings(source: string): SettingsParse {
  const read = parseYamlBounded(source, INPUT_LIMITS.yaml);
  if (!read.ok) return { ok: false, errors: read.errors.map((e) => ({ path: '', line: e.line, column: e.column, message: e.message })) };
  const at = (path: (string | number)[], message: string): SettingsIssue => ({
    path: path.join('.'),
    ...read.position(offsetOf(read.doc, path)),
    message,
  });
  const r = schema.safeParse(read.value);
  if (!r.success) {
    const hint = (p: PropertyKey[], m: string) =>
      p.length === 0 && (read.value === null || typeof read.value !== 'object')
        ? 'the settings file is a mapping with apiVersion bulwark/v1 and kind IncidentSettings'
        : m;
    return { ok: false, errors: r.error.issues.map((i) => at(i.path as (string | number)[], hint(i.path, i.message))) };
  }
  const f = r.data;
  const errors: SettingsIssue[] = [];
  const rules: TriageRule[] = [];
  const names = new Set<string>();
  f.rules.forEach((rule, k) => {
    if (names.has(rule.name)) errors.push(at(['rules', k, 'name'], `two rules are named ${rule.name}; names are unique`));
    names.add(rule.name);
    const compiled = compileTriage(rule.match, rule.on);
    if (!compiled.ok) errors.push(at(['rules', k, 'match'], compiled.message));
    rule.groupBy.forEach((g, j) => {
      if (!(rule.on === 'signal' ? SIGNAL_FIELDS : RUN_FIELDS).test(g))
        errors.push(
          at(
            ['rules', k, 'groupBy', j],
            rule.on === 'signal'
              ? `'${g}' is not a signal field to group by; use source, severity or labels.NAME`
              : `'${g}' is not a run field to group by; use experiment or outcome`,
          ),
        );
    });
    const sev = typeof rule.severity === 'string' ? { map: {}, default: rule.severity } : rule.severity;
    for (const key of Object.keys(sev.map)) {
      const known: readonly string[] = rule.on === 'signal' ? SEVERITIES : OUTCOMES;
      if (!known.includes(key))
        errors.push(
          at(
            ['rules', k, 'severity', 'map', key],
            `'${key}' is not a ${rule.on === 'signal' ? 'signal severity' : 'run outcome'}; use one of ${known.join(', ')}`,
          ),
        );
    }
    if (compiled.ok)
      rules.push({
        name: rule.name,
        on: rule.on,
        title: rule.title ?? rule.name,
        program: compiled.program,
        groupBy: rule.groupBy,
        windowMs: parsePromDuration(rule.window)!,
        window: rule.window,
        severity: sev,
      });
  });
  const severities = f.severities ?? DEFAULT_SEVERITIES;
  const seen = new Set<string>();
  severities.forEach((s, k) => {
    if (seen.has(s.name)) errors.push(at(['severities', k, 'name'], `severity ${s.name} is listed twice`));
    seen.add(s.name);
  });
  const resolutions = f.resolutions ?? DEFAULT_RESOLUTIONS;
  if (new Set(resolutions).size !== resolutions.length) errors.push(at(['resolutions'], 'a resolution is listed twice'));
  const checklists: ChecklistTemplate[] = (f.checklists ?? []).map((c) => ({
    name: c.name,
    title: c.title ?? c.name,
    items: c.items.map((i) => ({
      title: i.title,
      owner: i.owner ?? null,
      dueMs: i.due ? parsePromDuration(i.due)! : null,
      due: i.due ?? null,
    })),
  }));
  const lists = new Set<string>();
  checklists.forEach((c, k) => {
    if (lists.has(c.name)) errors.push(at(['checklists', k, 'name'], `two checklists are named ${c.name}; names are unique`));
    lists.add(c.name);
  });
  const statusReports = { ...DEFAULT_REPORT_TEMPLATES, ...f.statusReports };
  for (const kind of ['tactical', 'executive'] as const) {
    const unknown = unknownPlaceholders(statusReports[kind]);
    if (unknown.length > 0)
      errors.push(
        at(
          ['statusReports', kind],
          `unknown placeholder${unknown.length === 1 ? '' : 's'} ${unknown.map((u) => `{{${u}}}`).join(', ')}; use ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
        ),
      );
  }
  const allowHosts = f.notifications?.allowHosts ?? [...LOOPBACK_HOSTS];
  const hooks = new Set<string>();
  (f.notifications?.webhooks ?? []).forEach((h, k) => {
    if (hooks.has(h.name)) errors.push(at(['notifications', 'webhooks', k, 'name'], `two webhooks are named ${h.name}; names are unique`));
    hooks.add(h.name);
    const refused = urlRefusal(h.url, allowHosts);
    if (refused)
      errors.push(
        at(
          ['notifications', 'webhooks', k, 'url'],
          refused
            .replace(/the playbook's safety\.allowHosts/, 'notifications.allowHosts')
            .replace(/a playbook never calls it/, 'never called'),
        ),
      );
  });
  const notifications: NotificationSettings = f.notifications
    ? {
        allowHosts,
        webhooks: f.notifications.webhooks.map((h) => ({ ...h, on: h.on ?? [...NOTIFY_EVENTS] })),
      }
    : DEFAULT_NOTIFICATIONS;
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    settings: { severities, resolutions, rules, checklists: f.checklists ? checklists : DEFAULT_CHECKLISTS, statusReports, notifications },
  };
}

/** The default settings, parsed (they always parse; a test holds to it). */
export function defaultSettings(): IncidentSettings {
  const r = parseIncidentSettings(DEFAULT_SETTINGS_FILE);
  if (!r.ok) throw new Error(`the default incident settings do not parse: ${r.errors[0]!.message}`);
  return r.settings;
}

function offsetOf(doc: Document.Parsed, path: (string | number)[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return node.range[0];
  }
  return 0;
}
