import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpProvider } from '../../core/experiments/types.ts';
import { ActivityFailed, type ProviderContext } from '../../app/experiments/runner/providers.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { httpProvider } from './http.ts';

const RUN = 'abcdefgh12345678';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: http.Server;
let base: string;
const seen: Seen[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('x'.repeat(5_000_000));
      } else if (req.url === '/silent') {
        // never answers
      } else if (req.url === '/blocked') {
        res.writeHead(403, { 'content-type': 'text/html' });
        res.end('<h1>Forbidden</h1>');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, path: req.url }));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const provider = (p: Partial<HttpProvider>): HttpProvider => ({
  type: 'http',
  url: `${base}/`,
  method: 'GET',
  headers: {},
  verifyTls: true,
  maxRetries: 0,
  secrets: [],
  ...p,
});

function ctx(signal = new AbortController().signal): ProviderContext & { sentAt?: number } {
  const c: ProviderContext & { sentAt?: number } = { runId: RUN, signal, sent: () => (c.sentAt ??= Date.now()) };
  return c;
}

describe('http provider', () => {
  const run = httpProvider({ maxBodyBytes: 1000 });

  it('carries the run id in a header and the user agent, whatever the file sets', async () => {
    const c = ctx();
    const before = Date.now();
    const res = await run(provider({ headers: { 'x-bulwark-run': 'zzzzzzzzzzzzzzzz', 'User-Agent': 'curl/8.5' } }), c);
    const req = seen.at(-1)!;
    expect(req.headers['x-bulwark-run']).toBe(RUN);
    expect(req.headers['user-agent']).toBe(`curl/8.5 bulwark-run/${RUN}`);
    expect(res).toEqual({
      status: 200,
      headers: expect.objectContaining({ 'content-type': 'application/json' }),
      body: { ok: true, path: '/' },
    });
    expect(c.sentAt).toBeGreaterThanOrEqual(before);
  });

  it('sends Chaos Toolkit arguments as the query of a GET, a form otherwise, JSON when the content type says so', async () => {
    await run(provider({ url: `${base}/q?a=1`, arguments: { q: "' OR 1=1--", n: [1, 2] } }), ctx());
    expect(seen.at(-1)!.url).toBe(`/q?a=1&q=%27+OR+1%3D1--&n=1&n=2`);
    await run(provider({ method: 'POST', arguments: { user: 'admin', pass: 'x y' } }), ctx());
    expect(seen.at(-1)!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen.at(-1)!.body).toBe('user=admin&pass=x+y');
    await run(provider({ method: 'POST', headers: { 'Content-Type': 'application/json' }, arguments: { a: [1, { b: null }] } }), ctx());
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ a: [1, { b: null }] });
    await run(provider({ method: 'PUT', body: { x: 1 } }), ctx());
    expect(seen.at(-1)!.headers['content-type']).toBe('application/json');
    await run(provider({ method: 'POST', body: '<xml/>' }), ctx());
    expect(seen.at(-1)!.body).toBe('<xml/>');
  });

  it('returns a blocked response as a result, not a failure', async () => {
    const res = await run(provider({ url: `${base}/blocked` }), ctx());
    expect(res.status).toBe(403);
    expect(res.body).toBe('<h1>Forbidden</h1>');
  });

  it('fails the activity on a status outside expected_status', async () => {
    await expect(run(provider({ url: `${base}/blocked`, expectedStatus: [200] }), ctx())).rejects.toThrow(/answered 403, expected 200/);
  });

  it('reads at most the body limit of a large response', async () => {
    const res = await run(provider({ url: `${base}/big` }), ctx());
    expect(res.status).toBe(200);
    expect((res.body as string).length).toBe(1000);
  });

  it('fails after the read timeout when the target never answers', async () => {
    const t0 = Date.now();
    await expect(run(provider({ url: `${base}/silent`, timeout: { connectMs: 1000, readMs: 200 } }), ctx())).rejects.toThrow(
      /no answer within 200 ms/,
    );
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('stops at once when the run is aborted', async () => {
    const ac = new AbortController();
    const p = run(provider({ url: `${base}/silent` }), ctx(ac.signal));
    setTimeout(() => ac.abort(new Error('stopped by a person')), 100);
    await expect(p).rejects.toThrow('stopped by a person');
  });

  it('fails a refused connection after max_retries, naming the error but not the query', async () => {
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await run(provider({ url: `http://127.0.0.1:${port}/x?secret=hunter22`, maxRetries: 2 }), ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActivityFailed);
    expect(String(err)).toMatch(/ECONNREFUSED/);
    expect(String(err)).not.toMatch(/hunter22/);
  });
});

describe('http provider over TLS', () => {
  let dir: TmpDir;
  let tls: https.Server;
  let url: string;
  beforeAll(async () => {
    dir = await tmpDir('bulwark-tls-');
    const key = path.join(dir.path, 'key.pem');
    const cert = path.join(dir.path, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      {
        stdio: 'ignore',
      },
    );
    tls = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => res.end('secure'));
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    tls.closeAllConnections();
    await new Promise((r) => tls.close(r));
    await dir.cleanup();
  });

  it('refuses a self-signed certificate unless verify_tls is false', async () => {
    const run = httpProvider();
    await expect(run(provider({ url }), ctx())).rejects.toThrow(/self[- ]signed|certificate/i);
    expect(await run(provider({ url, verifyTls: false }), ctx())).toMatchObject({ status: 200, body: 'secure' });
  });
});
