/**
 * The second factor over HTTP, on a fake clock with codes made by otplib at that time: enroll
 * (secret once, confirmed by a first code, recovery codes once), sign in with a code, replay
 * refused, one step of skew accepted and two not, recovery codes good once, every code refused
 * after five wrong ones in 15 minutes (per person; the throttle's own refusals do not count), step-up for
 * sensitive actions (stale after ten minutes; a session stepped up; a header on one request),
 * and the ledger holding every use and failure but never a code or the secret.
 */
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';

let t: TestApp;
const clock = new ManualClock(Date.parse('2026-03-01T10:00:05.000Z'));
beforeAll(async () => {
  t = await makeTestApp({ clock });
});
afterAll(async () => {
  await t?.close();
});

const code = (secret: string, offsetSeconds = 0) =>
  generateSync({ secret, epoch: Math.floor(clock.now().getTime() / 1000) + offsetSeconds });
const admin = () => bearer(t.adminToken);
const origin = () => ({ origin: 'http://localhost:80', host: 'localhost:80' });

async function person(name: string, roles: string[]) {
  expect(
    (await t.app.inject({ method: 'POST', url: '/v1/principals', headers: admin(), payload: { kind: 'person', name, roles } })).statusCode,
  ).toBe(201);
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/tokens',
    headers: admin(),
    payload: { name, principal: `person:${name}`, scopes: ['*'] },
  });
  return res.json<{ token: string }>().token;
}

async function enroll(token: string): Promise<{ secret: string; recoveryCodes: string[] }> {
  const begun = await t.app.inject({ method: 'POST', url: '/v1/second-factor/enroll', headers: bearer(token) });
  expect(begun.statusCode, begun.body).toBe(201);
  const { secret, uri } = begun.json<{ secret: string; uri: string }>();
  expect(uri).toMatch(/^otpauth:\/\/totp\/Bulwark:[a-z]+\?secret=/);
  const confirmed = await t.app.inject({
    method: 'POST',
    url: '/v1/second-factor/confirm',
    headers: bearer(token),
    payload: { code: code(secret) },
  });
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  clock.advance(30_000);
  return { secret, recoveryCodes: confirmed.json<{ recoveryCodes: string[] }>().recoveryCodes };
}

const signIn = (token: string, c?: string) =>
  t.app.inject({ method: 'POST', url: '/v1/session', headers: origin(), payload: c === undefined ? { token } : { token, code: c } });
const cookieOf = (res: { headers: Record<string, unknown> }) => String(res.headers['set-cookie']).split(';')[0]!;
const makePrincipal = (headers: Record<string, string>, name: string) =>
  t.app.inject({ method: 'POST', url: '/v1/principals', headers, payload: { kind: 'service', name, roles: ['viewer'] } });

