/**
 * Dashboard sessions over real HTTP handling (inject): a token is presented once and becomes an
 * HttpOnly, SameSite=Strict cookie; the cookie works like the token, only from this origin when
 * it changes something, ends when idle, at its limit, when signed out or when its token is
 * revoked; every answer carries the security headers.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';
import { SESSION_COOKIE, cookieValue } from '../../core/access/session-format.ts';
import { fromStored } from '../../core/ledger/entry.ts';

let t: TestApp;
const clock = new ManualClock(Date.parse('2026-03-01T09:00:00.000Z'));

beforeAll(async () => {
  t = await makeTestApp({ clock });
});
afterAll(async () => {
  await t?.close();
});

async function signIn(token = t.adminToken, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'POST', url: '/v1/session', headers: { host: 'bulwark.test', ...headers }, payload: { token } });
}
const cookieOf = (res: { headers: Record<string, unknown> }) => String(res.headers['set-cookie']).split(';')[0]!;
const ledgerSize = async () => (await t.deps.store.ledger.head()).size;

describe('POST /v1/session', () => {
  it('opens a session for a valid token: an HttpOnly, SameSite=Strict cookie, and a ledger entry without the secret', async () => {
    const before = await ledgerSize();
    const res = await signIn();
    expect(res.statusCode).toBe(201);
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^bulwark_session=bws_[a-z0-9]{16}_[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({ principal: { kind: 'person' }, permissions: ['*'], expiresAt: '2026-03-01T21:00:00.000Z' });
    const [entry] = await t.deps.store.ledger.page({ from: before, limit: 1, order: 'asc' });
    const e = fromStored(entry!);
    expect(e.kind).toBe('session.started');
    expect(e.actor).toMatchObject({ how: 'api', session: expect.stringMatching(/^[a-z0-9]{16}$/) });
    expect(JSON.stringify(entry)).not.toContain(cookieOf(res).split('=')[1]);
    expect(JSON.stringify(entry)).not.toContain(t.adminToken);
  });

  it('refuses a wrong token, a page of another origin, and a body that is not {token}, writing nothing', async () => {
    const before = await ledgerSize();
    expect((await signIn('bwk_aaaaaaaaaaaa_' + 'A'.repeat(43))).statusCode).toBe(401);
    expect((await signIn(t.adminToken, { origin: 'https://evil.example' })).statusCode).toBe(403);
    const bad = await t.app.inject({ method: 'POST', url: '/v1/session', payload: { token: t.adminToken, remember: true } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/remember/);
    expect(await ledgerSize()).toBe(before);
  });
});

describe('a request with the session cookie', () => {
  it('reads like the token; changes only from this origin', async () => {
    const cookie = cookieOf(await signIn());
    expect((await t.app.inject({ url: '/v1/session', headers: { cookie } })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/v1/ledger/entries', headers: { cookie } })).statusCode).toBe(200);
    const note = { type: 'observation', subject: 'service:shop', text: 'from the dashboard' };
    const noOrigin = await t.app.inject({ method: 'POST', url: '/v1/ledger/notes', headers: { cookie }, payload: note });
    expect(noOrigin.statusCode).toBe(403);
    const foreign = await t.app.inject({
      method: 'POST',
      url: '/v1/ledger/notes',
      headers: { cookie, host: 'bulwark.test', origin: 'http://evil.example' },
      payload: note,
    });
    expect(foreign.statusCode).toBe(403);
    const same = await t.app.inject({
      method: 'POST',
      url: '/v1/ledger/notes',
      headers: { cookie, host: 'bulwark.test', origin: 'http://bulwark.test' },
      payload: note,
    });
    expect(same.statusCode).toBe(201);
    expect(same.json().actor).toMatchObject({ how: 'api', session: expect.any(String), token: expect.any(String) });
  });

  it('ends when idle for 30 minutes, and at 12 hours however busy', async () => {
    const start = clock.now().getTime();
    const cookie = cookieOf(await signIn());
    const session = () => t.app.inject({ url: '/v1/session', headers: { cookie } });
    clock.advance(29 * 60_000);
    expect((await session()).statusCode).toBe(200);
    clock.advance(29 * 60_000);
    expect((await session()).statusCode).toBe(200);
    clock.advance(30 * 60_000);
    const idle = await session();
    expect(idle.statusCode).toBe(401);
    expect(idle.json().message).toMatch(/idle for 30 minutes/);

    const busy = cookieOf(await signIn());
    for (let i = 0; i < 12 * 3; i++) {
      clock.advance(20 * 60_000);
      const r = await t.app.inject({ url: '/v1/session', headers: { cookie: busy } });
      if (clock.now().getTime() - start >= 88 * 60_000 + 12 * 3_600_000) expect(r.statusCode).toBe(401);
      else expect(r.statusCode, `after ${(clock.now().getTime() - start) / 60_000} min`).toBe(200);
    }
  });

  it('ends when signed out (the cookie, replayed, opens nothing) and when its token is revoked', async () => {
    const cookie = cookieOf(await signIn());
    const out = await t.app.inject({ method: 'DELETE', url: '/v1/session', headers: { cookie, host: 'h', origin: 'http://h' } });
    expect(out.statusCode).toBe(200);
    expect(out.json()).toEqual({ ended: true });
    expect(String(out.headers['set-cookie'])).toMatch(/^bulwark_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
    expect((await t.app.inject({ url: '/v1/session', headers: { cookie } })).statusCode).toBe(401);

    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(t.adminToken),
      payload: { name: 'reader', scopes: ['session:read', 'ledger:read'] },
    });
    const reader = created.json<{ id: string; token: string }>();
    const readerCookie = cookieOf(await signIn(reader.token));
    expect((await t.app.inject({ url: '/v1/ledger/entries', headers: { cookie: readerCookie } })).statusCode).toBe(200);
    // The session acts as its token: no more than its scopes.
    expect((await t.app.inject({ url: '/v1/tokens', headers: { cookie: readerCookie } })).statusCode).toBe(403);
    await t.app.inject({ method: 'DELETE', url: `/v1/tokens/${reader.id}`, headers: bearer(t.adminToken) });
    const revoked = await t.app.inject({ url: '/v1/session', headers: { cookie: readerCookie } });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().message).toMatch(/revoked/);
  });

  it('is refused when forged, malformed or sent twice', async () => {
    const cookie = cookieOf(await signIn());
    const [, value] = cookie.split('=');
    const forged = `${SESSION_COOKIE}=${value!.slice(0, -1)}${value!.endsWith('A') ? 'B' : 'A'}`;
    for (const c of [forged, `${SESSION_COOKIE}=nonsense`, `${cookie}; ${cookie}`, `${SESSION_COOKIE}=`]) {
      expect((await t.app.inject({ url: '/v1/session', headers: { cookie: c } })).statusCode, c).toBe(401);
    }
  });
});

describe('security headers', () => {
  it('are on API answers, errors and the dashboard alike; API answers are not cached', async () => {
    for (const url of ['/v1/session', '/healthz', '/ledger', '/v1/nope']) {
      const res = await t.app.inject({ url });
      expect(res.headers['content-security-policy'], url).toContain("default-src 'self'");
      expect(res.headers['content-security-policy'], url).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['referrer-policy'], url).toBe('no-referrer');
    }
    expect((await t.app.inject({ url: '/v1/session' })).headers['cache-control']).toBe('no-store');
  });
});

describe('the cookie parser', () => {
  it('never throws, and finds a cookie only when it is there once', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 60 }), (junk, value) => {
        const v = value.replace(/[;\s]/g, '');
        expect(() => cookieValue(junk, SESSION_COOKIE)).not.toThrow();
        expect(cookieValue(`a=b; ${SESSION_COOKIE}=${v}; c=d`, SESSION_COOKIE)).toBe(v);
        expect(cookieValue(`${SESSION_COOKIE}=${v};${SESSION_COOKIE}=${v}`, SESSION_COOKIE)).toBeUndefined();
      }),
    );
  });
});
