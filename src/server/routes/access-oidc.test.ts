/**
 * OIDC sign-in against a real provider on loopback: a small HTTP server serving discovery, a
 * JWKS and a token endpoint that checks the PKCE verifier and signs ID tokens with a jose key.
 * Signed in end to end (the session cookie works); refused, and recorded, for another audience,
 * an expired token, a wrong nonce, an unknown person, a spent state and a state from another
 * browser; a person with a second factor finishes with a code.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';
import { checkOidcSettings } from '../../app/access/oidc.ts';
import { OIDC_MAX_PENDING_STATES, OidcSettingsSchema } from '../../core/access/oidc.ts';

let t: TestApp;
const clock = new ManualClock(Date.parse('2026-03-01T10:00:05.000Z'));
let provider: http.Server;
let issuer: string;
/** What the provider puts in (or changes about) the next ID token. */
let next: (claims: JWTPayload) => JWTPayload = (c) => c;
const codes = new Map<string, { nonce: string; challenge: string; email: string }>();
let signInAs = 'ada@example.com';
/** The algorithms the provider advertises, and a symmetric key it also publishes (to try HS256 with). */
let advertised: string[] = ['ES256'];
const hmacKey = randomBytes(32);
let signHs256 = false;

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  provider = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration')
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        id_token_signing_alg_values_supported: advertised,
      });
    if (url.pathname === '/jwks') return json(200, { keys: [jwk, { kty: 'oct', k: hmacKey.toString('base64url'), kid: 'h1' }] });
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const auth = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const pkce = createHash('sha256')
          .update(form.get('code_verifier') ?? '')
          .digest('base64url');
        if (
          auth !== 'bulwark:s3cret' ||
          !grant ||
          pkce !== grant.challenge ||
          form.get('redirect_uri') !== 'http://localhost/v1/oidc/callback'
        )
          return json(400, { error: 'invalid_grant' });
        const now = Math.floor(clock.now().getTime() / 1000);
        const claims = next({
          iss: issuer,
          aud: 'bulwark',
          sub: `sub-${grant.email}`,
          email: grant.email,
          email_verified: true,
          nonce: grant.nonce,
          iat: now,
          exp: now + 300,
        });
        void (
          signHs256
            ? new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'h1' }).sign(hmacKey)
            : new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey)
        ).then((idToken) => json(200, { access_token: 'at', token_type: 'Bearer', id_token: idToken }));
      });
      return;
    }
    json(404, {});
  });
  await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  t = await makeTestApp({ clock });
  t.deps.oidc = OidcSettingsSchema.parse({
    issuer,
    clientId: 'bulwark',
    clientSecret: 's3cret',
    redirectUri: 'http://localhost/v1/oidc/callback',
  });
  const at = clock.now().toISOString();
  await t.deps.store.principals.insert({
    id: 'person:ada@example.com',
    kind: 'person',
    name: 'ada@example.com',
    groups: [],
    roles: ['admin'],
    createdAt: at,
    createdBy: 'test',
    disabledAt: null,
  });
});
afterAll(async () => {
  await t?.close();
  await new Promise((r) => provider?.close(r));
});

const page = { origin: 'http://localhost:80', host: 'localhost:80' };
const cookiesOf = (res: { headers: Record<string, unknown> }): Record<string, string> => {
  const raw = res.headers['set-cookie'] as string | string[] | undefined;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return Object.fromEntries(list.map((c: string) => c.split(';')[0]!.split('=') as [string, string]));
};

/** The browser's trip: start, the provider's consent (a code for the nonce and challenge it was sent), the callback. */
async function signIn(opts: { tamper?: (q: URLSearchParams, cookie: string) => { q: URLSearchParams; cookie: string } } = {}) {
  const start = await t.app.inject({ url: '/v1/oidc/start' });
  expect(start.statusCode, start.body).toBe(303);
  const to = new URL(String(start.headers.location));
  expect(to.origin + to.pathname).toBe(`${issuer}/authorize`);
  expect(to.searchParams.get('code_challenge_method')).toBe('S256');
  expect(to.searchParams.get('redirect_uri')).toBe('http://localhost/v1/oidc/callback');
  const code = randomBytes(16).toString('hex');
  codes.set(code, { nonce: to.searchParams.get('nonce')!, challenge: to.searchParams.get('code_challenge')!, email: signInAs });
  let q = new URLSearchParams({ code, state: to.searchParams.get('state')! });
  let cookie = `bulwark_oidc_state=${cookiesOf(start).bulwark_oidc_state}`;
  if (opts.tamper) ({ q, cookie } = opts.tamper(q, cookie));
  const callback = () => t.app.inject({ url: `/v1/oidc/callback?${q.toString()}`, headers: { cookie } });
  return { res: await callback(), again: callback };
}

