/**
 * The http provider over node:http/https (not fetch: fetch cannot turn TLS verification off per
 * request, nor tell a connect timeout from a read timeout). Every request carries the run id in
 * the X-Bulwark-Run header and as a user-agent product token, so a WAF audit log or an access
 * log can name the run. Chaos Toolkit's semantics: `arguments` are the query string of a GET and
 * the form (or JSON, when the content type says so) body otherwise; `max_retries` retries
 * connection errors only; `expected_status` fails the activity on any other status.
 */
import http from 'node:http';
import https from 'node:https';
import { RUN_HEADER, userAgentWithRun } from '../../core/signals/correlation.ts';
import type { HttpProvider, JsonValue } from '../../core/experiments/types.ts';
import { ActivityFailed, type HttpResult, type ProviderContext } from '../../app/experiments/runner/providers.ts';
import { sleep } from '../../app/sleep.ts';
import { VERSION } from '../../version.ts';

export interface HttpProviderOptions {
  /** Response bodies are read up to this many bytes, the rest is dropped (default 1 MiB). */
  maxBodyBytes?: number;
  /** The user agent before the run token (default `bulwark/VERSION`). */
  userAgent?: string;
  /** Connect and read timeouts when the activity gives none (default 10 s and 30 s). */
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
}

export function httpProvider(opts: HttpProviderOptions = {}): (p: HttpProvider, ctx: ProviderContext) => Promise<HttpResult> {
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  return async (p, ctx) => {
    const req = buildRequest(p, ctx.runId, opts.userAgent ?? `bulwark/${VERSION}`);
    const timeouts = {
      connectMs: p.timeout?.connectMs ?? opts.connectTimeoutMs ?? 10_000,
      readMs: p.timeout?.readMs ?? opts.readTimeoutMs ?? 30_000,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await send(req, p.verifyTls, timeouts, maxBody, ctx);
        if (p.expectedStatus && !p.expectedStatus.includes(res.status)) {
          throw new ActivityFailed(`${p.method} ${redactUrl(req.url)} answered ${res.status}, expected ${p.expectedStatus.join(' or ')}`);
        }
        return res;
      } catch (e) {
        if (ctx.signal.aborted || !(e instanceof ConnectionError) || attempt >= p.maxRetries) {
          if (e instanceof ConnectionError) throw new ActivityFailed(e.message);
          throw e;
        }
        await sleep(100 * 2 ** attempt, ctx.signal);
      }
    }
  };
}

interface BuiltRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** The URL without its query string, for messages (a query may hold a secret or a payload). */
const redactUrl = (u: URL) => `${u.protocol}//${u.host}${u.pathname}`;

function setHeader(headers: Record<string, string>, name: string, value: string): void {
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name.toLowerCase()) delete headers[k];
  headers[name] = value;
}

