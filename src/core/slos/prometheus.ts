/**
 * SLIs from an external Prometheus, over its HTTP API: what the file says (the base URL, the
 * hosts it may call, the good or bad and total queries), the queries sent for each window, and
 * the SLI events rebuilt from their answers. Pure: the requests are sent by the app
 * (app/slos/prometheus-source.ts).
 *
 * A query is a PromQL expression with `{{.window}}` where the range goes (Sloth's placeholder;
 * `{{window}}` is accepted too), e.g. `sum(increase(http_requests_total{code!~"5.."}[{{.window}}]))`,
 * or a bare series selector (`http_requests_total{code!~"5.."}`), which is read as
 * `sum(increase(SELECTOR[window]))`.
 *
 * Every window Bulwark needs (each alert window and the budget period) ends now, so the windows
 * are nested: the counts of the shortest, then what each longer one adds, are placed as events
 * inside each ring. The budget math (budget.ts) then gives, for every window, exactly the ratio
 * Prometheus answered for it.
 */
import { z } from 'zod';
import { hostMatches } from '../experiments/blast-radius.ts';
import { isMetadataAddress, LOOPBACK_HOSTS, validHostEntry } from '../playbooks/safety.ts';
import { formatPromDuration, parsePromDuration } from './duration.ts';
import type { PrometheusSli, SliEvent } from './types.ts';

export { LOOPBACK_HOSTS };

export const DEFAULT_PROMETHEUS_TIMEOUT_MS = 2000;
export const MAX_PROMETHEUS_TIMEOUT_MS = 10_000;
const MAX_QUERY = 2000;

const PLACEHOLDER = /\{\{\s*\.?window\s*\}\}/g;
/** A series selector: a metric name with optional label matchers, or label matchers alone. */
const SELECTOR = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(\{[^{}]*\})?\s*$/;

/** Why a query cannot be used, or undefined. */
export function queryRefusal(q: string): string | undefined {
  if (q.trim() === '') return 'a query is a PromQL expression; this one is empty';
  if (q.length > MAX_QUERY) return `a query is at most ${MAX_QUERY} characters`;
  if (new RegExp(PLACEHOLDER.source).test(q)) return undefined;
  const m = SELECTOR.exec(q);
  if (m && (m[1] !== undefined || m[2] !== undefined)) return undefined;
  return 'put {{.window}} where the range goes, e.g. sum(increase(requests_total[{{.window}}])), or give a bare series selector such as requests_total{code!~"5.."}';
}

/** The query for one window: `{{.window}}` replaced, or a selector's increase over it. */
export function windowQuery(q: string, ms: number): string {
  // Prometheus ranges in whole seconds (a calendar period's start is to the millisecond).
  const range = formatPromDuration(Math.max(1000, Math.round(ms / 1000) * 1000));
  if (new RegExp(PLACEHOLDER.source).test(q)) return q.replace(PLACEHOLDER, range);
  return `sum(increase(${q.trim()}[${range}]))`;
}

/** Why Bulwark will not call `url`, or undefined: http(s), no credentials in it, a host the file allows, never a metadata address. */
export function prometheusUrlRefusal(url: string, allowHosts: readonly string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `url ${JSON.stringify(url)} is not a valid URL (e.g. http://prometheus.internal:9090)`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `url ${JSON.stringify(url)} is not an http(s) URL`;
  if (u.username || u.password) return `url ${u.origin} carries credentials in it; Bulwark sends none to Prometheus`;
  if (u.search || u.hash) return `url ${JSON.stringify(url)} is Prometheus's base URL, without a query or fragment`;
  const host = u.hostname;
  if (isMetadataAddress(host)) return `${host} is a link-local or cloud metadata address; Bulwark never calls it`;
  if (!allowHosts.some((e) => hostMatches(e, host)))
    return `${host} is not in allowHosts (${allowHosts.join(', ')}); add it there to let Bulwark query it`;
  return undefined;
}

const query = (what: string) =>
  z
    .string()
    .max(MAX_QUERY)
    .superRefine((q, ctx) => {
      const why = queryRefusal(q);
      if (why) ctx.addIssue({ code: 'custom', message: `${what}: ${why}` });
    });

