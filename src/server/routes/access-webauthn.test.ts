/**
 * Security keys over HTTP with a software authenticator (an ES256 key from node:crypto answering
 * as browser and key together): register a key, sign in with it, step up with it; a wrong origin
 * (a phishing page), a replayed or expired challenge and a sign counter that goes back (a clone)
 * are refused and recorded, and a cloned key stays suspended. Keys off without configuration;
 * bodies that are not WebAuthn answers are refused with 400, never a crash.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';
import { SoftwareAuthenticator } from '../../../test/support/webauthn-authenticator.ts';

let t: TestApp;
const clock = new ManualClock(Date.parse('2026-03-01T10:00:05.000Z'));
const ORIGIN = 'http://localhost:7600';
const settings = { rpId: 'localhost', rpName: 'Bulwark', origins: [ORIGIN] };
beforeAll(async () => {
  t = await makeTestApp({ clock });
});
afterAll(async () => {
  await t?.close();
});

/** The dashboard's own origin for the cookie's CSRF check (inject speaks plain http to host "localhost:80"). */
const page = { origin: 'http://localhost:80', host: 'localhost:80' };
const cookieOf = (res: { headers: Record<string, unknown> }) => String(res.headers['set-cookie']).split(';')[0]!;

async function person(name: string): Promise<string> {
  const admin = bearer(t.adminToken);
  const at = clock.now().toISOString();
  await t.deps.store.principals.insert({
    id: `person:${name}`,
    kind: 'person',
    name,
    groups: [],
    roles: ['admin'],
    createdAt: at,
    createdBy: 'test',
    disabledAt: null,
  });
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/tokens',
    headers: admin,
    payload: { name, principal: `person:${name}`, scopes: ['*'] },
  });
  return res.json<{ token: string }>().token;
}

const post = (url: string, cookie: string, payload?: object) =>
  t.app.inject({ method: 'POST', url, headers: { ...page, cookie }, ...(payload === undefined ? {} : { payload }) });

async function ledger(kind: string) {
  return (await t.deps.store.ledger.page({ limit: 1000, order: 'asc' })).filter((e) => e.kind === kind).map((e) => JSON.parse(e.dataJson));
}

async function register(cookie: string, key: SoftwareAuthenticator, name: string) {
  const options = await post('/v1/webauthn/registration/options', cookie);
  expect(options.statusCode, options.body).toBe(200);
  return post('/v1/webauthn/credentials', cookie, { name, response: key.register(options.json()) });
}

async function stepUp(cookie: string, key: SoftwareAuthenticator) {
  const options = await post('/v1/session/step-up/webauthn/options', cookie);
  expect(options.statusCode, options.body).toBe(200);
  const answer = key.assert(options.json());
  return { res: await post('/v1/session/step-up/webauthn', cookie, { response: answer }), answer };
}

