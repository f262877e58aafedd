/**
 * CloudEvents 1.0 over HTTP (HTTP protocol binding 1.0.2) into a signal. Structured mode is an
 * `application/cloudevents+json` body holding every attribute; binary mode carries attributes as
 * `ce-` headers and the event data as the body. Batched mode is refused: one event per request
 * keeps "2xx means durable" true for exactly one event.
 */
import { readJson } from '../input/bounded-json.ts';
import { extractRunId, isRunId, type HeaderBag } from './correlation.ts';
import { DEFAULT_SEVERITY, normaliseSeverity } from './severity.ts';
import {
  decodeUtf8,
  describeIssues,
  field,
  isPlainRecord,
  makeSignal,
  normaliseReceivedAt,
  parseTimestamp,
  reject,
  toLabels,
  type IngestContext,
  type Issue,
  type SignalResult,
} from './signal.ts';

export const CLOUDEVENTS_SOURCE = 'cloudevents';
export const STRUCTURED_MEDIA_TYPE = 'application/cloudevents+json';
export const BATCH_MEDIA_TYPE = 'application/cloudevents-batch+json';
/** The extension attribute an emitter can set to name the run (attribute names are [a-z0-9]). */
export const RUN_EXTENSION = 'bulwarkrun';

/** An HTTP request as the route has it: headers and the raw body. */
export interface HttpMessage {
  headers: HeaderBag;
  body: string | Uint8Array;
}

/** Attribute values after decoding: the CloudEvents type system as JSON carries it. */
export type AttributeValue = string | boolean | number;

/** A validated CloudEvent: context attributes, and data in one of its two forms. */
export interface CloudEvent {
  attributes: Record<string, AttributeValue> & { specversion: '1.0'; id: string; source: string; type: string };
  /** JSON value, or a string for text data; absent when the event has no data. */
  data?: unknown;
  /** Binary data, base64 (structured `data_base64`, or a binary-mode body that is neither JSON nor text). */
  dataBase64?: string;
}

export type CloudEventResult = { ok: true; event: CloudEvent } | { ok: false; reason: string; issues?: Issue[] };

const NAME = /^[a-z0-9]{1,64}$/;
const MAX_EXTENSIONS = 64;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INT32 = 2 ** 31;

/** Parse either content mode into a signal; never throws. */
export function parseCloudEvent(message: HttpMessage, ctx: IngestContext): SignalResult {
  const receivedAt = normaliseReceivedAt(ctx.receivedAt);
  const r = decodeCloudEvent(message);
  if (!r.ok) return r;
  return cloudEventToSignal(r.event, { receivedAt, source: ctx.source ?? CLOUDEVENTS_SOURCE });
}

/** Decode and validate the event itself, choosing the mode by Content-Type as §3 of the binding says. */
export function decodeCloudEvent(message: HttpMessage): CloudEventResult {
  const headers = lowerCaseHeaders(message.headers);
  if (!headers.ok) return headers;
  const contentType = headers.value.get('content-type');
  const media = contentType === undefined ? undefined : mediaType(contentType);
  if (media === BATCH_MEDIA_TYPE)
    return reject('batched CloudEvents are not accepted; send one event per request (structured or binary mode)');
  if (media === STRUCTURED_MEDIA_TYPE) return decodeStructured(message.body);
  if (headers.value.has('ce-specversion')) return decodeBinary(headers.value, contentType, message.body);
  return reject(
    `not a CloudEvent: Content-Type is ${contentType === undefined ? 'absent' : JSON.stringify(contentType)}, not ${STRUCTURED_MEDIA_TYPE}, and there is no ce-specversion header (binary mode)`,
  );
}

