import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, bearer, type TestApp } from '../../test/support/app.ts';
import { createToken } from '../app/access/tokens.ts';
import { verifyConsistency, verifyInclusion } from '../core/ledger/merkle.ts';
import { tokenSecret } from '../core/access/token-format.ts';
import { systemActor } from '../core/ledger/actor.ts';

let t: TestApp;
beforeAll(async () => {
  // At debug, the log has a line for every request, which the token test below reads.
  t = await makeTestApp({ logLevel: 'debug' });
});
afterAll(async () => {
  await t.close();
});

const note = (text = 'hello') => ({ type: 'observation', subject: 'service:shop', text });

describe('authentication in one hook', () => {
  it('answers 401 with a JSON error on every registered route without a valid token', async () => {
    const revoked = await createToken(t.deps, systemActor('test'), { name: 'to-revoke', admin: true });
    await t.app.inject({ method: 'DELETE', url: `/v1/tokens/${revoked.view.id}`, headers: bearer(t.adminToken) });
    const routes = t.routes().filter((r) => r.auth !== 'public');
    expect(routes.length).toBeGreaterThan(10);
    const variants: Record<string, Record<string, string>> = {
      none: {},
      malformed: { authorization: 'Token abc' },
      'bearer without token': { authorization: 'Bearer ' },
      unknown: bearer('bwk_aaaaaaaaaaaa_' + 'A'.repeat(43)),
      'wrong secret': bearer(t.adminToken.slice(0, -4) + 'AAAA'),
      revoked: bearer(revoked.token),
    };
    for (const r of routes) {
      const url = r.url.replace(/:(\w+)/g, 'aaaaaaaaaaaa').replace('*', 'x');
      for (const [name, headers] of Object.entries(variants)) {
        const res = await t.app.inject({
          method: r.method as 'GET',
          url,
          headers: { ...headers, 'content-type': 'application/json' },
          payload: r.method === 'GET' || r.method === 'HEAD' ? undefined : '{}',
        });
        expect(res.statusCode, `${r.method} ${r.url} with ${name}`).toBe(401);
        if (r.method !== 'HEAD') expect(res.json().error, `${r.method} ${r.url} with ${name}`).toBe('unauthenticated');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    }
  });

  it('leaves only health checks and signing in anonymous (and dashboard files, which hold no data)', async () => {
    const open = new Set(
      t
        .routes()
        .filter((r) => r.auth === 'public')
        .map((r) => r.url),
    );
    expect([...open].sort()).toEqual([
      '/healthz',
      '/readyz',
      // Signing in through an OIDC provider, and a security key's challenge before a session exists.
      '/v1/oidc',
      '/v1/oidc/callback',
      '/v1/oidc/complete',
      '/v1/oidc/start',
      '/v1/oidc/webauthn/options',
      '/v1/session',
      '/v1/session/webauthn/options',
    ]);
    expect((await t.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready' });
  });

  it('refuses a token that lacks the permission, naming it', async () => {
    const reader = await createToken(t.deps, systemActor('test'), { name: 'reader', scopes: ['ledger:read'] });
    const res = await t.app.inject({ method: 'POST', url: '/v1/ledger/notes', headers: bearer(reader.token), payload: note() });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: 'forbidden', message: expect.stringContaining('ledger:write') });
    expect((await t.app.inject({ url: '/v1/ledger/entries', headers: bearer(reader.token) })).statusCode).toBe(200);
  });

  it('tells who the token stands for', async () => {
    const res = await t.app.inject({ url: '/v1/session', headers: bearer(t.adminToken) });
    expect(res.json()).toMatchObject({ principal: { name: 'admin', kind: 'person' }, permissions: ['*'] });
  });
});

describe('errors', () => {
  it('answers unknown /v1 routes with 404 JSON and deep links with the dashboard', async () => {
    const res = await t.app.inject({ url: '/v1/nope', headers: bearer(t.adminToken) });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toBe('not_found');
    const page = await t.app.inject({ url: '/ledger' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).not.toContain('bwk_');
  });

  it('rejects bad bodies with a clear 4xx and changes nothing', async () => {
    const before = (await t.deps.store.ledger.head()).size;
    const cases: [unknown, number, string][] = [
      [{ ...note(), extra: 1 }, 400, 'extra'],
      [{ ...note(), type: 'gossip' }, 400, 'type'],
      [{ type: 'observation', subject: '', text: 'x' }, 400, 'subject'],
      ['{not json', 400, 'JSON'],
      [note('x'.repeat(20_000)), 400, 'text'],
    ];
    for (const [payload, status, mentions] of cases) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/ledger/notes',
        headers: { ...bearer(t.adminToken), 'content-type': 'application/json' },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
      expect(res.statusCode).toBe(status);
      expect(res.json().error).toBe('invalid');
      expect(res.json().message).toContain(mentions);
    }
    const wrongType = await t.app.inject({
      method: 'POST',
      url: '/v1/ledger/notes',
      headers: { ...bearer(t.adminToken), 'content-type': 'text/plain' },
      payload: 'hi',
    });
    expect(wrongType.statusCode).toBe(415);
    const huge = await t.app.inject({
      method: 'POST',
      url: '/v1/ledger/notes',
      headers: { ...bearer(t.adminToken), 'content-type': 'application/json' },
      payload: JSON.stringify(note('y'.repeat(2 * 1024 * 1024))),
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error).toBe('payload_too_large');
    expect((await t.deps.store.ledger.head()).size).toBe(before);
  });

  it('validates query parameters', async () => {
    const res = await t.app.inject({ url: '/v1/ledger/entries?limit=0&bogus=1', headers: bearer(t.adminToken) });
    expect(res.statusCode).toBe(400);
    expect(
      res
        .json()
        .details.map((d: { path: string }) => d.path)
        .sort(),
    ).toEqual(['', 'limit']);
  });
});

describe('the ledger over HTTP', () => {
  it('appends a note durably and records who wrote it', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/ledger/notes',
      headers: bearer(t.adminToken),
      payload: { ...note('first'), labels: { env: 'prod' } },
    });
    expect(res.statusCode).toBe(201);
    const e = res.json();
    expect(e).toMatchObject({ kind: 'note.observation', subject: 'service:shop', data: { text: 'first', labels: { env: 'prod' } } });
    // Who wrote it: the admin's principal, through its token, in this request.
    expect(e.actor).toEqual({
      id: expect.any(String),
      kind: 'person',
      token: expect.stringMatching(/^[a-z0-9]{12}$/),
      request: res.headers['x-request-id'],
      how: 'api',
    });
    const [stored] = await t.deps.store.ledger.page({ from: e.seq, limit: 1, order: 'asc' });
    expect(stored?.seq).toBe(e.seq);
  });

  it('pages entries newest first', async () => {
    for (let i = 0; i < 5; i++)
      await t.app.inject({ method: 'POST', url: '/v1/ledger/notes', headers: bearer(t.adminToken), payload: note(`p${i}`) });
    const first = (await t.app.inject({ url: '/v1/ledger/entries?order=desc&limit=2', headers: bearer(t.adminToken) })).json();
    expect(first.entries).toHaveLength(2);
    expect(first.entries[0].seq).toBe(first.size - 1);
    const second = (
      await t.app.inject({ url: `/v1/ledger/entries?order=desc&limit=2&from=${first.next}`, headers: bearer(t.adminToken) })
    ).json();
    expect(second.entries[0].seq).toBe(first.entries[1].seq - 1);
  });

  it('serves inclusion and consistency proofs that the verifier accepts', async () => {
    const cp = (await t.app.inject({ method: 'POST', url: '/v1/ledger/checkpoints', headers: bearer(t.adminToken) })).json();
    const size = cp.size as number;
    const root = Buffer.from(cp.root, 'hex');
    for (let seq = 0; seq < size; seq++) {
      const p = (await t.app.inject({ url: `/v1/ledger/proofs/inclusion?seq=${seq}&size=${size}`, headers: bearer(t.adminToken) })).json();
      expect(
        verifyInclusion(
          seq,
          size,
          Buffer.from(p.leafHash, 'hex'),
          p.proof.map((h: string) => Buffer.from(h, 'hex')),
          root,
        ),
      ).toBeNull();
      const entry = (await t.app.inject({ url: `/v1/ledger/entries/${seq}`, headers: bearer(t.adminToken) })).json();
      expect(entry.leafHash).toBe(p.leafHash);
    }
    await t.app.inject({ method: 'POST', url: '/v1/ledger/notes', headers: bearer(t.adminToken), payload: note('after') });
    const c = (await t.app.inject({ url: `/v1/ledger/proofs/consistency?from=${size}`, headers: bearer(t.adminToken) })).json();
    expect(c.root1).toBe(cp.root);
    expect(
      verifyConsistency(
        c.from,
        c.to,
        root,
        Buffer.from(c.root2, 'hex'),
        c.proof.map((h: string) => Buffer.from(h, 'hex')),
      ),
    ).toBeNull();
    const beyond = await t.app.inject({ url: `/v1/ledger/proofs/inclusion?seq=0&size=${c.to + 10}`, headers: bearer(t.adminToken) });
    expect(beyond.statusCode).toBe(404);
    const bad = await t.app.inject({ url: `/v1/ledger/proofs/inclusion?seq=5&size=5`, headers: bearer(t.adminToken) });
    expect(bad.statusCode).toBe(400);
  });

  it('verifies the ledger and reports the first altered entry', async () => {
    const ok = (await t.app.inject({ url: '/v1/ledger/verify', headers: bearer(t.adminToken) })).json();
    expect(ok).toMatchObject({ ok: true, firstBad: null });
    expect(ok.checkpointsChecked).toBeGreaterThan(0);
  });
});