describe('security keys (WebAuthn)', () => {
  let ada: string;
  let cookie: string;
  const key = new SoftwareAuthenticator(ORIGIN, 'localhost');

  beforeAll(async () => {
    ada = await person('ada');
    const s = await t.app.inject({ method: 'POST', url: '/v1/session', headers: page, payload: { token: ada } });
    expect(s.statusCode, s.body).toBe(201);
    cookie = cookieOf(s);
  });

  it('is off until configured, and says what to set', async () => {
    const res = await post('/v1/webauthn/registration/options', cookie);
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toMatch(/access\.webauthn\.rpId/);
    expect((await t.app.inject({ url: '/v1/webauthn/credentials', headers: { cookie } })).json()).toEqual({
      configured: false,
      credentials: [],
    });
    t.deps.webauthn = settings;
  });

  it('registers a key with attestation "none", lists it without its public key, and records it', async () => {
    const res = await register(cookie, key, 'blue key');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ id: key.id, name: 'blue key', transports: ['usb'], lastUsedAt: null, suspendedAt: null });
    const list = (await t.app.inject({ url: '/v1/webauthn/credentials', headers: { cookie } })).json();
    expect(list).toEqual({ configured: true, credentials: [res.json()] });
    expect(await ledger('webauthn.registered')).toEqual([
      {
        principal: 'person:ada',
        credential: key.id,
        name: 'blue key',
        transports: ['usb'],
        aaguid: '00000000-0000-0000-0000-000000000000',
      },
    ]);
  });

  it('asks for the key at sign-in and signs in with it; the challenge is good once', async () => {
    const without = await t.app.inject({ method: 'POST', url: '/v1/session', headers: page, payload: { token: ada } });
    expect(without.statusCode).toBe(401);
    expect(without.json().details).toEqual({ secondFactor: 'webauthn', methods: ['webauthn'] });
    const options = await t.app.inject({ method: 'POST', url: '/v1/session/webauthn/options', headers: page, payload: { token: ada } });
    expect(options.statusCode, options.body).toBe(200);
    expect(options.json()).toMatchObject({
      rpId: 'localhost',
      allowCredentials: [{ id: key.id, type: 'public-key', transports: ['usb'] }],
    });
    const answer = key.assert(options.json());
    const signIn = () => t.app.inject({ method: 'POST', url: '/v1/session', headers: page, payload: { token: ada, webauthn: answer } });
    const ok = await signIn();
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().secondFactorAt).toBe(clock.now().toISOString());
    cookie = cookieOf(ok);
    const replay = await signIn();
    expect(replay.statusCode).toBe(401);
    expect(replay.json().details).toMatchObject({ webauthn: 'challenge' });
    // A bad token gets no challenge.
    const bad = await t.app.inject({ method: 'POST', url: '/v1/session/webauthn/options', headers: page, payload: { token: 'bwk_x_y' } });
    expect(bad.statusCode).toBe(401);
  });

  it('steps up a stale session for a sensitive action; a replayed answer is refused', async () => {
    clock.advance(11 * 60_000);
    const make = (name: string) => post('/v1/tokens', cookie, { name, scopes: ['session:read'] });
    const stale = await make('svc-a');
    expect(stale.statusCode).toBe(403);
    expect(stale.json().details).toMatchObject({ reason: 'step_up_required' });
    const { res, answer } = await stepUp(cookie, key);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ secondFactorAt: clock.now().toISOString() });
    expect((await make('svc-a')).statusCode).toBe(201);
    const replay = await post('/v1/session/step-up/webauthn', cookie, { response: answer });
    expect(replay.statusCode).toBe(403);
    expect(replay.json().details).toEqual({ reason: 'step_up_failed', webauthn: 'challenge' });
  });

  it('refuses an answer made on another origin (a phishing page), and an expired challenge', async () => {
    key.origin = 'https://bulwark.example.evil';
    const phished = (await stepUp(cookie, key)).res;
    key.origin = ORIGIN;
    expect(phished.statusCode).toBe(403);
    expect(phished.json().details).toEqual({ reason: 'step_up_failed', webauthn: 'origin' });

    const options = await post('/v1/session/step-up/webauthn/options', cookie);
    clock.advance(5 * 60_000 + 1);
    const late = await post('/v1/session/step-up/webauthn', cookie, { response: key.assert(options.json()) });
    expect(late.json().details).toMatchObject({ webauthn: 'challenge' });
    const failed = await ledger('webauthn.failed');
    expect(failed.map((f) => f.reason)).toEqual(['challenge', 'challenge', 'origin', 'challenge']);
    expect(failed.every((f) => f.principal === 'person:ada')).toBe(true);
  });

  it('needs a fresh factor to add a second key, and refuses one registered on another origin', async () => {
    clock.advance(11 * 60_000);
    const second = new SoftwareAuthenticator(ORIGIN, 'localhost');
    const stale = await register(cookie, second, 'spare');
    expect(stale.statusCode).toBe(403);
    expect((await stepUp(cookie, key)).res.statusCode).toBe(200);
    const phished = new SoftwareAuthenticator('https://evil.test', 'localhost');
    const refused = await register(cookie, phished, 'phished');
    expect(refused.statusCode).toBe(400);
    expect(refused.json().details).toEqual({ reason: 'origin' });
    expect((await register(cookie, second, 'spare')).statusCode).toBe(201);
    // The same key twice: refused.
    expect((await register(cookie, second, 'again')).statusCode).toBe(409);
    const removed = await t.app.inject({ method: 'DELETE', url: `/v1/webauthn/credentials/${second.id}`, headers: { ...page, cookie } });
    expect(removed.statusCode, removed.body).toBe(200);
    expect((await ledger('webauthn.removed')).map((r) => r.how)).toEqual(['by its owner']);
  });

  it('refuses a sign counter that goes back (a cloned key), suspends the key and records the clone', async () => {
    expect((await t.deps.store.webauthn.get(key.id))!.counter).toBeGreaterThan(2);
    const clone = key.counter;
    key.counter = 2;
    const cloned = (await stepUp(cookie, key)).res;
    expect(cloned.statusCode).toBe(403);
    expect(cloned.json().details).toEqual({ reason: 'step_up_failed', webauthn: 'counter' });
    expect(await ledger('webauthn.clone-detected')).toEqual([
      { principal: 'person:ada', credential: key.id, stored: clone - 1, received: 2 },
    ]);
    // Suspended: even the genuine key's next answer is refused, and no challenge is offered.
    key.counter = clone + 5;
    expect((await post('/v1/session/step-up/webauthn/options', cookie)).statusCode).toBe(409);
    const list = (await t.app.inject({ url: '/v1/webauthn/credentials', headers: { cookie } })).json();
    expect(list.credentials[0].suspendedAt).toBe(clock.now().toISOString());
    // Still a second factor: a sign-in without one is refused (no key to offer), never let through.
    const signIn = await t.app.inject({ method: 'POST', url: '/v1/session', headers: page, payload: { token: ada } });
    expect(signIn.statusCode).toBe(401);
    expect(signIn.json().details).toEqual({ secondFactor: 'webauthn', methods: [] });
    // An admin resets the keys; the person registers again.
    const reset = await t.app.inject({ method: 'POST', url: '/v1/principals/person:ada/webauthn/reset', headers: bearer(t.adminToken) });
    expect(reset.json()).toEqual({ removed: 1 });
    expect((await t.app.inject({ method: 'POST', url: '/v1/session', headers: page, payload: { token: ada } })).statusCode).toBe(201);
  });

  it('refuses bodies that are not WebAuthn answers with 400, never a crash', async () => {
    const answer = fc.record(
      {
        id: fc.oneof(fc.string(), fc.base64String()),
        rawId: fc.string(),
        type: fc.constantFrom('public-key', 'password', 1),
        response: fc.record(
          { clientDataJSON: fc.base64String(), authenticatorData: fc.string(), signature: fc.base64String(), userHandle: fc.string() },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(answer, fc.jsonValue()), async (response) => {
        const res = await post('/v1/session/step-up/webauthn', cookie, { response });
        expect([400, 403, 409]).toContain(res.statusCode);
      }),
      { numRuns: 40 },
    );
  });
});

