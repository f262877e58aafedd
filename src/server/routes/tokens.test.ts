/**
 * Tokens over HTTP: the last use is kept to the minute (not a write per request), a revoked
 * token is refused at once, and a client over its rate limit is answered 429 with Retry-After
 * (per token; per address for failed credentials and sign-ins).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';
import { configureAccess } from '../auth.ts';

let t: TestApp;
const clock = new ManualClock(Date.parse('2026-05-01T08:00:00.000Z'));
beforeAll(async () => {
  t = await makeTestApp({ clock });
});
afterAll(async () => {
  await t?.close();
});

const mint = async (name: string) =>
  (
    await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(t.adminToken), payload: { name, scopes: ['session:read'] } })
  ).json<{
    id: string;
    token: string;
  }>();

describe('tokens', () => {
  it('keep their last use to the minute, and a revoked one is refused at once', async () => {
    const { id, token } = await mint('reader');
    const lastUsed = async () => (await t.deps.store.tokens.get(id))?.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    expect((await t.app.inject({ url: '/v1/session', headers: bearer(token) })).statusCode).toBe(200);
    expect(await lastUsed()).toBe('2026-05-01T08:00:00.000Z');
    clock.advance(30_000);
    await t.app.inject({ url: '/v1/session', headers: bearer(token) });
    expect(await lastUsed()).toBe('2026-05-01T08:00:00.000Z');
    clock.advance(31_000);
    await t.app.inject({ url: '/v1/session', headers: bearer(token) });
    expect(await lastUsed()).toBe('2026-05-01T08:01:01.000Z');
    const listed = await t.app.inject({ url: '/v1/tokens', headers: bearer(t.adminToken) });
    expect(listed.json().tokens.find((x: { id: string }) => x.id === id).lastUsedAt).toBe('2026-05-01T08:01:01.000Z');
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/tokens/${id}`, headers: bearer(t.adminToken) })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/v1/session', headers: bearer(token) })).statusCode).toBe(401);
  });

  it('answer 429 with Retry-After past the rate limit, per token, and per address for failed credentials', async () => {
    configureAccess(t.app, { rateLimit: { token: { perSecond: 1, burst: 3 }, address: { perSecond: 1, burst: 2 } } });
    try {
      const a = await mint('a');
      const b = await mint('b');
      const get = (token: string) => t.app.inject({ url: '/v1/session', headers: bearer(token) });
      for (let i = 0; i < 3; i++) expect((await get(a.token)).statusCode).toBe(200);
      const limited = await get(a.token);
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toBe('1');
      expect(limited.json()).toMatchObject({ error: 'rate_limited' });
      expect((await get(b.token)).statusCode).toBe(200);
      clock.advance(1_000);
      expect((await get(a.token)).statusCode).toBe(200);

      // A percent-encoded path reaches the same route (the router decodes it) and is limited like it.
      const c = await mint('c');
      const encoded = () => t.app.inject({ url: '/%761/session', headers: bearer(c.token) });
      for (let i = 0; i < 3; i++) expect((await encoded()).statusCode).toBe(200);
      expect((await encoded()).statusCode).toBe(429);
      expect((await get(c.token)).statusCode).toBe(429);
      clock.advance(2_000);
      const publicEncoded = () => t.app.inject({ method: 'POST', url: '/%761/session', payload: { token: 'x' } });
      for (let i = 0; i < 2; i++) expect((await publicEncoded()).statusCode).not.toBe(429);
      expect((await publicEncoded()).statusCode).toBe(429);
      clock.advance(2_000);

      const wrong = 'bwk_aaaaaaaaaaaa_' + 'A'.repeat(43);
      expect((await get(wrong)).statusCode).toBe(401);
      expect((await get(wrong)).statusCode).toBe(401);
      expect((await get(wrong)).statusCode).toBe(429);
      const signIn = await t.app.inject({ method: 'POST', url: '/v1/session', payload: { token: wrong } });
      expect(signIn.statusCode).toBe(429);
    } finally {
      configureAccess(t.app, {});
    }
  });
});
