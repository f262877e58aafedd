/**
 * auditd records as auditd writes them to audit.log (RAW or ENRICHED):
 * `[node=HOST ]type=TYPE msg=audit(EPOCH.MS:SERIAL): key=value …`. One line is one record; the
 * records of one event share EPOCH.MS:SERIAL, kept as the `audit_id` label for grouping later.
 */
import { extractRunId } from './correlation.ts';
import { lineDedup, prepareLine, type LogLineContext } from './log-line.ts';
import { epochMillisToIso, makeSignal, reject, toLabels, type SignalResult } from './signal.ts';

const AUDIT_HEAD = /^(?:node=(\S+) )?type=([A-Za-z0-9_]+) msg=audit\((\d{1,12})\.(\d{3}):(\d{1,20})\): ?/;
/** Fields auditd hex-encodes when their value holds a space, a quote or a control character. */
const HEX_FIELDS = new Set(['proctitle', 'comm', 'exe', 'cwd', 'name', 'cmd', 'ocomm', 'path', 'key', 'data', 'file', 'dir', 'watch']);

/**
 * One auditd record. Labels: `type`, `node`, `audit_id` (`EPOCH.MS:SERIAL`, shared by the
 * records of one event) and every key=value pair, including those inside a quoted `msg='…'`
 * and the enriched (log_format=ENRICHED) ones; hex-encoded strings are decoded. The run id comes
 * from canaries in the values (a path, a command line). Severity is info.
 */
export function parseAuditdLine(line: string, ctx: LogLineContext): SignalResult {
  const prep = prepareLine(line, ctx);
  if (!prep.ok) return prep;
  const m = AUDIT_HEAD.exec(prep.line);
  if (!m) return reject('not an auditd record: expected "type=TYPE msg=audit(EPOCH.MS:SERIAL): …"');
  const [head, node, type, secs, ms, serial] = m;
  const time = epochMillisToIso(Number(secs) * 1000 + Number(ms));
  if (time === undefined) return reject('auditd timestamp is out of range');
  const pairs: [string, string][] = [];
  auditPairs(prep.line.slice(head.length).replace(/\x1d/g, ' '), type!, pairs, 0);
  const fields = new Map<string, string>();
  for (const [k, v] of pairs) if (!fields.has(k)) fields.set(k, v);
  const auditId = `${secs}.${ms}:${serial}`;
  return {
    ok: true,
    signal: makeSignal({
      source: ctx.source ?? 'auditd',
      time,
      receivedAt: prep.receivedAt,
      severity: 'info',
      labels: toLabels([['type', type!], ...(node !== undefined ? [['node', node] as const] : []), ['audit_id', auditId], ...fields]),
      body: { type, ...(node !== undefined && { node }), audit_id: auditId, fields: Object.fromEntries(fields) },
      dedup: lineDedup(prep.line, ctx),
      runId: extractRunId([...fields.values()].join('\n')),
    }),
  };
}

/** Tokenise `k=v k="v" k='nested k=v …'`; words without `=` (AVC's free text) are skipped. */
function auditPairs(text: string, type: string, out: [string, string][], depth: number): void {
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && text[i] === ' ') i++;
    const start = i;
    while (i < n && /[A-Za-z0-9_-]/.test(text[i]!)) i++;
    const key = text.slice(start, i);
    if (key === '' || text[i] !== '=') {
      while (i < n && text[i] !== ' ') i++; // skip the word
      if (i === start) i++;
      continue;
    }
    i++; // '='
    const q = text[i];
    let value: string;
    let quoted = false;
    if (q === '"' || q === "'") {
      const end = text.indexOf(q, i + 1);
      const stop = end < 0 ? n : end;
      value = text.slice(i + 1, stop);
      i = stop + 1;
      quoted = true;
    } else {
      const end = text.indexOf(' ', i);
      const stop = end < 0 ? n : end;
      value = text.slice(i, stop);
      i = stop;
    }
    if (q === "'" && depth === 0) {
      auditPairs(value, type, out, depth + 1); // USER_* records put their fields in msg='…'
      continue;
    }
    if (!quoted && (HEX_FIELDS.has(key) || (type === 'EXECVE' && /^a\d+$/.test(key))) && /^(?:[0-9A-F]{2})+$/.test(value)) {
      value = Buffer.from(value, 'hex')
        .toString('utf8')
        .replace(/[\0\x01]/g, ' ')
        .trimEnd();
    }
    out.push([key, value]);
  }
}