function decodeStructured(body: string | Uint8Array): CloudEventResult {
  const text = decodeUtf8(body);
  if (text === undefined) return reject('structured CloudEvent body is not valid UTF-8');
  // Bounded (depth, values, storable text: INPUT_LIMITS.json) like every JSON input.
  const json = readJson(text);
  if (!json.ok)
    return reject(json.syntax ? `structured CloudEvent body is not JSON: ${json.reason}` : `structured CloudEvent body ${json.reason}`);
  if (Array.isArray(json.value)) return reject('a JSON array is the batched mode, which is not accepted; send one event per request');
  if (!isPlainRecord(json.value)) return reject('structured CloudEvent body must be a JSON object');
  const obj = json.value;
  const issues: Issue[] = [];
  const attributes: Record<string, AttributeValue> = {};
  let count = 0;
  for (const [name, value] of Object.entries(obj)) {
    if (name === 'data' || name === 'data_base64') continue;
    if (!NAME.test(name)) {
      issues.push({ path: name, message: 'attribute names are lower-case letters and digits only' });
      continue;
    }
    if (++count > MAX_EXTENSIONS) {
      issues.push({ path: name, message: `more than ${MAX_EXTENSIONS} attributes` });
      break;
    }
    if (
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isInteger(value) && value >= -INT32 && value < INT32)
    ) {
      attributes[name] = value;
    } else {
      issues.push({ path: name, message: 'must be a string, a boolean or a 32-bit integer' });
    }
  }
  const hasData = Object.hasOwn(obj, 'data');
  const dataBase64 = field(obj, 'data_base64');
  if (hasData && dataBase64 !== undefined) issues.push({ path: 'data_base64', message: 'an event carries data or data_base64, not both' });
  if (dataBase64 !== undefined && (typeof dataBase64 !== 'string' || !BASE64.test(dataBase64))) {
    issues.push({ path: 'data_base64', message: 'must be a base64 string (RFC 4648)' });
  }
  const checked = checkAttributes(attributes, issues);
  if (!checked) return invalidEvent(issues);
  const event: CloudEvent = { attributes: checked };
  if (hasData) event.data = obj.data;
  if (typeof dataBase64 === 'string') event.dataBase64 = dataBase64;
  return { ok: true, event };
}

function decodeBinary(headers: ReadonlyMap<string, string>, contentType: string | undefined, body: string | Uint8Array): CloudEventResult {
  const issues: Issue[] = [];
  const attributes: Record<string, AttributeValue> = {};
  let count = 0;
  for (const [header, raw] of headers) {
    if (!header.startsWith('ce-')) continue;
    const name = header.slice(3);
    if (name === 'datacontenttype') {
      issues.push({ path: header, message: 'must not be sent in binary mode; the Content-Type header is the datacontenttype' });
      continue;
    }
    if (!NAME.test(name)) {
      issues.push({ path: header, message: 'attribute names are lower-case letters and digits only' });
      continue;
    }
    if (++count > MAX_EXTENSIONS) {
      issues.push({ path: header, message: `more than ${MAX_EXTENSIONS} attributes` });
      break;
    }
    const value = decodeHeaderValue(raw);
    if (value === undefined) issues.push({ path: header, message: 'is not valid percent-encoded UTF-8 (binding §3.1.3.2)' });
    else attributes[name] = value;
  }
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  const checked = checkAttributes(attributes, issues);
  if (!checked) return invalidEvent(issues);
  const event: CloudEvent = { attributes: checked };
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (bytes.length === 0) return { ok: true, event };
  const media = contentType === undefined ? undefined : mediaType(contentType);
  const text = decodeUtf8(bytes);
  if (media !== undefined && isJsonMedia(media)) {
    const json = text === undefined ? undefined : readJson(text);
    if (json !== undefined && !json.ok && !json.syntax) return reject(`CloudEvent data ${json.reason}`);
    if (!json?.ok) return reject(`CloudEvent data is not valid JSON although Content-Type is ${JSON.stringify(contentType)}`);
    event.data = json.value;
  } else if (media === undefined) {
    // No Content-Type: take JSON when it is JSON, text when it is text, bytes otherwise.
    const json = text === undefined ? undefined : readJson(text);
    if (json !== undefined && !json.ok && !json.syntax) return reject(`CloudEvent data ${json.reason}`);
    if (json?.ok) event.data = json.value;
    else if (text !== undefined) event.data = text;
    else event.dataBase64 = Buffer.from(bytes).toString('base64');
  } else if (isTextMedia(media) && text !== undefined) {
    event.data = text;
  } else {
    event.dataBase64 = Buffer.from(bytes).toString('base64');
  }
  return { ok: true, event };
}

