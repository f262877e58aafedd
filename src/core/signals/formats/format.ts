/**
 * What a signal format is: one module declaring its parser, the media types it reads, and how
 * its payloads arrive (an HTTP ingest route, or lines of a log file the tailer follows). The
 * formats are listed once, in registry.ts; the ingest routes and the log tailer are built from
 * that list, so adding a format is one module and one line there.
 *
 * Every parser has the same shape: bytes (and, over HTTP, the request's headers) in, the signals
 * out, or a DomainError `invalid` saying what is wrong. Nothing else escapes it (a test walks the
 * registry and fuzzes each one).
 */
import { invalid } from '../../errors.ts';
import { parseJsonBounded } from '../../input/bounded-json.ts';
import { INPUT_LIMITS } from '../../input/limits.ts';
import type { HeaderBag } from '../correlation.ts';
import { decodeUtf8, type Signal } from '../signal.ts';
import type { WebhookMapping } from '../webhook-mapping.ts';

/** One payload as it arrived: an HTTP request's body and headers, or one line of a log file. */
export interface FormatInput {
  bytes: Uint8Array;
  /** The request's headers, lower-case names (HTTP only). */
  headers?: HeaderBag;
  /** The request's headers as received: name, value, name, value, … (HTTP only). */
  rawHeaders?: readonly string[];
}

/** What the caller knows about the payload. */
export interface FormatContext {
  /** Bulwark's receipt time, RFC 3339 (from the caller's clock). */
  receivedAt: string;
  /** The source it came in under (`?source=`, the URL's `:source`, the tailed file's source). */
  source: string;
  /** The webhook mappings declared in the configuration (signals.webhooks), by source name. */
  webhooks?: Readonly<Record<string, WebhookMapping>>;
  /** A log line: the file and byte offset it was read at (a re-read after a restart then dedups). */
  file?: string;
  offset?: number;
  /** A log line: UTC offset, in minutes, of the clock that wrote zone-less times (ModSecurity). */
  localUtcOffsetMinutes?: number;
  /** A log line: longer lines are refused. */
  maxLineLength?: number;
}

/** The raw payload kept as a signal's evidence, with its media type. */
export interface Evidence {
  bytes: Uint8Array;
  mediaType: string;
}

/** Posted to an HTTP ingest route, `POST /v1/signals/…`. */
export interface HttpArrival {
  kind: 'http';
  /** The route's URL; `:source` in it names the source, otherwise `?source=NAME` does. */
  url: string;
  /** The route's one-line description (OpenAPI). */
  summary: string;
  /** The source when the request names none (`?source=` routes only). */
  defaultSource?: string;
  /**
   * The Content-Types the parser reads, checked before the body is read; a request with another
   * answers 415 with `otherwise`. Without it, any.
   */
  accepts?: { test(contentType: string | undefined): boolean; otherwise: string };
  /** Other answers the route gives besides 400/401/403 (OpenAPI). */
  errors: number[];
}

/** Lines of a log file the tailer follows (configuration: signals.files[].format). */
export interface LogArrival {
  kind: 'log';
}

export type Arrival = HttpArrival | LogArrival;

export interface SignalFormat<Name extends string = string, A extends Arrival = Arrival> {
  /** The format's name: a log file's `format`, and the default source of its signals. */
  name: Name;
  /**
   * The media types the parser reads, the one its evidence is stored as when the payload says
   * none first (an HTTP route's raw body types, for OpenAPI; `*\/*`: any).
   */
  mediaTypes: readonly [string, ...string[]];
  arrival: A;
  /**
   * Before anything is read: is the source one this format can take? Throws a DomainError
   * (`not_found` for a webhook source without a mapping).
   */
  checkSource?(source: string, ctx: Pick<FormatContext, 'webhooks'>): void;
  /** The payload → its signals, in payload order; throws DomainError `invalid` for anything else. */
  parse(input: FormatInput, ctx: FormatContext): Signal[];
  /** The evidence to keep for a payload; by default its bytes, as the media type it came with. */
  evidence?(input: FormatInput): Evidence;
}

/** Declare a format, keeping its name and arrival kind as literal types for the registry. */
export function defineFormat<const Name extends string, const A extends Arrival>(format: SignalFormat<Name, A>): SignalFormat<Name, A> {
  return format;
}

/** JSON media types (application/json, text/json, anything +json), or none said. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const media = mediaTypeName(contentType);
  return media === 'application/json' || media === 'text/json' || media.endsWith('+json');
}

/** `type/subtype` of a Content-Type, lower-case, without parameters. */
export function mediaTypeName(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

const MEDIA_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;\s*[\w!#$&^.+-]+=("[^"\r\n]*"|[\w!#$&^.+-]+))*$/;

/** The payload's Content-Type as the evidence's media type when it is a well-formed one; the fallback when it says none. */
export function evidenceMediaType(contentType: unknown, fallback: string): string {
  if (contentType === undefined) return fallback;
  if (typeof contentType !== 'string') return 'application/octet-stream';
  const v = contentType.trim();
  return v.length <= 200 && MEDIA_TYPE.test(v) ? v : 'application/octet-stream';
}

/** The default evidence: the payload's bytes, as the media type it came with, else the format's first. */
export function evidenceOfPayload(format: Pick<SignalFormat, 'mediaTypes' | 'evidence'>, input: FormatInput): Evidence {
  if (format.evidence) return format.evidence(input);
  return { bytes: input.bytes, mediaType: evidenceMediaType(input.headers?.['content-type'], format.mediaTypes[0]) };
}

/** A JSON body within the input bounds (depth, values, storable text), or DomainError `invalid`. */
export function jsonBody(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw invalid('the body is empty; send a JSON object');
  const text = decodeUtf8(bytes);
  if (text === undefined) throw invalid('the body is not valid UTF-8');
  return parseJsonBounded(text, INPUT_LIMITS.json, 'the body');
}

/** A log line's text, or DomainError `invalid`. */
export function lineText(bytes: Uint8Array): string {
  const text = decodeUtf8(bytes);
  if (text === undefined) throw invalid('not valid UTF-8');
  return text;
}
