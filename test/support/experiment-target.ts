/**
 * A small loopback HTTP target for experiment tests: a "shop" with a switchable control. Each
 * request is answered by `decide` (block → 403, allow → 200, …), and the target can report what
 * it saw the way a WAF would: a signal posted through the real ingest use case after N ms, with
 * the request's run id (from X-Bulwark-Run) or without one (an alert on a metric). GET /health
 * answers 200 while `healthy`, 503 otherwise. Every request is recorded.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { evidenceOf, type SignalIngest } from '../../src/app/signals/ingest.ts';
import { makeSignal } from '../../src/core/signals/signal.ts';
import { systemActor } from '../../src/core/ledger/actor.ts';

export interface TargetRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  runId?: string;
  at: number;
}

export interface TargetDecision {
  status?: number;
  /** Answer with the request's headers as JSON (to test that secrets are not journaled). */
  echo?: boolean;
  /** Report the request as a signal after this many ms. */
  signal?: { afterMs: number; withRunId?: boolean; labels?: Record<string, string>; source?: string };
}

export interface Target {
  url: string;
  port: number;
  requests: TargetRequest[];
  healthy: boolean;
  decide: (req: TargetRequest) => TargetDecision;
  /** Requests other than GET /health. */
  attacks(): TargetRequest[];
  /** Signals posted so far (resolved once stored). */
  posted: Promise<unknown>[];
  close(): Promise<void>;
}

/** The WAF rule id the target's signals carry by default. */
export const RULE = '942100';

export async function startTarget(opts: { ingest?: Pick<SignalIngest, 'ingest'>; decide?: Target['decide'] } = {}): Promise<Target> {
  const timers = new Set<NodeJS.Timeout>();
  const target: Target = {
    url: '',
    port: 0,
    requests: [],
    healthy: true,
    decide: opts.decide ?? (() => ({ status: 200 })),
    attacks: () => target.requests.filter((r) => r.url !== '/health'),
    posted: [],
    close: async () => {
      for (const t of timers) clearTimeout(t);
      await Promise.allSettled(target.posted);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const header = req.headers['x-bulwark-run'];
      const r: TargetRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body,
        ...(typeof header === 'string' ? { runId: header } : {}),
        at: Date.now(),
      };
      target.requests.push(r);
      if (r.url === '/health') {
        res.writeHead(target.healthy ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(target.healthy ? 'ok' : 'down');
        return;
      }
      const d = target.decide(r);
      const status = d.status ?? 200;
      if (d.echo) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ headers: req.headers, body }));
      } else {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status === 403 ? 'blocked by the input filter' : 'results');
      }
      if (d.signal && opts.ingest) {
        const s = d.signal;
        const t = setTimeout(() => {
          timers.delete(t);
          target.posted.push(postSignal(opts.ingest!, r, s));
        }, s.afterMs);
        timers.add(t);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  target.port = (server.address() as AddressInfo).port;
  target.url = `http://127.0.0.1:${target.port}`;
  return target;
}

function postSignal(ingest: Pick<SignalIngest, 'ingest'>, r: TargetRequest, s: NonNullable<TargetDecision['signal']>): Promise<unknown> {
  const now = new Date().toISOString();
  // The path only: what the target saw in a query string (a test's secret) is not the runner's to store.
  const body = { method: r.method, path: r.url.split('?')[0], status: 'blocked-or-logged' };
  const signal = makeSignal({
    source: s.source ?? 'waf',
    time: now,
    receivedAt: now,
    severity: 'high',
    labels: { rule: RULE, ...(s.labels ?? {}) },
    body,
    dedup: { kind: 'webhook-id', id: randomUUID() },
    ...(s.withRunId !== false && r.runId !== undefined ? { runId: r.runId } : {}),
  });
  return ingest.ingest({
    actor: systemActor('tailer:waf'),
    items: [{ signal, raw: evidenceOf(Buffer.from(JSON.stringify(body)), 'application/json') }],
  });
}
