/**
 * The one normalised signal every source is turned into, and the rules that make ingestion
 * idempotent. Pure: times come in as arguments (receivedAt is Bulwark's clock, read at the edge),
 * and ids are derived from content, never random, so a resent alert maps to the same row.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../ledger/entry.ts';
import type { Severity } from './severity.ts';

export interface Signal {
  /** `sig_` + the first 128 bits of the fingerprint: a resend gets the same id, so a store insert can be idempotent. */
  id: string;
  /** The configured source that ingested it: `alertmanager`, `cloudevents`, a webhook's name, a log tailer's name. */
  source: string;
  /** The source's own timestamp (RFC 3339, UTC, milliseconds); receivedAt when the source gives none. */
  time: string;
  /** Bulwark's receipt time (RFC 3339, UTC, milliseconds); time to detect is measured from this, not `time`. */
  receivedAt: string;
  severity: Severity;
  /** Single-line strings, at most LABEL_LIMITS of them; what detection expressions match on. */
  labels: Record<string, string>;
  /** The relevant part of the payload (an alert, an event's data, a parsed log line). */
  body: unknown;
  /** The dedup key (see dedupKey), SHA-256 hex: equal for a resend of the same event, different otherwise. */
  fingerprint: string;
  /** The run id the signal carries, when it carries exactly one valid id (see correlation.ts). */
  runId?: string;
  /**
   * True only for an Alertmanager alert whose status is `resolved`. A field rather than a label so
   * that a user label called `status` cannot be mistaken for it; a resolution is not a detection.
   */
  resolved: boolean;
}

/** A value the caller must not accept, with what is wrong in words and, where known, per field. */
export interface Rejected {
  ok: false;
  reason: string;
  issues?: Issue[];
}

export interface Issue {
  /** Where in the input: `alerts[1].startsAt`, `(root)` for the whole. */
  path: string;
  message: string;
}

export type SignalResult = { ok: true; signal: Signal } | Rejected;

export function reject(reason: string, issues?: Issue[]): Rejected {
  return issues && issues.length > 0 ? { ok: false, reason, issues } : { ok: false, reason };
}

/** What every parser is told by the caller. */
export interface IngestContext {
  /** Bulwark's receipt time, RFC 3339 (from the caller's clock). */
  receivedAt: string;
  /** The configured source name; each parser has a default. */
  source?: string;
}

// ---------------------------------------------------------------------------------------------
// Time

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|([+-])(\d{2}):(\d{2}))$/;
const YEAR_0_MS = -62167219200000; // 0000-01-01T00:00:00Z
const YEAR_10000_MS = 253402300800000; // 10000-01-01T00:00:00Z

/**
 * Parse an RFC 3339 timestamp (nanoseconds allowed, as Go writes them) into ISO UTC with
 * milliseconds; undefined when malformed. Hand-written because Date.parse accepts many other
 * shapes and reads zone-less strings in the process's local time zone.
 */
export function parseTimestamp(text: unknown): string | undefined {
  if (typeof text !== 'string' || text.length > 40) return undefined;
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMinutes = 0;
  if (sign !== undefined) {
    const ohn = Number(oh);
    const omn = Number(om);
    if (ohn > 23 || omn > 59) return undefined;
    offsetMinutes = (sign === '-' ? -1 : 1) * (ohn * 60 + omn);
  }
  const millis = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  return fromCivil(year, month, day, hour, minute, second, millis, offsetMinutes);
}

/**
 * Civil time in a zone with the given UTC offset → ISO UTC; undefined outside years 0–9999.
 * Uses setUTCFullYear because Date.UTC maps years 0–99 to 1900–1999.
 */
export function fromCivil(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
  offsetMinutes: number,
): string | undefined {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, millis);
  return epochMillisToIso(d.getTime() - offsetMinutes * 60_000);
}

/** Milliseconds since the epoch → ISO UTC; undefined when not finite or outside years 0–9999. */
export function epochMillisToIso(ms: number): string | undefined {
  if (!Number.isFinite(ms) || ms < YEAR_0_MS || ms >= YEAR_10000_MS) return undefined;
  return new Date(Math.floor(ms)).toISOString();
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** receivedAt comes from our own clock: a malformed one is a programmer mistake, not bad input. */
export function normaliseReceivedAt(receivedAt: string): string {
  const t = parseTimestamp(receivedAt);
  if (t === undefined) throw new Error(`receivedAt must be an RFC 3339 timestamp, got ${JSON.stringify(receivedAt)}`);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Labels

/** Bounds that keep one hostile payload from bloating every row and every match. */
export const LABEL_LIMITS = { maxLabels: 64, maxValueLength: 1024 } as const;

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;
const CONTROL = /[\u0000-\u001f\u007f]/g;

export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && name !== '__proto__';
}

/**
 * Build a label set: invalid names are skipped, the first value of a name wins, values become
 * single-line (control characters → space) and are cut at LABEL_LIMITS.maxValueLength.
 */
export function toLabels(entries: Iterable<readonly [string, string]>): Record<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of entries) {
    if (out.size >= LABEL_LIMITS.maxLabels) break;
    if (!isLabelName(name) || out.has(name)) continue;
    out.set(name, labelValue(value));
  }
  return Object.fromEntries(out);
}

