/**
 * SLI events from an external Prometheus: one instant query per window and query
 * (`GET {url}/api/v1/query?query=…&time=…`, at the evaluation instant), each bounded by the SLI's
 * timeout, sent only to the hosts the file allows (checked again here, and never to a name that
 * resolves to a link-local or metadata address: the address checked is the one connected to,
 * net/pinned-request.ts), no redirects followed, at most 1 MiB read. Any failure (Prometheus down, slow,
 * a PromQL error, an answer that is not one number) makes the whole SLI unknown, with why: never
 * a guess, so never a false page. Why is a fixed sentence, not the connection's error or the
 * answer's text: the status note must not tell an open port from a closed one, or show what some
 * other service answered.
 */
import { nestedEvents, prometheusUrlRefusal, readInstant, windowQuery, type WindowCounts } from '../../core/slos/prometheus.ts';
import type { PrometheusSli, SliEvent } from '../../core/slos/types.ts';
import { pinnedGet, type Resolve } from '../net/pinned-request.ts';

const MAX_ANSWER = 1024 * 1024;

export type PrometheusRead = { ok: true; events: SliEvent[]; windows: WindowCounts[] } | { ok: false; why: string };

/** One instant query's number, or why there is none. */
export async function instantQuery(
  sli: Pick<PrometheusSli, 'url' | 'allowHosts' | 'timeoutMs'>,
  expr: string,
  at: number,
  resolve?: Resolve,
): Promise<{ ok: true; value: number } | { ok: false; why: string }> {
  const refusal = prometheusUrlRefusal(sli.url, sli.allowHosts);
  if (refusal) return { ok: false, why: `not queried: ${refusal}` };
  const url = `${sli.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${(at / 1000).toFixed(3)}`;
  const res = await pinnedGet(url, { timeoutMs: sli.timeoutMs, maxBytes: MAX_ANSWER, headers: { accept: 'application/json' } }, resolve);
  if (!res.ok)
    return {
      ok: false,
      why: res.reason === 'metadata' ? `not queried: ${NOT_METADATA}` : `Prometheus at ${sli.url} ${NO_ANSWER}`,
    };
  let body: { status?: unknown; data?: unknown } | undefined;
  try {
    body = JSON.parse(res.text) as typeof body;
  } catch {
    body = undefined;
  }
  if (body?.status === 'error') return { ok: false, why: `Prometheus at ${sli.url} ${REFUSED}` };
  if (res.status < 200 || res.status > 299 || body?.status !== 'success')
    return { ok: false, why: `Prometheus at ${sli.url} ${NO_ANSWER}` };
  const v = readInstant(body.data);
  return v.ok ? v : { ok: false, why: `the query ${JSON.stringify(expr)}: ${v.why}` };
}

/** The fixed sentences of a failed query. */
export const NO_ANSWER = 'gave no query result (unreachable, too slow, or not answering as Prometheus does)';
export const REFUSED = 'refused the query: check it in Prometheus (its error is not shown here)';
export const NOT_METADATA = 'the host resolves to a link-local or cloud metadata address';

/** The SLI's counts over each window ending at `now` (lengths in ms), as events the budget math reads. */
export async function prometheusSliEvents(sli: PrometheusSli, windowsMs: readonly number[], now: number): Promise<PrometheusRead> {
  const lengths = [...new Set(windowsMs)].sort((a, b) => a - b);
  const goodQuery = (sli.good ?? sli.bad)!;
  const answers = await Promise.all(
    lengths.map(async (ms) => {
      const [g, t] = await Promise.all([
        instantQuery(sli, windowQuery(goodQuery, ms), now),
        instantQuery(sli, windowQuery(sli.total, ms), now),
      ]);
      return { ms, g, t };
    }),
  );
  const windows: WindowCounts[] = [];
  for (const a of answers) {
    if (!a.g.ok) return { ok: false, why: a.g.why };
    if (!a.t.ok) return { ok: false, why: a.t.why };
    const total = Math.max(0, a.t.value);
    const good = sli.good !== undefined ? a.g.value : total - a.g.value;
    windows.push({ ms: a.ms, good: Math.min(Math.max(0, good), total), total });
  }
  return { ok: true, events: nestedEvents(windows, now), windows };
}