/** The required and typed context attributes of CloudEvents 1.0 §3.1; issues say what to fix. */
function checkAttributes(attributes: Record<string, AttributeValue>, issues: Issue[]): CloudEvent['attributes'] | undefined {
  const { specversion, id, source, type, time, subject, dataschema, datacontenttype } = attributes;
  if (specversion === undefined) issues.push({ path: 'specversion', message: 'is required and must be "1.0"' });
  else if (specversion !== '1.0')
    issues.push({ path: 'specversion', message: `${JSON.stringify(specversion)} is not supported; Bulwark reads CloudEvents "1.0"` });
  for (const [name, value] of [
    ['id', id],
    ['source', source],
    ['type', type],
  ] as const) {
    if (typeof value !== 'string' || value === '') issues.push({ path: name, message: 'is required, a non-empty string' });
  }
  if (time !== undefined && parseTimestamp(time) === undefined) issues.push({ path: 'time', message: 'must be an RFC 3339 timestamp' });
  for (const [name, value] of [
    ['subject', subject],
    ['dataschema', dataschema],
    ['datacontenttype', datacontenttype],
  ] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === ''))
      issues.push({ path: name, message: 'must be a non-empty string when present' });
  }
  if (issues.length > 0) return undefined;
  return attributes as CloudEvent['attributes'];
}

function invalidEvent(issues: Issue[]): { ok: false; reason: string; issues: Issue[] } {
  return { ok: false, reason: `invalid CloudEvent: ${describeIssues(issues)}`, issues };
}

/** The signal for a validated event. */
export function cloudEventToSignal(event: CloudEvent, ctx: { receivedAt: string; source: string }): SignalResult {
  const a = event.attributes;
  const order = ['type', 'source', 'subject', 'id', 'specversion', 'time', 'datacontenttype', 'dataschema'];
  const names = [...order.filter((n) => a[n] !== undefined), ...Object.keys(a).filter((n) => !order.includes(n))];
  const data = event.data;
  const severity =
    normaliseSeverity(a.severity) ??
    normaliseSeverity(field(data, 'severity')) ??
    normaliseSeverity(field(data, 'priority')) ??
    DEFAULT_SEVERITY;
  const explicitRun = a[RUN_EXTENSION];
  const dataText = data === undefined ? undefined : typeof data === 'string' ? data : JSON.stringify(data);
  const signal = makeSignal({
    source: ctx.source,
    time: (a.time === undefined ? undefined : parseTimestamp(a.time)) ?? ctx.receivedAt,
    receivedAt: ctx.receivedAt,
    severity,
    labels: toLabels(names.map((n) => [n, String(a[n])] as const)),
    body: event.dataBase64 !== undefined ? { data_base64: event.dataBase64 } : data,
    dedup: { kind: 'cloudevents', ceSource: a.source, ceId: a.id },
    runId: isRunId(explicitRun) ? explicitRun : extractRunId(typeof a.subject === 'string' ? a.subject : undefined, dataText),
  });
  return { ok: true, signal };
}

// ---------------------------------------------------------------------------------------------

function lowerCaseHeaders(headers: HeaderBag): { ok: true; value: Map<string, string> } | { ok: false; reason: string } {
  const out = new Map<string, string>();
  for (const name of Object.keys(headers)) {
    const raw = headers[name];
    const lower = name.toLowerCase();
    if (raw === undefined) continue;
    if (typeof raw !== 'string') {
      if (lower === 'content-type' || lower.startsWith('ce-')) return reject(`header ${lower} must appear once`);
      continue;
    }
    if (out.has(lower)) return reject(`header ${lower} must appear once`);
    out.set(lower, raw);
  }
  return { ok: true, value: out };
}

/** `application/JSON; charset=utf-8` → `application/json`. */
function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function isJsonMedia(media: string): boolean {
  return media === 'application/json' || media === 'text/json' || media.endsWith('+json');
}

function isTextMedia(media: string): boolean {
  return media.startsWith('text/') || media === 'application/xml' || media.endsWith('+xml');
}

/**
 * Binding §3.1.3.2: undo RFC 7230 double-quoting, then one round of percent-decoding; invalid
 * UTF-8 (overlong forms included) must be rejected, which decodeURIComponent does.
 */
export function decodeHeaderValue(raw: string): string | undefined {
  let v = raw.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
  try {
    return decodeURIComponent(v);
  } catch {
    return undefined;
  }
}
