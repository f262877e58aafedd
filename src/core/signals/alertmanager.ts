/**
 * Prometheus Alertmanager's webhook payload, version 4 (webhook_config), into one signal per
 * alert. Alertmanager resends a whole group on every group_interval and, in an HA pair, once from
 * each replica; the dedup key (fingerprint + startsAt + status) makes every resend the same signal
 * while a re-fire (new startsAt) or the resolution (new status) is a new one.
 */
import { z } from 'zod';
import { extractRunId, isRunId } from './correlation.ts';
import { DEFAULT_SEVERITY, normaliseSeverity } from './severity.ts';
import {
  describeIssues,
  issuePath,
  makeSignal,
  normaliseReceivedAt,
  parseTimestamp,
  reject,
  sha256Hex,
  toLabels,
  type IngestContext,
  type Rejected,
  type Signal,
} from './signal.ts';

export const ALERTMANAGER_SOURCE = 'alertmanager';

/**
 * The label (or annotation) an alert rule can set to name the run it is about, e.g. from a
 * metric label the experiment sets. Prometheus label names cannot hold `-`, hence the underscore.
 */
export const RUN_LABEL = 'bulwark_run';

/** Go's zero time: Alertmanager's endsAt while an alert has no known end. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

const LabelSet = z.record(z.string(), z.string());

// looseObject: Alertmanager-compatible senders (Grafana, vmalert) add fields; they stay in the body.
const AlertSchema = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: LabelSet,
  annotations: LabelSet.optional(),
  startsAt: z.string().refine((s) => parseTimestamp(s) !== undefined, { error: 'must be an RFC 3339 timestamp' }),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).max(256).optional(),
});

export const AlertmanagerPayloadSchema = z.looseObject({
  version: z.literal('4', { error: 'must be "4": Bulwark reads Alertmanager webhook payload version 4' }),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  alerts: z.array(AlertSchema).max(10_000),
  groupLabels: LabelSet.optional(),
  commonLabels: LabelSet.optional(),
  commonAnnotations: LabelSet.optional(),
  externalURL: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
});

export type AlertmanagerPayload = z.output<typeof AlertmanagerPayloadSchema>;
export type AlertmanagerAlert = z.output<typeof AlertSchema>;

export type AlertmanagerResult =
  | {
      ok: true;
      signals: Signal[];
      /** Alerts Alertmanager dropped for max_alerts; they cannot be recovered from this payload. */
      truncatedAlerts: number;
    }
  | Rejected;

/**
 * Parse a webhook payload (already JSON-decoded) into one signal per alert; never throws.
 * Severity comes from the `severity` label; resolved alerts have `resolved: true`.
 */
export function parseAlertmanager(payload: unknown, ctx: IngestContext): AlertmanagerResult {
  const receivedAt = normaliseReceivedAt(ctx.receivedAt);
  const source = ctx.source ?? ALERTMANAGER_SOURCE;
  const parsed = AlertmanagerPayloadSchema.safeParse(payload);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: issuePath(i.path), message: i.message }));
    return reject(`invalid Alertmanager payload: ${describeIssues(issues)}`, issues);
  }
  const p = parsed.data;
  const body = (alert: AlertmanagerAlert) => ({
    alert,
    ...(p.receiver !== undefined && { receiver: p.receiver }),
    ...(p.groupKey !== undefined && { groupKey: p.groupKey }),
    ...(p.externalURL !== undefined && { externalURL: p.externalURL }),
  });
  const signals = p.alerts.map((alert) => {
    const resolved = alert.status === 'resolved';
    const startsAt = parseTimestamp(alert.startsAt)!; // checked by the schema
    const endsAt = alert.endsAt !== undefined && alert.endsAt !== GO_ZERO_TIME ? parseTimestamp(alert.endsAt) : undefined;
    return makeSignal({
      source,
      // The moment the state this signal reports began: firing since startsAt, resolved at endsAt.
      time: resolved && endsAt !== undefined ? endsAt : startsAt,
      receivedAt,
      severity: normaliseSeverity(alert.labels.severity) ?? DEFAULT_SEVERITY,
      labels: toLabels(Object.entries(alert.labels)),
      body: body(alert),
      dedup: {
        kind: 'alertmanager',
        // Alertmanager has sent fingerprints since 0.19; before that, the label set is the identity.
        fingerprint:
          alert.fingerprint ?? sha256Hex(JSON.stringify(Object.entries(alert.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))),
        startsAt: alert.startsAt,
        status: alert.status,
      },
      runId: alertRunId(alert),
      resolved,
    });
  });
  return { ok: true, signals, truncatedAlerts: p.truncatedAlerts ?? 0 };
}

/** The explicit `bulwark_run` label, then annotation, wins; otherwise carriers in the annotations' text. */
function alertRunId(alert: AlertmanagerAlert): string | undefined {
  const annotations = alert.annotations ?? {};
  for (const candidate of [alert.labels[RUN_LABEL], annotations[RUN_LABEL]]) {
    if (isRunId(candidate)) return candidate;
  }
  return extractRunId(...Object.values(annotations));
}
