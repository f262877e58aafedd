/**
 * An experiment that holds its target for a while (two slow requests in a row), for the tests
 * of the per-target limit, and the target it runs against: a loopback HTTP server that answers
 * `/slow` after `delayMs` and records, per request, when it came and when it was answered, and
 * the most requests it had in hand at once.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const LIMIT_EXPERIMENT = `
title: the shop stays up under slow requests
description: two slow requests in a row against one host
configuration:
  target: http://127.0.0.1:1
method:
  - type: action
    name: slow-1
    provider: {type: http, url: "\${target}/slow"}
  - type: action
    name: slow-2
    provider: {type: http, url: "\${target}/slow"}
`;

export interface SlowTarget {
  url: string;
  /** Each request: its run id (X-Bulwark-Run), when it came and when it was answered (epoch ms). */
  requests: { runId?: string; at: number; end: number }[];
  /** The most requests in hand at once. */
  maxInFlight: number;
  close(): Promise<void>;
}

export async function startSlowTarget(delayMs = 200): Promise<SlowTarget> {
  let inFlight = 0;
  const target: SlowTarget = { url: '', requests: [], maxInFlight: 0, close: async () => {} };
  const server = http.createServer((req, res) => {
    const header = req.headers['x-bulwark-run'];
    const rec = { ...(typeof header === 'string' ? { runId: header } : {}), at: Date.now(), end: 0 };
    target.requests.push(rec);
    inFlight += 1;
    target.maxInFlight = Math.max(target.maxInFlight, inFlight);
    req.resume();
    setTimeout(() => {
      inFlight -= 1;
      rec.end = Date.now();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('slow');
    }, delayMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  target.close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return target;
}
