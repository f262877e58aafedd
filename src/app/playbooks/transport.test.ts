/**
 * The http and notify steps' transport (also incidents' webhooks): the name is resolved once, by
 * the connection, so the address checked is the address connected to. Real loopback HTTP; the
 * resolver is the test's, answering as a rebinding DNS server would.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resolve } from '../net/pinned-request.ts';
import { pinnedTransport } from './transport.ts';

let server: http.Server;
let port: number;
const seen: { method: string; body: string; key: string | undefined }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method!, body, key: req.headers['idempotency-key'] as string | undefined });
      res.setHeader('content-type', 'application/json');
      res.end(req.url === '/big' ? JSON.stringify({ pad: 'x'.repeat(100_000) }) : '{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Answers loopback the first time, the metadata address after: one lookup must be all there is. */
function rebinding(): Resolve & { calls: number } {
  const f = ((host: string, cb: Parameters<Resolve>[1]) => {
    f.calls += 1;
    cb(null, [{ address: f.calls === 1 ? '127.0.0.1' : '169.254.169.254', family: 4 }]);
  }) as Resolve & { calls: number };
  f.calls = 0;
  return f;
}

describe('the steps transport', () => {
  it('sends the method, body and headers to the address it checked, with one lookup', async () => {
    const resolve = rebinding();
    const r = await pinnedTransport(resolve).send(
      { method: 'POST', url: `http://shop.test:${port}/block`, headers: { 'Idempotency-Key': 'run.step.1' }, body: { ip: '198.51.100.7' } },
      2000,
    );
    expect(r).toEqual({ ok: true, status: 200, body: { ok: true } });
    expect(resolve.calls).toBe(1);
    expect(seen.at(-1)).toEqual({ method: 'POST', body: '{"ip":"198.51.100.7"}', key: 'run.step.1' });
  });

  it('refuses a name that resolves to a metadata address before connecting', async () => {
    const before = seen.length;
    const resolve: Resolve = (_host, cb) => cb(null, [{ address: '169.254.169.254', family: 4 }]);
    const r = await pinnedTransport(resolve).send({ method: 'GET', url: `http://evil.test:${port}/`, headers: {} }, 2000);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/evil\.test resolves to 169\.254\.169\.254: a link-local or cloud metadata address/);
    expect(seen.length).toBe(before);
  });

  it("keeps the first 64 KiB of a long answer, and names the step's timeout when none comes", async () => {
    const big = await pinnedTransport().send({ method: 'GET', url: `http://127.0.0.1:${port}/big`, headers: {} }, 2000);
    expect(big.ok && typeof big.body === 'string' && big.body.length).toBe(64 * 1024);
    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const r = await pinnedTransport().send(
        { method: 'GET', url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, headers: {} },
        200,
      );
      expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/no answer within 200 ms \(the step's timeout\)/) });
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
