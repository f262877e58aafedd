/**
 * Any JSON webhook, made into a signal by a mapping declared in config: which paths hold the id,
 * the time, the severity, the labels, the run id and the relevant body. The mapping is validated
 * once when config is read, so a typo fails at start-up with a message, not at the first alert.
 */
import { z } from 'zod';
import { invalid } from '../errors.ts';
import { extractRunId, isRunId } from './correlation.ts';
import { parseJsonPath, readJsonPath, type JsonPath } from './webhook-mapping-path.ts';
import { DEFAULT_SEVERITY, SEVERITIES, isSeverity, normaliseSeverity, type Severity } from './severity.ts';
import {
  LABEL_LIMITS,
  describeIssues,
  epochMillisToIso,
  isLabelName,
  issuePath,
  makeSignal,
  normaliseReceivedAt,
  parseTimestamp,
  reject,
  toLabels,
  type DedupBasis,
  type Rejected,
  type SignalResult,
} from './signal.ts';

const PathSchema = z.string().transform((text, ctx): JsonPath => {
  const r = parseJsonPath(text);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.reason });
    return z.NEVER;
  }
  return r.value;
});

export type SeveritySpec = { kind: 'constant'; value: Severity } | { kind: 'path'; path: JsonPath };

/** One of the five severity names is a constant; anything else is a path to read it from. */
const SeveritySpecSchema = z.string().transform((text, ctx): SeveritySpec => {
  if (isSeverity(text)) return { kind: 'constant', value: text };
  const r = parseJsonPath(text);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: `${r.reason} (or use one of ${SEVERITIES.join(', ')} as a constant)` });
    return z.NEVER;
  }
  return { kind: 'path', path: r.value };
});

export const WebhookMappingSchema = z.strictObject({
  /** Names the route `/v1/signals/webhook/:source` and the signals' source. */
  source: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, {
    error:
      'must be 1–63 characters of a-z, 0-9, "_" and "-", starting with a letter or digit (it names the URL /v1/signals/webhook/:source)',
  }),
  /** Where the sender's event id is; without it, resends are recognised by the whole body. */
  id: PathSchema.optional(),
  /** Where the event's time is: RFC 3339 text, or epoch seconds / milliseconds. */
  time: PathSchema.optional(),
  severity: SeveritySpecSchema.optional(),
  /** The sender's own severity words (or numbers, as text) → ours; consulted before the common names. */
  severityMap: z.record(z.string().min(1).max(64), z.enum(SEVERITIES)).optional(),
  labels: z
    .record(z.string(), PathSchema)
    .superRefine((labels, ctx) => {
      for (const name of Object.keys(labels)) {
        if (!isLabelName(name))
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'label names are letters, digits, "_", ".", ":" and "-", starting with a letter or "_"',
          });
      }
      if (Object.keys(labels).length > LABEL_LIMITS.maxLabels)
        ctx.addIssue({ code: 'custom', message: `at most ${LABEL_LIMITS.maxLabels} labels` });
    })
    .optional(),
  runId: PathSchema.optional(),
  /** The part of the payload kept as the signal's body; the whole payload when absent. */
  body: PathSchema.optional(),
});

/** A mapping as written in config. */
export type WebhookMappingConfig = z.input<typeof WebhookMappingSchema>;
/** A validated mapping, paths parsed. */
export type WebhookMapping = z.output<typeof WebhookMappingSchema>;

/** Validate a mapping from config; never throws. */
export function checkWebhookMapping(config: unknown): { ok: true; value: WebhookMapping } | Rejected {
  const r = WebhookMappingSchema.safeParse(config);
  if (r.success) return { ok: true, value: r.data };
  const issues = r.error.issues.map((i) => ({ path: issuePath(i.path), message: i.message }));
  return reject(`invalid webhook mapping: ${describeIssues(issues)}`, issues);
}

