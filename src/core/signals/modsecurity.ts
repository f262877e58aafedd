/**
 * ModSecurity v3's JSON audit log (SecAuditLogFormat JSON; parts ABHZ at least), one object per
 * line as Transaction::toJSON writes it: transaction.{client_ip, time_stamp, unique_id, request
 * {method, uri, headers}, response {http_code}, messages[].details {ruleId, severity, tags, …}}.
 * ruleId and severity are strings there; severity is a syslog level.
 */
import { readJson } from '../input/bounded-json.ts';
import { extractRunId } from './correlation.ts';
import { lineDedup, MONTHS, prepareLine, type LogLineContext } from './log-line.ts';
import { maxSeverity, syslogSeverity, type Severity } from './severity.ts';
import { field, fromCivil, isPlainRecord, makeSignal, parseTimestamp, reject, toLabels, type SignalResult } from './signal.ts';

/** Request and response headers never kept in a signal's body: signals reach the ledger, secrets must not. */
const SECRET_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie)$|token|secret|passw|api[-_]?key|session/i;
const CTIME =
  /^(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

interface RuleHit {
  ruleId: string;
  /** The syslog level as written (0 = emergency … 7 = debug): finer than our five severities for picking `rule`. */
  level: number | undefined;
  tags: string[];
}

/**
 * One ModSecurity v3 JSON audit entry. Labels: `rule` (the most severe rule that matched, the
 * first among equals — CRS's anomaly-evaluation rule 949110 comes after the rule that scored),
 * `rules` and `tags` (comma lists, in order), `status`, `method`, `uri`, `host`, `client`,
 * `unique_id`. The run id is read from the request headers (X-Bulwark-Run in any case, the user
 * agent, canaries) and the URI.
 */
export function parseModSecurityLine(line: string, ctx: LogLineContext): SignalResult {
  const prep = prepareLine(line, ctx);
  if (!prep.ok) return prep;
  // Bounded (depth, values, storable text: INPUT_LIMITS.json) like every JSON input.
  const json = readJson(prep.line);
  if (!json.ok) return reject(json.syntax ? `not JSON: ${json.reason}` : `the entry ${json.reason}`);
  const tx = field(json.value, 'transaction');
  if (!isPlainRecord(tx)) return reject('no "transaction" object: not a ModSecurity v3 JSON audit entry (SecAuditLogFormat JSON)');
  const uniqueId = tx.unique_id;
  if (typeof uniqueId !== 'string' || uniqueId === '') return reject('transaction.unique_id is missing or not a string');
  const rawTime = tx.time_stamp;
  const time = modsecTime(rawTime, ctx.localUtcOffsetMinutes ?? 0);
  if (time === undefined)
    return reject(`transaction.time_stamp ${JSON.stringify(rawTime)} is neither ctime ("Wed Nov 15 22:13:20 2023") nor RFC 3339`);

  const request = isPlainRecord(tx.request) ? tx.request : {};
  const response = isPlainRecord(tx.response) ? tx.response : {};
  const headers = isPlainRecord(request.headers) ? request.headers : {};
  const status = response.http_code;
  const messages = Array.isArray(tx.messages) ? tx.messages : [];

  const hits: RuleHit[] = [];
  for (const m of messages) {
    const d = field(m, 'details');
    const id = field(d, 'ruleId');
    const ruleId =
      typeof id === 'string' && /^\d{1,10}$/.test(id) ? id : typeof id === 'number' && Number.isInteger(id) ? String(id) : undefined;
    if (ruleId === undefined) continue;
    const tags = field(d, 'tags');
    const sev = field(d, 'severity');
    const level = syslogSeverity(sev) === undefined ? undefined : Number(sev);
    hits.push({ ruleId, level, tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [] });
  }
  let top: RuleHit | undefined;
  let severity: Severity = 'info';
  for (const h of hits) {
    const s = syslogSeverity(h.level);
    if (s !== undefined) severity = maxSeverity(severity, s);
    if (top === undefined || rank(h.level) > rank(top.level)) top = h;
  }

  const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);
  const host = headerValue(headers, 'host');
  const labels = toLabels(
    (
      [
        ['rule', top?.ruleId],
        ['rules', hits.length > 0 ? distinct(hits.map((h) => h.ruleId)).join(',') : undefined],
        ['tags', hits.length > 0 ? distinct(hits.flatMap((h) => h.tags)).join(',') : undefined],
        ['status', str(status)],
        ['method', str(request.method)],
        ['uri', str(request.uri)],
        ['host', host],
        ['client', str(tx.client_ip)],
        ['unique_id', uniqueId],
      ] as const
    ).flatMap(([k, v]) => (v === undefined || v === '' ? [] : [[k, v] as const])),
  );

  const body = {
    ...tx,
    request: withoutBody(request, redactHeaders(headers)),
    response: withoutBody(response, isPlainRecord(response.headers) ? redactHeaders(response.headers) : undefined),
  };
  return {
    ok: true,
    signal: makeSignal({
      source: ctx.source ?? 'modsecurity',
      time,
      receivedAt: prep.receivedAt,
      severity,
      labels,
      body,
      dedup: lineDedup(prep.line, ctx),
      runId: extractRunId(headers, typeof request.uri === 'string' ? request.uri : undefined),
    }),
  };
}

/** Order for picking `rule`: a lower syslog level is more severe; a rule without one ranks last. */
function rank(level: number | undefined): number {
  return level === undefined ? -1 : 7 - level;
}

function modsecTime(raw: unknown, offsetMinutes: number): string | undefined {
  if (!Number.isInteger(offsetMinutes) || Math.abs(offsetMinutes) > 18 * 60)
    throw new Error('localUtcOffsetMinutes must be an integer within ±1080');
  if (typeof raw !== 'string') return undefined;
  const m = CTIME.exec(raw.trim());
  if (!m) return parseTimestamp(raw);
  const [, mon, d, h, mi, s, y] = m;
  const month = MONTHS.indexOf(mon!) + 1;
  const day = Number(d);
  if (day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return undefined;
  return fromCivil(Number(y), month, day, Number(h), Number(mi), Number(s), 0, offsetMinutes);
}

function headerValue(headers: Record<string, unknown>, name: string): string | undefined {
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    if (k.toLowerCase() === name && typeof v === 'string') return v;
  }
  return undefined;
}

function redactHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, SECRET_HEADER.test(k) ? '[redacted]' : v]));
}

/** Bodies (audit parts C, E) can hold credentials and are large; the raw line is the evidence. */
function withoutBody(part: Record<string, unknown>, headers: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(part).filter(([k]) => k !== 'body' && k !== 'headers'));
  if (headers !== undefined) out.headers = headers;
  return out;
}

function distinct(xs: string[]): string[] {
  return [...new Set(xs)];
}