export function labelValue(value: string): string {
  let v = value.replace(CONTROL, ' ');
  if (v.length > LABEL_LIMITS.maxValueLength) {
    let cut = LABEL_LIMITS.maxValueLength - 1;
    const code = v.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // never split a surrogate pair
    v = `${v.slice(0, cut)}…`;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Deduplication

/** What identifies "the same event" for each kind of source. */
export type DedupBasis =
  /** Alertmanager resends a group on every group_interval; fingerprint+startsAt+status is one alert's one state. */
  | { kind: 'alertmanager'; fingerprint: string; startsAt: string; status: 'firing' | 'resolved' }
  /** CloudEvents 1.0: "source + id MUST be unique for each distinct event". */
  | { kind: 'cloudevents'; ceSource: string; ceId: string }
  /** A generic webhook whose mapping names an id field. */
  | { kind: 'webhook-id'; id: string }
  /** A generic webhook without an id: the RFC 8785 canonical JSON of the whole body. */
  | { kind: 'webhook-body'; body: unknown }
  /** A log line: where it was read (a re-read after restart is the same) and what it said (rotation is not). */
  | { kind: 'log-line'; file?: string; offset?: number; line: string };

/**
 * The stable dedup key (SHA-256 hex) of an event. Scoped by the ingesting source so that one
 * sender cannot suppress another's events by reusing their ids. Parts are encoded as a JSON
 * array, which is unambiguous whatever the parts contain. Throws for a webhook body that is not
 * JSON (a programmer mistake: bodies come from a JSON parser).
 */
export function dedupKey(source: string, basis: DedupBasis): string {
  let parts: unknown[];
  switch (basis.kind) {
    case 'alertmanager':
      parts = [basis.fingerprint, basis.startsAt, basis.status];
      break;
    case 'cloudevents':
      parts = [basis.ceSource, basis.ceId];
      break;
    case 'webhook-id':
      parts = [basis.id];
      break;
    case 'webhook-body':
      parts = [sha256Hex(canonicalJson(basis.body))];
      break;
    case 'log-line':
      parts = [basis.file ?? null, basis.offset ?? null, sha256Hex(basis.line)];
      break;
  }
  return sha256Hex(JSON.stringify(['bulwark-signal/1', basis.kind, source, ...parts]));
}

export function signalId(fingerprint: string): string {
  return `sig_${fingerprint.slice(0, 32)}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Everything a parser decides; the fingerprint and id follow from `dedup`. */
export interface SignalParts {
  source: string;
  time: string;
  receivedAt: string;
  severity: Severity;
  labels: Record<string, string>;
  body: unknown;
  dedup: DedupBasis;
  runId?: string | undefined;
  resolved?: boolean;
}

export function makeSignal(p: SignalParts): Signal {
  const fingerprint = dedupKey(p.source, p.dedup);
  const signal: Signal = {
    id: signalId(fingerprint),
    source: p.source,
    time: p.time,
    receivedAt: p.receivedAt,
    severity: p.severity,
    labels: p.labels,
    body: p.body,
    fingerprint,
    resolved: p.resolved ?? false,
  };
  if (p.runId !== undefined) signal.runId = p.runId;
  return signal;
}

// ---------------------------------------------------------------------------------------------
// Small helpers for parsers

/** Own enumerable property of a plain JSON object; never walks the prototype chain. */
export function field(value: unknown, key: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function safeJsonParse(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : 'not JSON' };
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: string | Uint8Array): string | undefined {
  if (typeof bytes === 'string') return bytes;
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A zod issue path as a reader writes it: `alerts[1].labels["odd key"]`; `(root)` for the whole. */
export function issuePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((seg, i) => {
      if (typeof seg === 'number') return `[${seg}]`;
      const name = String(seg);
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return i === 0 ? name : `.${name}`;
      return `[${JSON.stringify(name)}]`;
    })
    .join('');
}

export function describeIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}