function getHeader(headers: Record<string, string>, name: string): string | undefined {
  const k = Object.keys(headers).find((h) => h.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : headers[k];
}

function scalar(v: JsonValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Query or form pairs from Chaos Toolkit arguments: a mapping (lists repeat the key) or a string. */
function pairs(args: JsonValue): [string, string][] | string {
  if (typeof args === 'string') return args;
  if (args !== null && typeof args === 'object' && !Array.isArray(args)) {
    return Object.entries(args).flatMap(([k, v]) =>
      Array.isArray(v) ? v.map((x) => [k, scalar(x)] as [string, string]) : [[k, scalar(v)]],
    );
  }
  return JSON.stringify(args);
}

export function buildRequest(p: HttpProvider, runId: string, baseUserAgent: string): BuiltRequest {
  const url = new URL(p.url);
  const headers: Record<string, string> = { ...p.headers };
  let body: Buffer | undefined;
  if (p.arguments !== undefined) {
    const a = pairs(p.arguments);
    if (p.method === 'GET') {
      if (typeof a === 'string') url.search = url.search ? `${url.search}&${a}` : a;
      else for (const [k, v] of a) url.searchParams.append(k, v);
    } else if ((getHeader(headers, 'content-type') ?? '').toLowerCase().includes('json')) {
      body = Buffer.from(JSON.stringify(p.arguments));
    } else {
      body = Buffer.from(typeof a === 'string' ? a : new URLSearchParams(a).toString());
      if (getHeader(headers, 'content-type') === undefined) setHeader(headers, 'Content-Type', 'application/x-www-form-urlencoded');
    }
  } else if (p.body !== undefined) {
    if (typeof p.body === 'string') body = Buffer.from(p.body);
    else {
      body = Buffer.from(JSON.stringify(p.body));
      if (getHeader(headers, 'content-type') === undefined) setHeader(headers, 'Content-Type', 'application/json');
    }
  }
  // Ours win over the file's: a file cannot make a run impersonate another.
  setHeader(headers, RUN_HEADER, runId);
  setHeader(headers, 'User-Agent', userAgentWithRun(getHeader(headers, 'user-agent') ?? baseUserAgent, runId));
  if (body !== undefined) setHeader(headers, 'Content-Length', String(body.length));
  return { url, method: p.method, headers, ...(body !== undefined ? { body } : {}) };
}

/** A failure before any response arrived: the one kind of failure `max_retries` retries. */
class ConnectionError extends Error {}

function send(
  r: BuiltRequest,
  verifyTls: boolean,
  timeouts: { connectMs: number; readMs: number },
  maxBody: number,
  ctx: ProviderContext,
): Promise<HttpResult> {
  return new Promise<HttpResult>((resolve, reject) => {
    if (ctx.signal.aborted) return reject(ctx.signal.reason as Error);
    const secure = r.url.protocol === 'https:';
    const options: https.RequestOptions = {
      method: r.method,
      headers: r.headers,
      // A fresh connection per activity: no state shared between runs through a pooled socket.
      agent: false,
      signal: ctx.signal,
      ...(secure ? { rejectUnauthorized: verifyTls } : {}),
    };
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      req.destroy();
      reject(e);
    };
    const req = (secure ? https : http).request(r.url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on('data', (c: Buffer) => {
        if (truncated) return;
        const room = maxBody - size;
        if (c.length > room) {
          chunks.push(c.subarray(0, room));
          size = maxBody;
          truncated = true;
          // Enough: drop the rest rather than hold an unbounded body in memory.
          res.destroy();
          finish();
          return;
        }
        chunks.push(c);
        size += c.length;
      });
      const finish = () => {
        if (settled) return;
        settled = true;
        const text = Buffer.concat(chunks).toString('utf8');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        let body: unknown = text;
        if (!truncated && (headers['content-type'] ?? '').toLowerCase().includes('json')) {
          try {
            body = JSON.parse(text) as unknown;
          } catch {
            // Chaos Toolkit keeps the text when a JSON response does not parse.
          }
        }
        resolve({ status: res.statusCode ?? 0, headers, body });
      };
      res.on('end', finish);
      res.on('error', (e) => (truncated ? undefined : fail(e)));
    });
    const connectTimer = setTimeout(
      () => fail(new ConnectionError(`${r.method} ${redactUrl(r.url)}: no connection within ${timeouts.connectMs} ms`)),
      timeouts.connectMs,
    );
    req.on('socket', (s) => {
      const connected = () => {
        clearTimeout(connectTimer);
        ctx.sent();
        // Socket inactivity from here on is the read timeout.
        req.setTimeout(timeouts.readMs, () =>
          fail(new ActivityFailed(`${r.method} ${redactUrl(r.url)}: no answer within ${timeouts.readMs} ms`)),
        );
      };
      if (!s.connecting) connected();
      else s.once(secure ? 'secureConnect' : 'connect', connected);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (ctx.signal.aborted) return fail(ctx.signal.reason as Error);
      // Before the response: the connection failed (refused, reset, TLS) and may be retried.
      fail(new ConnectionError(`${r.method} ${redactUrl(r.url)}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ').trim()));
    });
    req.end(r.body);
  });
}