/** Validate a mapping from config, or throw DomainError `invalid` saying what to fix. */
export function parseWebhookMapping(config: unknown): WebhookMapping {
  const r = checkWebhookMapping(config);
  if (!r.ok) throw invalid(r.reason, r.issues);
  return r.value;
}

/** Epoch numbers below this are seconds, above it milliseconds (1e11 s is the year 5138; 1e11 ms is 1973). */
const SECONDS_LIMIT = 1e11;
const MAX_ID_LENGTH = 512;

/**
 * Map one payload (already JSON-decoded) to a signal; never throws. A declared `id` or `time`
 * that is missing or malformed refuses the payload, since a wrong id breaks idempotency and a
 * wrong time misleads; a missing label, severity or body is simply left out. A run id that is
 * not valid is dropped, not refused: it may come from the attacker's own request, and refusing
 * would let the attacker make a detection disappear.
 */
export function mapWebhook(payload: unknown, mapping: WebhookMapping, ctx: { receivedAt: string }): SignalResult {
  const receivedAt = normaliseReceivedAt(ctx.receivedAt);

  let dedup: DedupBasis = { kind: 'webhook-body', body: payload };
  if (mapping.id) {
    const v = readJsonPath(payload, mapping.id);
    if (v === undefined) return reject(`id: nothing at ${mapping.id.text}`);
    const id = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
    if (id === undefined || id === '' || id.length > MAX_ID_LENGTH)
      return reject(
        `id at ${mapping.id.text} must be a non-empty string (at most ${MAX_ID_LENGTH} characters) or a number, got ${describe(v)}`,
      );
    dedup = { kind: 'webhook-id', id };
  }

  let time = receivedAt;
  if (mapping.time) {
    const v = readJsonPath(payload, mapping.time);
    if (v === undefined) return reject(`time: nothing at ${mapping.time.text}`);
    const t =
      typeof v === 'string'
        ? parseTimestamp(v)
        : typeof v === 'number'
          ? epochMillisToIso(Math.abs(v) < SECONDS_LIMIT ? v * 1000 : v)
          : undefined;
    if (t === undefined)
      return reject(`time at ${mapping.time.text} must be an RFC 3339 timestamp or epoch seconds/milliseconds, got ${describe(v)}`);
    time = t;
  }

  const labels = toLabels(
    Object.entries(mapping.labels ?? {}).flatMap(([name, path]) => {
      const text = labelText(readJsonPath(payload, path));
      return text === undefined ? [] : [[name, text] as const];
    }),
  );

  let runId: string | undefined;
  if (mapping.runId) {
    const v = readJsonPath(payload, mapping.runId);
    runId = isRunId(v) ? v : undefined;
  } else {
    runId = extractRunId(safeStringify(payload));
  }

  const body = mapping.body ? (readJsonPath(payload, mapping.body) ?? null) : payload;
  try {
    return {
      ok: true,
      signal: makeSignal({ source: mapping.source, time, receivedAt, severity: severityOf(payload, mapping), labels, body, dedup, runId }),
    };
  } catch {
    return reject('payload is not JSON (it has values JSON cannot carry)');
  }
}

function severityOf(payload: unknown, mapping: WebhookMapping): Severity {
  const spec = mapping.severity;
  if (spec === undefined) return DEFAULT_SEVERITY;
  if (spec.kind === 'constant') return spec.value;
  const v = readJsonPath(payload, spec.path);
  const text = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
  if (text === undefined) return DEFAULT_SEVERITY;
  const map = mapping.severityMap ?? {};
  const mapped = Object.hasOwn(map, text) ? map[text] : Object.hasOwn(map, text.toLowerCase()) ? map[text.toLowerCase()] : undefined;
  return mapped ?? normaliseSeverity(text) ?? DEFAULT_SEVERITY;
}

function labelText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return safeStringify(v);
}

function safeStringify(v: unknown): string | undefined {
  try {
    return JSON.stringify(v);
  } catch {
    return undefined;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
