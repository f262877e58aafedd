/**
 * SLI events from an external Prometheus: one instant query per window and query
 * (`GET {url}/api/v1/query?query=…&time=…`, at the evaluation instant), each bounded by the SLI's
 * timeout, sent only to the hosts the file allows (checked again here, and never to a name that
 * resolves to a link-local or metadata address), no redirects followed, at most 1 MiB read. Any
 * failure (Prometheus down, slow, a PromQL error, an answer that is not one number) makes the
 * whole SLI unknown, with why: never a guess, so never a false page.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import * as timers from 'node:timers/promises';
import { isMetadataAddress } from '../../core/playbooks/safety.ts';
import { nestedEvents, prometheusUrlRefusal, readInstant, windowQuery, type WindowCounts } from '../../core/slos/prometheus.ts';
import type { PrometheusSli, SliEvent } from '../../core/slos/types.ts';

const MAX_ANSWER = 1024 * 1024;

export type PrometheusRead = { ok: true; events: SliEvent[]; windows: WindowCounts[] } | { ok: false; why: string };

/** One instant query's number, or why there is none. */
export async function instantQuery(
  sli: Pick<PrometheusSli, 'url' | 'allowHosts' | 'timeoutMs'>,
  expr: string,
  at: number,
): Promise<{ ok: true; value: number } | { ok: false; why: string }> {
  const refusal = prometheusUrlRefusal(sli.url, sli.allowHosts);
  if (refusal) return { ok: false, why: `not queried: ${refusal}` };
  const url = `${sli.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${(at / 1000).toFixed(3)}`;
  try {
    const host = new URL(sli.url).hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) === 0) {
      // The name's lookup is bounded by the timeout too (a resolver that does not answer).
      const addrs = await Promise.race([
        lookup(host, { all: true }),
        timers.setTimeout(sli.timeoutMs, undefined, { ref: false }).then(() => {
          throw Object.assign(new Error('timeout'), { name: 'TimeoutError' });
        }),
      ]);
      const bad = addrs.find((a) => isMetadataAddress(a.address));
      if (bad) return { ok: false, why: `not queried: ${host} resolves to ${bad.address}, a link-local or cloud metadata address` };
    }
    const res = await fetch(url, {
      signal: AbortSignal.timeout(sli.timeoutMs),
      redirect: 'manual',
      headers: { accept: 'application/json' },
    });
    const text = await boundedText(res);
    let body: { status?: unknown; error?: unknown; errorType?: unknown; data?: unknown } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (body?.status === 'error')
      return { ok: false, why: `Prometheus refused the query (${String(body.errorType)}): ${String(body.error)}` };
    if (!res.ok || body?.status !== 'success')
      return { ok: false, why: `Prometheus answered HTTP ${res.status}${body ? '' : ', not JSON'}` };
    const v = readInstant(body.data);
    return v.ok ? v : { ok: false, why: `the query ${JSON.stringify(expr)}: ${v.why}` };
  } catch (e) {
    const err = e as Error & { cause?: Error };
    const why =
      err.name === 'TimeoutError' ? `no answer within ${sli.timeoutMs} ms (the SLI's timeout)` : (err.cause?.message ?? err.message);
    return { ok: false, why: `Prometheus at ${sli.url} cannot be reached: ${why}` };
  }
}

async function boundedText(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER) {
      await reader.cancel();
      throw new Error(`the answer is larger than ${MAX_ANSWER} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

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