describe('operability', () => {
  it('exposes Prometheus metrics behind a token', async () => {
    expect((await t.app.inject({ url: '/metrics' })).statusCode).toBe(401);
    await t.app.inject({ url: '/healthz' });
    const res = await t.app.inject({ url: '/metrics', headers: bearer(t.adminToken) });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/^bulwark_ledger_entries \d+$/m);
    expect(res.body).toContain('bulwark_http_requests_total{method="GET",route="/healthz",status="200"}');
  });

  it('describes every registered route in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ url: '/v1/openapi.json', headers: bearer(t.adminToken) })).json();
    expect(doc.openapi).toBe('3.1.0');
    for (const r of t.routes().filter((x) => x.method !== 'HEAD')) {
      const path = r.url.replace(/:(\w+)/g, '{$1}');
      expect(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${r.url}`).toBeDefined();
    }
    expect(doc.paths['/v1/ledger/notes'].post.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['type', 'subject', 'text']),
    );
  });

  it('carries a request id and never logs a token', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(t.adminToken), payload: { name: 'logged' } });
    expect(created.statusCode).toBe(201);
    const secret = created.json().token as string;
    await t.app.inject({ url: '/v1/session', headers: bearer(secret) });
    await t.app.inject({ url: `/v1/nope?token=${secret}`, headers: bearer(secret) });
    await t.app.inject({ url: '/v1/session', headers: { authorization: `Bearer ${secret}x` } });
    const res = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'req-123' } });
    expect(res.headers['x-request-id']).toBe('req-123');
    // A token, or anything but a short plain id, never becomes the id every log line carries.
    for (const odd of [t.adminToken, 'a b', 'x'.repeat(129), 'ok\u2028']) {
      const other = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': odd } });
      expect(other.headers['x-request-id'], odd).toMatch(/^[0-9a-f-]{36}$/);
    }
    const all = t.logs.join('');
    expect(all).toContain('req-123');
    expect(all).toContain('/v1/nope?token=bwk_[REDACTED]');
    expect(all.length).toBeGreaterThan(0);
    for (const s of [secret, t.adminToken, tokenSecret(secret)!]) expect(all).not.toContain(s);
    const entries = await t.deps.store.ledger.page({ limit: 1000, order: 'asc' });
    for (const e of entries) expect(e.dataJson).not.toContain(tokenSecret(secret)!);
  });
});

describe('overload', () => {
  it('answers 503 with Retry-After past the in-flight limit, and health still answers', async () => {
    const small = await makeTestApp({ maxInFlight: 1 });
    try {
      await small.app.listen({ host: '127.0.0.1', port: 0 });
      const addr = small.app.server.address() as { port: number };
      const base = `http://127.0.0.1:${addr.port}`;
      // Hold one request open by sending its headers but not its body.
      const { connect } = await import('node:net');
      const sock = connect(addr.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      sock.write(
        `POST /v1/ledger/notes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${small.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
      );
      await sleep(100);
      const res = await fetch(`${base}/v1/session`, { headers: bearer(small.adminToken) });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect((await res.json()).error).toBe('overloaded');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      sock.destroy();
    } finally {
      await small.close();
    }
  });
});