async function refusals() {
  return (await t.deps.store.ledger.page({ limit: 1000, order: 'asc' }))
    .filter((e) => e.kind === 'oidc.refused')
    .map((e) => (JSON.parse(e.dataJson) as { reason: string }).reason);
}

describe('OIDC sign-in', () => {
  it('signs a known person in end to end: the session cookie works; the state is spent', async () => {
    expect((await t.app.inject({ url: '/v1/oidc' })).json()).toEqual({ configured: true });
    const { res, again } = await signIn();
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe('/');
    const session = cookiesOf(res).bulwark_session!;
    const me = await t.app.inject({ url: '/v1/session', headers: { cookie: `bulwark_session=${session}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json().principal).toEqual({ id: 'person:ada@example.com', name: 'oidc sign-in', kind: 'person' });
    const replay = await again();
    expect(replay.statusCode).toBe(401);
    expect(replay.json().details).toEqual({ reason: 'oidc', oidc: 'state' });
    const signedIn = (await t.deps.store.ledger.page({ limit: 1000, order: 'asc' })).filter((e) => e.kind === 'oidc.signed-in');
    expect(signedIn.map((e) => JSON.parse(e.dataJson))).toEqual([
      { principal: 'person:ada@example.com', issuer, subject: 'sub-ada@example.com', created: false },
    ]);
  });

  it('refuses another audience, an expired token, a wrong nonce and an unknown person, and records each', async () => {
    const cases: [string, (c: JWTPayload) => JWTPayload][] = [
      ['audience', (c) => ({ ...c, aud: 'someone-else' })],
      ['expired', (c) => ({ ...c, iat: c.iat! - 3600, exp: c.iat! - 120 })],
      ['nonce', (c) => ({ ...c, nonce: 'not-this-one' })],
      ['issuer', (c) => ({ ...c, iss: 'https://other.example' })],
    ];
    for (const [reason, change] of cases) {
      next = change;
      const { res } = await signIn();
      expect(res.statusCode, reason).toBe(401);
      expect(res.json().details).toEqual({ reason: 'oidc', oidc: reason });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    next = (c) => c;
    signInAs = 'mallory@example.com';
    const unknown = (await signIn()).res;
    signInAs = 'ada@example.com';
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().message).toMatch(/no person person:mallory@example\.com/);
    expect(await refusals()).toEqual(['state', 'audience', 'expired', 'nonce', 'issuer', 'unknown-person']);
  });

  it('refuses a callback without the state cookie of the browser that began it', async () => {
    const { res } = await signIn({ tamper: (q) => ({ q, cookie: 'bulwark_oidc_state=someone-elses' }) });
    expect(res.statusCode).toBe(401);
    expect(res.json().details).toEqual({ reason: 'oidc', oidc: 'state' });
  });

  it('asks a person with a second factor for it, once, before the session opens', async () => {
    const first = cookiesOf((await signIn()).res).bulwark_session!;
    const headers = { ...page, cookie: `bulwark_session=${first}` };
    const { secret } = (await t.app.inject({ method: 'POST', url: '/v1/second-factor/enroll', headers })).json<{ secret: string }>();
    const code = (offset = 0) => generateSync({ secret, epoch: Math.floor(clock.now().getTime() / 1000) + offset });
    expect((await t.app.inject({ method: 'POST', url: '/v1/second-factor/confirm', headers, payload: { code: code() } })).statusCode).toBe(
      200,
    );
    clock.advance(30_000);

    const { res } = await signIn();
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/?oidc=second-factor');
    expect(cookiesOf(res).bulwark_session).toBeUndefined();
    const pending = `bulwark_oidc_pending=${cookiesOf(res).bulwark_oidc_pending}`;
    const complete = (c: string) =>
      t.app.inject({ method: 'POST', url: '/v1/oidc/complete', headers: { ...page, cookie: pending }, payload: { code: c } });
    const done = await complete(code());
    expect(done.statusCode, done.body).toBe(201);
    expect(done.json()).toMatchObject({ principal: { id: 'person:ada@example.com' }, secondFactorAt: clock.now().toISOString() });
    expect(cookiesOf(done).bulwark_session).toBeDefined();
    // The pending sign-in is spent.
    clock.advance(30_000);
    expect((await complete(code())).json().details).toEqual({ reason: 'oidc', oidc: 'state' });
  });

  it('names a person by email only when email_verified is true (not missing, not "false")', async () => {
    for (const change of [
      (c: JWTPayload) => ({ ...c, email_verified: undefined }),
      (c: JWTPayload) => ({ ...c, email_verified: 'false' }),
      (c: JWTPayload) => ({ ...c, email_verified: false }),
    ]) {
      next = change;
      const { res } = await signIn();
      expect(res.statusCode).toBe(401);
      expect(res.json().details).toEqual({ reason: 'oidc', oidc: 'claim' });
      expect(res.json().message).toMatch(/email_verified is not true/);
    }
    next = (c) => c;
  });

  it('binds a person to the provider account (iss, sub) that first signed them in: another account whose email changed to theirs is refused', async () => {
    // ada signed in above from sub-ada@example.com: the link was recorded then.
    expect(await t.deps.store.oidcLinks.ofPrincipal('person:ada@example.com')).toMatchObject({
      issuer,
      subject: 'sub-ada@example.com',
    });
    expect((await t.deps.store.ledger.page({ limit: 1000, order: 'asc' })).filter((e) => e.kind === 'oidc.linked')).toHaveLength(1);
    // Mallory's account at the provider now says ada's (verified) email.
    next = (c) => ({ ...c, sub: 'sub-mallory' });
    const taken = (await signIn()).res;
    expect(taken.statusCode).toBe(401);
    expect(taken.json().details).toEqual({ reason: 'oidc', oidc: 'link' });
    expect(taken.json().message).toMatch(/person:ada@example\.com signs in with another account/);
    // ada's own account, with its email changed to bob's, still does not become bob.
    await t.deps.store.principals.insert({
      id: 'person:bob@example.com',
      kind: 'person',
      name: 'bob@example.com',
      groups: [],
      roles: ['viewer'],
      createdAt: clock.now().toISOString(),
      createdBy: 'test',
      disabledAt: null,
    });
    next = (c) => ({ ...c, sub: 'sub-ada@example.com' });
    signInAs = 'bob@example.com';
    const moved = (await signIn()).res;
    signInAs = 'ada@example.com';
    next = (c) => c;
    expect(moved.statusCode).toBe(401);
    expect(moved.json().message).toMatch(/signs in as person:ada@example\.com/);
    expect(await t.deps.store.oidcLinks.ofPrincipal('person:bob@example.com')).toBeUndefined();
  });

  it('verifies ID tokens only with the asymmetric algorithms the provider advertises', async () => {
    // HS256 with a symmetric key the provider publishes: refused (jose takes no secret key from a JWKS either).
    signHs256 = true;
    const hs = (await signIn()).res;
    signHs256 = false;
    expect(hs.statusCode).toBe(401);
    expect(hs.headers['set-cookie']).toBeUndefined();
    // An algorithm the provider does not advertise: refused though the key would verify it.
    advertised = ['ES384', 'HS256'];
    t.deps.oidc = { ...t.deps.oidc! };
    const other = (await signIn()).res;
    expect(other.statusCode).toBe(401);
    expect(other.json().details).toEqual({ reason: 'oidc', oidc: 'token' });
    // A provider that advertises symmetric algorithms only is refused at the start, saying why.
    advertised = ['HS256', 'none'];
    t.deps.oidc = { ...t.deps.oidc };
    const start = await t.app.inject({ url: '/v1/oidc/start' });
    expect(start.statusCode).toBe(401);
    expect(start.json().message).toMatch(/advertises no asymmetric algorithm/);
    advertised = ['ES256'];
    t.deps.oidc = { ...t.deps.oidc };
  });

  it('bounds the sign-ins waiting for the provider: past the cap a start is refused (503); expired ones are pruned', async () => {
    const at = clock.now();
    await t.deps.store.transaction(async (tx) => {
      for (let i = 0; i < OIDC_MAX_PENDING_STATES; i++)
        await tx.accessChallenges.insert({
          id: `filler-${i}`,
          kind: 'oidc',
          principalId: null,
          purpose: 'sign-in',
          data: '{}',
          createdAt: at.toISOString(),
          expiresAt: new Date(at.getTime() + 60_000).toISOString(),
        });
    });
    const full = await t.app.inject({ url: '/v1/oidc/start' });
    expect(full.statusCode).toBe(503);
    expect(full.json().message).toMatch(/too many OIDC sign-ins are waiting/);
    clock.advance(61_000);
    expect((await t.app.inject({ url: '/v1/oidc/start' })).statusCode).toBe(303);
    expect(await t.deps.store.accessChallenges.countLive('oidc', 'sign-in', clock.now().toISOString())).toBe(1);
  });

  it('refuses to start when oidc.createPeople.roles names a role that does not exist', async () => {
    const oidc = OidcSettingsSchema.parse({ ...t.deps.oidc, createPeople: { roles: ['no-such-role'] } });
    await expect(checkOidcSettings({ ...t.deps, oidc })).rejects.toThrow(/access\.oidc\.createPeople\.roles: no role no-such-role/);
    await expect(
      checkOidcSettings({ ...t.deps, oidc: { ...oidc, createPeople: { roles: ['viewer'], groups: [] } } }),
    ).resolves.toBeUndefined();
  });
});