describe('second factor', () => {
  let alice: string;
  let secret: string;
  let recovery: string[];

  beforeAll(async () => {
    alice = await person('alice', ['admin']);
    ({ secret, recoveryCodes: recovery } = await enroll(alice));
  });

  it('enrolls once: the secret and recovery codes are shown once, a second enrollment is refused, a wrong first code confirms nothing', async () => {
    expect(recovery).toHaveLength(10);
    const status = await t.app.inject({ url: '/v1/second-factor', headers: bearer(alice) });
    expect(status.json()).toMatchObject({ enrolled: true, pending: false, recoveryCodesLeft: 10 });
    expect((await t.app.inject({ method: 'POST', url: '/v1/second-factor/enroll', headers: bearer(alice) })).statusCode).toBe(409);
    const bob = await person('bob', ['viewer']);
    const begun = (await t.app.inject({ method: 'POST', url: '/v1/second-factor/enroll', headers: bearer(bob) })).json<{
      secret: string;
    }>();
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/v1/second-factor/confirm',
      headers: bearer(bob),
      payload: { code: '000000' },
    });
    expect(wrong.statusCode).toBe(400);
    expect((await t.app.inject({ url: '/v1/second-factor', headers: bearer(bob) })).json()).toMatchObject({
      enrolled: false,
      pending: true,
    });
    expect(begun.secret).toMatch(/^[A-Z2-7]{32}$/);
  });

  it('asks a person with a second factor for a code at sign-in, and refuses a replayed one', async () => {
    const without = await signIn(alice);
    expect(without.statusCode).toBe(401);
    expect(without.json().details).toEqual({ secondFactor: 'totp', methods: ['totp'] });
    const c = code(secret);
    const ok = await signIn(alice, c);
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().secondFactorAt).toBe(clock.now().toISOString());
    const replay = await signIn(alice, c);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().message).toMatch(/used already/);
    clock.advance(30_000);
  });

  it('accepts one step of clock skew either way, and not two', async () => {
    expect((await signIn(alice, code(secret, -60))).statusCode).toBe(401);
    expect((await signIn(alice, code(secret, 60))).statusCode).toBe(401);
    expect((await signIn(alice, code(secret, -30))).statusCode).toBe(401); // the step before the one last used
    clock.advance(90_000);
    expect((await signIn(alice, code(secret, -30))).statusCode).toBe(201);
    expect((await signIn(alice, code(secret, 30))).statusCode).toBe(201);
    clock.advance(60_000);
  });

  it('takes each recovery code once', async () => {
    expect((await signIn(alice, recovery[0]!.toUpperCase())).statusCode).toBe(201);
    expect((await signIn(alice, recovery[0])).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/v1/second-factor', headers: bearer(alice) })).json().recoveryCodesLeft).toBe(9);
  });

  it('refuses every code, even a right one, after five wrong ones in 15 minutes (guessing six digits with a stolen token)', async () => {
    // The refusals above are five: a replay, three codes outside the window, a used recovery code.
    const refused = await signIn(alice, code(secret));
    expect(refused.statusCode).toBe(401);
    expect(refused.json().message).toMatch(/too many wrong codes/);
    clock.advance(16 * 60_000);
    expect((await signIn(alice, code(secret))).statusCode).toBe(201);
    clock.advance(30_000);
  });

  it("counts each person's wrong codes alone, and not those refused by the throttle", async () => {
    const ben = await person('ben', ['viewer']);
    const cleo = await person('cleo', ['viewer']);
    const benSecret = (await enroll(ben)).secret;
    const cleoSecret = (await enroll(cleo)).secret;
    const wrong = () => code(benSecret, -300);
    for (let i = 0; i < 4; i++) expect((await signIn(ben, wrong())).statusCode).toBe(401);
    expect((await signIn(cleo, code(cleoSecret))).statusCode).toBe(201);
    expect((await signIn(ben, wrong())).json().message).not.toMatch(/too many/);
    expect((await signIn(ben, code(benSecret))).json().message).toMatch(/too many wrong codes/);
    // Ten minutes on, a flood of refused attempts by ben: they neither lock cleo out nor extend ben's window.
    clock.advance(10 * 60_000);
    for (let i = 0; i < 200; i++) expect((await signIn(ben, wrong())).statusCode).toBe(401);
    expect((await signIn(cleo, code(cleoSecret))).statusCode).toBe(201);
    clock.advance(5 * 60_000 + 30_000);
    expect((await signIn(ben, code(benSecret))).statusCode).toBe(201);
    clock.advance(30_000);
  });

  it('lets at most five codes through of many sent at once', async () => {
    const dana = await person('dana', ['viewer']);
    const danaSecret = (await enroll(dana)).secret;
    const answers = await Promise.all(Array.from({ length: 20 }, () => signIn(dana, code(danaSecret, -300))));
    expect(answers.every((r) => r.statusCode === 401)).toBe(true);
    expect(answers.filter((r) => !/too many wrong codes/.test(r.json().message))).toHaveLength(5);
    clock.advance(16 * 60_000);
    expect((await signIn(dana, code(danaSecret))).statusCode).toBe(201);
    clock.advance(30_000);
  });

  it('needs a fresh second factor for sensitive actions: a code in the header, or a session stepped up within ten minutes', async () => {
    const refused = await makePrincipal(bearer(alice), 'svc-a');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().details).toMatchObject({ reason: 'step_up_required', maxAgeMinutes: 10 });
    expect(refused.json().message).toMatch(/X-Bulwark-Second-Factor/);
    // Reading is not sensitive.
    expect((await t.app.inject({ url: '/v1/principals', headers: bearer(alice) })).statusCode).toBe(200);
    const withCode = await makePrincipal({ ...bearer(alice), 'x-bulwark-second-factor': code(secret) }, 'svc-a');
    expect(withCode.statusCode, withCode.body).toBe(201);
    const wrong = await makePrincipal({ ...bearer(alice), 'x-bulwark-second-factor': '123456' }, 'svc-b');
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().details).toEqual({ reason: 'step_up_failed' });
    clock.advance(30_000);

    const session = await signIn(alice, code(secret));
    const cookie = cookieOf(session);
    clock.advance(30_000);
    const fresh = await makePrincipal({ cookie, ...origin() }, 'svc-b');
    expect(fresh.statusCode, fresh.body).toBe(201);
    clock.advance(11 * 60_000);
    const stale = await makePrincipal({ cookie, ...origin() }, 'svc-c');
    expect(stale.statusCode).toBe(403);
    expect(stale.json().details.reason).toBe('step_up_required');
    // Keep the session from going idle, and step up.
    const up = await t.app.inject({
      method: 'POST',
      url: '/v1/session/step-up',
      headers: { cookie, ...origin() },
      payload: { code: code(secret) },
    });
    expect(up.statusCode, up.body).toBe(200);
    expect((await makePrincipal({ cookie, ...origin() }, 'svc-c')).statusCode).toBe(201);
    // A person without a second factor, and services, are not asked (the policy `enrolled`).
    expect((await makePrincipal(admin(), 'svc-d')).statusCode).toBe(201);
    clock.advance(30_000);
  });

  it('records every enrollment, use and failure in the ledger, never a code or the secret; disabling needs a current code', async () => {
    expect(
      (await t.app.inject({ method: 'POST', url: '/v1/second-factor/disable', headers: bearer(alice), payload: { code: '999999' } }))
        .statusCode,
    ).toBe(403);
    expect(
      (await t.app.inject({ method: 'POST', url: '/v1/second-factor/disable', headers: bearer(alice), payload: { code: code(secret) } }))
        .statusCode,
    ).toBe(200);
    const entries = await t.deps.store.ledger.page({ limit: 500, order: 'asc' });
    const kinds = entries.filter((e) => e.subject === 'principal:person:alice').map((e) => e.kind);
    for (const k of [
      'second-factor.enrolled',
      'second-factor.verified',
      'second-factor.failed',
      'second-factor.recovery-used',
      'second-factor.disabled',
    ])
      expect(kinds, k).toContain(k);
    const all = JSON.stringify(entries);
    expect(all).not.toContain(secret);
    for (const r of recovery) expect(all).not.toContain(r);
    expect(entries.find((e) => e.kind === 'second-factor.failed' && e.dataJson.includes('replayed'))).toBeDefined();
    // Without a factor, alice signs in with the token alone again.
    expect((await signIn(alice)).statusCode).toBe(201);
  });
});
