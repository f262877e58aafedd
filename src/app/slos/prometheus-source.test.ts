/**
 * Prometheus SLIs reach their host through the pinned lookup: the address checked is the one
 * connected to (one resolution per query, a metadata answer refused before any connection), and
 * a failure is told in a fixed sentence, never the connection's error or what the host answered.
 * Real HTTP over loopback; the resolver is a test's, so a name can answer what a rebinding DNS
 * server would.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedGet, type Resolve } from '../net/pinned-request.ts';
import { instantQuery } from './prometheus-source.ts';

let server: http.Server;
let port = 0;
let requests = 0;
let answer: (res: http.ServerResponse) => unknown = (res) =>
  res.end(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [0, '42'] } }));

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    requests++;
    answer(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

/** A resolver that answers loopback first and the metadata address after, counting its calls. */
function rebinding() {
  const r = { calls: 0, resolve: undefined as unknown as Resolve };
  r.resolve = (_host, cb) => {
    r.calls++;
    cb(null, [{ address: r.calls === 1 ? '127.0.0.1' : '169.254.169.254', family: 4 }]);
  };
  return r;
}

const sli = (url: string) => ({ url, allowHosts: ['prom.test', '127.0.0.1'], timeoutMs: 2000 });

describe('Prometheus queries', () => {
  it('resolve a name once, and connect to the address that was checked', async () => {
    const dns = rebinding();
    expect(await instantQuery(sli(`http://prom.test:${port}`), 'up', 0, dns.resolve)).toEqual({ ok: true, value: 42 });
    expect(dns.calls).toBe(1);
    // The next resolution answers the metadata address: refused, and nothing is sent.
    const before = requests;
    const r = await instantQuery(sli(`http://prom.test:${port}`), 'up', 0, dns.resolve);
    expect(r).toEqual({ ok: false, why: 'not queried: the host resolves to a link-local or cloud metadata address' });
    expect(requests).toBe(before);
  });

  it('tell a closed port, a timeout, another service and a PromQL error in fixed sentences, without their text', async () => {
    const closed = await new Promise<number>((r) => {
      const s = http.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const down = await instantQuery(sli(`http://127.0.0.1:${closed}`), 'up', 0);
    expect(down.ok).toBe(false);
    expect(!down.ok && down.why).toBe(
      `Prometheus at http://127.0.0.1:${closed} gave no query result (unreachable, too slow, or not answering as Prometheus does)`,
    );
    answer = (res) => res.writeHead(404).end('SSH-2.0-OpenSSH_9.6 secret banner');
    const other = await instantQuery(sli(`http://127.0.0.1:${port}`), 'up', 0);
    expect(!other.ok && other.why).toBe(
      `Prometheus at http://127.0.0.1:${port} gave no query result (unreachable, too slow, or not answering as Prometheus does)`,
    );
    answer = (res) => res.writeHead(400).end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'secret banner' }));
    const refused = await instantQuery(sli(`http://127.0.0.1:${port}`), 'up', 0);
    expect(!refused.ok && refused.why).toBe(
      `Prometheus at http://127.0.0.1:${port} refused the query: check it in Prometheus (its error is not shown here)`,
    );
    answer = () => undefined; // never answers
    const slow = await instantQuery({ ...sli(`http://127.0.0.1:${port}`), timeoutMs: 100 }, 'up', 0);
    expect(!slow.ok && slow.why).toMatch(/gave no query result/);
  });

  it('read at most the bound of an answer', async () => {
    answer = (res) => res.end('x'.repeat(5000));
    expect(await pinnedGet(`http://127.0.0.1:${port}/`, { timeoutMs: 2000, maxBytes: 1000 })).toMatchObject({
      ok: false,
      reason: 'failed',
    });
    expect(await pinnedGet(`http://169.254.169.254/`, { timeoutMs: 2000, maxBytes: 1000 })).toMatchObject({
      ok: false,
      reason: 'metadata',
    });
  });
});
