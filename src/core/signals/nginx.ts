/**
 * nginx access log lines in the predefined `combined` format:
 * $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
 * Scanned by hand, left to right, so a hostile line costs time linear in its length.
 */
import { extractRunId } from './correlation.ts';
import { lineDedup, MONTHS, prepareLine, type LogLineContext } from './log-line.ts';
import { fromCivil, makeSignal, reject, toLabels, type SignalResult } from './signal.ts';

// nginx `combined`:
// $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"

const TIME_LOCAL = /^(\d{2})\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/**
 * One access log line in nginx's predefined `combined` format (fields appended after it, as
 * custom formats often do, are ignored). Labels: `client`, `user`, `method`, `uri`, `protocol`,
 * `status`, `bytes`, `referer`, `user_agent` (or `request` when the request line is not
 * `METHOD URI PROTOCOL`). The run id comes from the user agent's `bulwark-run/<id>` or a canary in
 * the request. Severity is info: an access log records traffic, not judgements.
 */
export function parseNginxLine(line: string, ctx: LogLineContext): SignalResult {
  const prep = prepareLine(line, ctx);
  if (!prep.ok) return prep;
  const l = prep.line;
  const fail = (what: string) => reject(`not an nginx combined log line: ${what}`);
  let i = 0;
  const word = () => {
    const end = l.indexOf(' ', i);
    if (end < 0) return undefined;
    const w = l.slice(i, end);
    i = end + 1;
    return w;
  };
  const client = word();
  if (!client) return fail('expected the client address');
  if (word() === undefined) return fail('expected "-" after the client address');
  const open = l.indexOf(' [', i - 1);
  if (open < 0) return fail('expected [time_local]');
  const user = l.slice(i, open);
  const close = l.indexOf(']', open);
  if (close < 0) return fail('unterminated [time_local]');
  const rawTime = l.slice(open + 2, close);
  const time = nginxTime(rawTime);
  if (time === undefined) return fail(`time ${JSON.stringify(rawTime)} is not dd/Mon/yyyy:HH:MM:SS +zzzz`);
  i = close + 1;
  const quoted = () => {
    if (l[i] !== ' ' || l[i + 1] !== '"') return undefined;
    let j = i + 2;
    while (j < l.length && l[j] !== '"') j += l[j] === '\\' ? 2 : 1;
    if (j >= l.length) return undefined;
    const v = l.slice(i + 2, j);
    i = j + 1;
    return unescapeNginx(v);
  };
  const request = quoted();
  if (request === undefined) return fail('expected the quoted request line');
  const m = /^ (\d{3}) (\d+|-)/.exec(l.slice(i, i + 32));
  if (!m) return fail('expected the status and the byte count');
  i += m[0].length;
  const referer = quoted();
  const userAgent = referer === undefined ? undefined : quoted();
  if (userAgent === undefined) return fail('expected the quoted referer and user agent');

  const parts = request.split(' ');
  const parsedRequest = parts.length === 3 && /^[A-Z]{1,20}$/.test(parts[0]!) ? parts : undefined;
  const present = (v: string | undefined) => (v === undefined || v === '-' || v === '' ? undefined : v);
  const fields: Record<string, string> = Object.fromEntries(
    (
      [
        ['client', client],
        ['user', present(user)],
        ['method', parsedRequest?.[0]],
        ['uri', parsedRequest?.[1]],
        ['protocol', parsedRequest?.[2]],
        ['request', parsedRequest ? undefined : present(request)],
        ['status', m[1]],
        ['bytes', m[2]],
        ['referer', present(referer)],
        ['user_agent', present(userAgent)],
      ] as const
    ).flatMap(([k, v]) => (v === undefined ? [] : [[k, v]])),
  );
  return {
    ok: true,
    signal: makeSignal({
      source: ctx.source ?? 'nginx',
      time,
      receivedAt: prep.receivedAt,
      severity: 'info',
      labels: toLabels(Object.entries(fields)),
      body: { ...fields, time_local: rawTime },
      dedup: lineDedup(l, ctx),
      runId: extractRunId(userAgent, request),
    }),
  };
}

function nginxTime(raw: string): string | undefined {
  const m = TIME_LOCAL.exec(raw);
  if (!m) return undefined;
  const [, d, mon, y, h, mi, s, sign, oh, om] = m;
  const day = Number(d);
  if (day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60 || Number(oh) > 23 || Number(om) > 59) return undefined;
  const offset = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  return fromCivil(Number(y), MONTHS.indexOf(mon!) + 1, day, Number(h), Number(mi), Number(s), 0, offset);
}

/** nginx writes `"`, `\` and non-printable bytes as \xHH; turn the bytes back into UTF-8 text. */
function unescapeNginx(v: string): string {
  if (!v.includes('\\')) return v;
  const bytes: number[] = [];
  for (let j = 0; j < v.length; j++) {
    const c = v.charCodeAt(j);
    if (c === 0x5c && v[j + 1] === 'x' && /^[0-9A-Fa-f]{2}$/.test(v.slice(j + 2, j + 4))) {
      bytes.push(parseInt(v.slice(j + 2, j + 4), 16));
      j += 3;
    } else if (c === 0x5c && (v[j + 1] === '"' || v[j + 1] === '\\')) {
      bytes.push(v.charCodeAt(++j));
    } else {
      for (const b of Buffer.from(v[j]!, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