/** `sli.prometheus` in a Bulwark file. */
export const prometheusSliSchema = z
  .strictObject({
    url: z.string().min(1).max(2000),
    good: query('good').optional(),
    bad: query('bad').optional(),
    total: query('total'),
    allowHosts: z
      .array(z.string().refine(validHostEntry, 'a host name, *.domain, an IP address or an IPv4 CIDR block'))
      .min(1)
      .max(20)
      .optional(),
    timeout: z
      .string()
      .refine(
        (s) => {
          const ms = parsePromDuration(s);
          return ms !== undefined && ms <= MAX_PROMETHEUS_TIMEOUT_MS;
        },
        `timeout: a duration of at most ${MAX_PROMETHEUS_TIMEOUT_MS / 1000}s, such as 2s or 500ms`,
      )
      .optional(),
  })
  .superRefine((p, ctx) => {
    if ((p.good === undefined) === (p.bad === undefined))
      ctx.addIssue({ code: 'custom', message: 'give the good query or the bad one (one of them), and total', path: ['good'] });
    const why = prometheusUrlRefusal(p.url, p.allowHosts ?? LOOPBACK_HOSTS);
    if (why) ctx.addIssue({ code: 'custom', message: `url: ${why}`, path: ['url'] });
  });

export function toPrometheusSli(p: z.output<typeof prometheusSliSchema>): PrometheusSli {
  return {
    source: 'prometheus',
    url: p.url.replace(/\/+$/, ''),
    ...(p.good !== undefined ? { good: p.good } : {}),
    ...(p.bad !== undefined ? { bad: p.bad } : {}),
    total: p.total,
    allowHosts: p.allowHosts ?? [...LOOPBACK_HOSTS],
    timeoutMs: p.timeout !== undefined ? parsePromDuration(p.timeout)! : DEFAULT_PROMETHEUS_TIMEOUT_MS,
  };
}

/** What one window's queries answered: good (or bad) and total events over the window ending now. */
export interface WindowCounts {
  ms: number;
  good: number;
  total: number;
}

/**
 * SLI events equivalent to nested windows' counts: for windows sorted by length, the first
 * window's counts and then each longer one's increments, each placed in the middle of its ring,
 * so that any window's tally (events in (now − ms, now]) gives back its counts. An increment
 * below zero (Prometheus extrapolates each range on its own) counts as zero; good never exceeds
 * total within a ring.
 */
export function nestedEvents(windows: readonly WindowCounts[], now: number): SliEvent[] {
  const sorted = [...windows].sort((a, b) => a.ms - b.ms);
  const events: SliEvent[] = [];
  let prev = { ms: 0, good: 0, total: 0 };
  for (const w of sorted) {
    if (w.ms <= prev.ms) continue;
    const total = Math.max(0, w.total - prev.total);
    const good = Math.min(total, Math.max(0, w.good - prev.good));
    if (total > 0) events.push({ at: now - (prev.ms + w.ms) / 2, good, total });
    prev = { ms: w.ms, good: Math.max(prev.good, w.good), total: Math.max(prev.total, w.total) };
  }
  return events;
}

/** A number out of an instant query's answer (`data` of /api/v1/query), or why not. Nothing matched: 0 events. */
export function readInstant(data: unknown): { ok: true; value: number } | { ok: false; why: string } {
  const d = data as { resultType?: unknown; result?: unknown } | null;
  if (!d || typeof d !== 'object') return { ok: false, why: 'the answer has no data' };
  const num = (v: unknown): { ok: true; value: number } | { ok: false; why: string } => {
    const pair = Array.isArray(v) ? v : undefined;
    const n = typeof pair?.[1] === 'string' ? Number(pair[1]) : NaN;
    return Number.isFinite(n)
      ? { ok: true, value: n }
      : { ok: false, why: `the value ${JSON.stringify(pair?.[1] ?? null)} is not a finite number` };
  };
  if (d.resultType === 'scalar') return num(d.result);
  if (d.resultType !== 'vector' || !Array.isArray(d.result))
    return { ok: false, why: `the query gives a ${String(d.resultType)}, not an instant vector or scalar` };
  if (d.result.length === 0) return { ok: true, value: 0 };
  if (d.result.length > 1) return { ok: false, why: `the query gives ${d.result.length} series; aggregate it to one, e.g. with sum(...)` };
  return num((d.result[0] as { value?: unknown }).value);
}
