/**
 * How an experiment run's id travels into what it injects, and how it is read back out of what
 * the watched systems report. Three carriers, because controls log different parts of a request:
 * a request header (a WAF's audit log keeps headers), a user-agent suffix (an access log keeps the
 * user agent but no custom header) and canary values (planted credentials, query strings, files).
 *
 * A run id is `[a-z0-9]{8,32}`, checked whole: a longer or odd-cased token is no id at all, never
 * a truncated one, so a hostile value cannot borrow a prefix and cannot carry anything else.
 */

export const RUN_ID = /^[a-z0-9]{8,32}$/;
/** The request header the runner sets. Header names are case-insensitive (RFC 9110 §5.1). */
export const RUN_HEADER = 'X-Bulwark-Run';
/** Appended to the user agent as a product token (RFC 9110 §10.1.5): `curl/8.5 bulwark-run/<id>`. */
export const USER_AGENT_MARKER = 'bulwark-run/';
/** Canary values are `bwk-canary-<id>` or `bwk-canary-<id>-<tag>`. */
export const CANARY_PREFIX = 'bwk-canary-';

/** Text longer than this is scanned only up to here: the carriers sit in headers and request lines. */
export const MAX_SCAN_LENGTH = 1 << 20;

export function isRunId(value: unknown): value is string {
  return typeof value === 'string' && RUN_ID.test(value);
}

function assertRunId(runId: string): void {
  if (!isRunId(runId)) throw new Error(`run id must match ${RUN_ID.source}, got ${JSON.stringify(runId)}`);
}

/** The header to add to every injected request. */
export function runHeaders(runId: string): Record<string, string> {
  assertRunId(runId);
  return { [RUN_HEADER]: runId };
}

/** The user agent with the run marker appended as its last product token. */
export function userAgentWithRun(userAgent: string, runId: string): string {
  assertRunId(runId);
  const base = userAgent.trim();
  return base === '' ? `${USER_AGENT_MARKER}${runId}` : `${base} ${USER_AGENT_MARKER}${runId}`;
}

/** A canary value that names the run; `tag` tells several canaries of one run apart. */
export function canaryValue(runId: string, tag?: string): string {
  assertRunId(runId);
  if (tag === undefined) return `${CANARY_PREFIX}${runId}`;
  if (!/^[a-z0-9]{1,16}$/.test(tag)) throw new Error(`canary tag must match [a-z0-9]{1,16}, got ${JSON.stringify(tag)}`);
  return `${CANARY_PREFIX}${runId}-${tag}`;
}

/**
 * Request headers as Node gives them (lower-case names, string or string[] values) or as a log
 * wrote them (any case); values of other types are ignored.
 */
export type HeaderBag = Readonly<Record<string, unknown>>;

// Each captures the whole alphanumeric run after the marker; isRunId then decides. Markers are
// matched case-insensitively (logs sometimes fold case), the id itself is not.
const TEXT_CARRIERS: readonly RegExp[] = [
  /(?<![A-Za-z0-9-])x-bulwark-run["']?\s*[:=]\s*["']?([A-Za-z0-9]+)/gi,
  /(?<![A-Za-z0-9])bulwark-run\/([A-Za-z0-9]+)/gi,
  /(?<![A-Za-z0-9])bwk-canary-([A-Za-z0-9]+)/gi,
];

function scanText(text: string, into: string[]): void {
  const t = text.length > MAX_SCAN_LENGTH ? text.slice(0, MAX_SCAN_LENGTH) : text;
  for (const re of TEXT_CARRIERS) {
    for (const m of t.matchAll(re)) {
      const id = m[1];
      if (isRunId(id) && !into.includes(id)) into.push(id);
    }
  }
}

function headerValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

function scanHeaders(headers: HeaderBag, into: string[]): void {
  for (const name of Object.keys(headers)) {
    const values = headerValues(headers[name]);
    if (name.toLowerCase() === RUN_HEADER.toLowerCase()) {
      // The header's value must be exactly an id; Node joins repeated headers with ", ".
      for (const v of values.flatMap((x) => x.split(','))) {
        const id = v.trim();
        if (isRunId(id) && !into.includes(id)) into.push(id);
      }
    } else {
      for (const v of values) scanText(v, into);
    }
  }
}

/** Every distinct valid run id carried by the inputs (texts or header sets), in order of discovery. */
export function extractRunIds(...inputs: ReadonlyArray<string | HeaderBag | undefined>): string[] {
  const ids: string[] = [];
  for (const input of inputs) {
    if (typeof input === 'string') scanText(input, ids);
    else if (input !== undefined && input !== null && typeof input === 'object') scanHeaders(input, ids);
  }
  return ids;
}

/**
 * The run id the inputs carry, when they carry exactly one. Two different ids make the signal
 * ambiguous, and an ambiguous signal must not be credited to either run (it can still match by
 * expression within a run's window), so the answer is then undefined.
 */
export function extractRunId(...inputs: ReadonlyArray<string | HeaderBag | undefined>): string | undefined {
  const ids = extractRunIds(...inputs);
  return ids.length === 1 ? ids[0] : undefined;
}
