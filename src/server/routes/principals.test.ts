/**
 * Principals over the API: created with roles, their tokens act within those roles whatever
 * their scopes say; disabling one ends its tokens and sessions at once; every change is in the
 * ledger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(async () => {
  await t?.close();
});

const admin = () => bearer(t.adminToken);
async function principal(name: string, roles: string[], groups: string[] = []) {
  return t.app.inject({ method: 'POST', url: '/v1/principals', headers: admin(), payload: { kind: 'person', name, roles, groups } });
}
async function tokenFor(id: string, scopes: string[] = ['*']) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/tokens',
    headers: admin(),
    payload: { name: id.split(':')[1], principal: id, scopes },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; token: string; principal: { id: string } }>();
}
const note = { type: 'observation', subject: 'service:shop', text: 'x' };

describe('principals', () => {
  it('are created with groups and roles, listed, and recorded in the ledger; a taken name or unknown role is refused', async () => {
    const res = await principal('alice', ['responder'], ['sre']);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ id: 'person:alice', roles: ['responder'], groups: ['sre'], disabledAt: null });
    expect((await principal('alice', ['viewer'])).statusCode).toBe(409);
    const bad = await principal('bob', ['root']);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/viewer/);
    const list = await t.app.inject({ url: '/v1/principals', headers: admin() });
    expect(list.json().principals.map((p: { id: string }) => p.id)).toContain('person:alice');
    const [entry] = (await t.deps.store.ledger.page({ kind: 'principal.created', limit: 1, order: 'desc' })).map((e) =>
      JSON.parse(e.dataJson),
    );
    expect(entry).toEqual({ id: 'person:alice', kind: 'person', groups: ['sre'], roles: ['responder'] });
  });

  it("narrow their tokens to their roles: a '*' token of a responder writes notes but cannot manage tokens or apply experiments", async () => {
    const { token } = await tokenFor('person:alice');
    const session = await t.app.inject({ url: '/v1/session', headers: bearer(token) });
    expect(session.json().permissions).not.toContain('tokens:manage');
    expect(session.json().permissions).toContain('ledger:write');
    expect((await t.app.inject({ method: 'POST', url: '/v1/ledger/notes', headers: bearer(token), payload: note })).statusCode).toBe(201);
    expect((await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(token), payload: { name: 'x' } })).statusCode).toBe(
      403,
    );
    expect((await t.app.inject({ method: 'POST', url: '/v1/experiments', headers: bearer(token), payload: {} })).statusCode).toBe(403);
  });

  it('mint no token for a principal that does not exist', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: admin(),
      payload: { name: 'ghost', principal: 'person:ghost' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/no principal person:ghost/);
  });

  it('when disabled, lose every token and session at once, and no new token is minted for them', async () => {
    expect((await principal('carol', ['viewer'])).statusCode).toBe(201);
    const a = await tokenFor('person:carol');
    const b = await tokenFor('person:carol', ['ledger:read']);
    const signIn = await t.app.inject({ method: 'POST', url: '/v1/session', payload: { token: a.token } });
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    expect((await t.app.inject({ url: '/v1/ledger/entries', headers: { cookie } })).statusCode).toBe(200);

    const res = await t.app.inject({ method: 'POST', url: '/v1/principals/person:carol/disable', headers: admin() });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().revokedTokens.sort()).toEqual([a.id, b.id].sort());
    for (const tok of [a.token, b.token]) expect((await t.app.inject({ url: '/v1/session', headers: bearer(tok) })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/v1/session', headers: { cookie } })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'POST', url: '/v1/principals/person:carol/disable', headers: admin() })).statusCode).toBe(409);
    expect((await t.app.inject({ method: 'POST', url: '/v1/principals/person:nobody/disable', headers: admin() })).statusCode).toBe(404);
    const again = await t.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: admin(),
      payload: { name: 'c', principal: 'person:carol' },
    });
    expect(again.statusCode).toBe(400);
    const kinds = (await t.deps.store.ledger.page({ limit: 5, order: 'desc' })).map((e) => e.kind);
    expect(kinds).toContain('principal.disabled');
  });
});