describe('security keys: each answer spends its challenge and counts against the person', () => {
  let cookie: string;
  let beaToken: string;
  const key = new SoftwareAuthenticator(ORIGIN, 'localhost');

  beforeAll(async () => {
    t.deps.webauthn = settings;
    beaToken = await person('bea');
    const s = await t.app.inject({ method: 'POST', url: '/v1/session', headers: page, payload: { token: beaToken } });
    cookie = cookieOf(s);
    expect((await register(cookie, key, 'bea key')).statusCode).toBe(201);
  });

  it('spends the challenge even when the answer names an unknown key', async () => {
    const options = await post('/v1/session/step-up/webauthn/options', cookie);
    const genuine = key.assert(options.json());
    const unknown = await post('/v1/session/step-up/webauthn', cookie, {
      response: { ...genuine, id: 'bm90LWEta2V5', rawId: 'bm90LWEta2V5' },
    });
    expect(unknown.json().details).toEqual({ reason: 'step_up_failed', webauthn: 'unknown-key' });
    const after = await post('/v1/session/step-up/webauthn', cookie, { response: genuine });
    expect(after.json().details).toEqual({ reason: 'step_up_failed', webauthn: 'challenge' });
  });

  it('throttles refused answers per person like codes (5 in 15 minutes); an accepted one is not counted', async () => {
    clock.advance(16 * 60_000);
    expect((await stepUp(cookie, key)).res.statusCode).toBe(200);
    key.origin = 'https://bulwark.example.evil';
    for (let i = 0; i < 5; i++) expect((await stepUp(cookie, key)).res.json().details.webauthn).toBe('origin');
    key.origin = ORIGIN;
    const throttled = (await stepUp(cookie, key)).res;
    expect(throttled.statusCode).toBe(403);
    expect(throttled.json()).toMatchObject({ details: { webauthn: 'throttled' }, message: expect.stringMatching(/too many refused/) });
    clock.advance(15 * 60_000 + 1);
    expect((await stepUp(cookie, key)).res.statusCode).toBe(200);
  });

  it('tells a person whose only second factor is a key, on a token request, exactly what to do instead', async () => {
    clock.advance(16 * 60_000);
    const headers = bearer(beaToken);
    const make = (extra: Record<string, string> = {}) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: { ...headers, ...extra },
        payload: { name: 'cli', scopes: ['session:read'] },
      });
    const plain = await make();
    expect(plain.statusCode).toBe(403);
    expect(plain.json().details).toMatchObject({ reason: 'step_up_required', methods: ['webauthn'] });
    expect(plain.json().message).toMatch(/only second factor is a security key.*from the dashboard.*enroll a TOTP/);
    const withHeader = await make({ 'x-bulwark-second-factor': '123456' });
    expect(withHeader.statusCode).toBe(403);
    expect(withHeader.json().details).toEqual({ reason: 'step_up_failed', methods: ['webauthn'] });
    expect(withHeader.json().message).toMatch(/only second factor is a security key/);
  });
});
