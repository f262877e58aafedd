/**
 * Approvals on existing actions, on a fake clock: off by default; with a rule, deleting an
 * experiment answers 202 with a request and changes nothing; it runs once its approver approved,
 * when the requester repeats it with the request's id — once, also through a second server on
 * the same database (a restart, a replica); never for other parameters, another caller, an
 * expired request; breakglass approves at once. Bad rules are refused naming what to fix.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';
import { createServer, type BulwarkServer } from '../create-server.ts';
import { createLogger } from '../logging.ts';

let t: TestApp;
let second: BulwarkServer;
const clock = new ManualClock(Date.parse('2026-05-01T09:00:05.000Z'));
const tokens: Record<string, string> = {};
beforeAll(async () => {
  t = await makeTestApp({ clock });
  const people: [string, string[], string[]][] = [
    ['alice', ['operator'], ['sre']],
    ['bob', ['approver'], ['security']],
    ['carol', ['responder'], ['sre']],
  ];
  for (const [name, roles, groups] of people) {
    await t.app.inject({
      method: 'POST',
      url: '/v1/principals',
      headers: bearer(t.adminToken),
      payload: { kind: 'person', name, roles, groups },
    });
    const tok = await t.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(t.adminToken),
      payload: { name, principal: `person:${name}`, scopes: ['*'] },
    });
    tokens[name] = tok.json<{ token: string }>().token;
  }
  for (const name of ['one', 'two', 'three', 'four'])
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/v1/experiments',
          headers: bearer(t.adminToken),
          payload: {
            name,
            file: `title: ${name}\ndescription: d\nmethod:\n  - type: action\n    name: a\n    provider: { type: http, url: 'http://127.0.0.1:1/' }\n`,
          },
        })
      ).statusCode,
    ).toBe(201);
  // A second server on the same database: what one records, the other acts on.
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  second = await createServer({ deps: t.deps, logger: createLogger('silent', sink, 'json'), webDir: path.join(t.dir, 'no-web') });
  await second.app.ready();
});
afterAll(async () => {
  await second?.app.close();
  await t?.close();
});

const as = (who: string, extra: Record<string, string> = {}) => ({ ...bearer(tokens[who]!), ...extra });
const del = (who: string, name: string, extra: Record<string, string> = {}, app = t.app) =>
  app.inject({ method: 'DELETE', url: `/v1/experiments/${name}`, headers: as(who, extra) });
const approve = (who: string, id: string) =>
  t.app.inject({ method: 'POST', url: `/v1/approvals/${id}/approve`, headers: as(who), payload: { reason: 'checked' } });
const exists = async (name: string) => (await t.app.inject({ url: `/v1/experiments/${name}`, headers: as('alice') })).statusCode === 200;

describe('approvals on existing actions', () => {
  it('changes nothing until a rule names the action', async () => {
    expect((await t.app.inject({ url: '/v1/approvals/rules', headers: as('alice') })).json()).toMatchObject({
      actions: {},
      guardable: ['experiment.delete', 'secret.delete', 'secret-key.rotate'],
    });
    expect((await del('alice', 'four')).statusCode).toBe(200);
  });

  it('refuses bad rules naming what to fix, and takes good ones', async () => {
    const bad = await t.app.inject({
      method: 'PUT',
      url: '/v1/approvals/rules',
      headers: bearer(t.adminToken),
      payload: { actions: { 'experiment.explode': { rules: [{ count: 1 }] } } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('experiment.delete');
    expect(
      (await t.app.inject({ method: 'PUT', url: '/v1/approvals/rules', headers: as('alice'), payload: { actions: {} } })).statusCode,
    ).toBe(403);
    const ok = await t.app.inject({
      method: 'PUT',
      url: '/v1/approvals/rules',
      headers: bearer(t.adminToken),
      payload: { actions: { 'experiment.delete': { rules: [{ count: 1, groups: ['security'] }], expiresInMinutes: 60 } } },
    });
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('holds the delete as a request, runs it once after approval, also through another server', async () => {
    const asked = await del('alice', 'one', { 'x-bulwark-reason': 'replaced by two' });
    expect(asked.statusCode, asked.body).toBe(202);
    const { approval, message } = asked.json<{ approval: { id: string; state: string; reason: string }; message: string }>();
    expect(approval).toMatchObject({ state: 'pending', reason: 'replaced by two' });
    expect(message).toContain(`X-Bulwark-Approval: ${approval.id}`);
    expect(await exists('one')).toBe(true);
    const early = await del('alice', 'one', { 'x-bulwark-approval': approval.id });
    expect(early.statusCode).toBe(409);
    expect(early.body).toContain('waits for its approvers');
    expect((await approve('alice', approval.id)).statusCode).toBe(403); // never the requester
    expect((await approve('bob', approval.id)).json()).toMatchObject({ state: 'approved' });
    expect((await del('bob', 'one', { 'x-bulwark-approval': approval.id })).statusCode).toBe(403); // only the requester uses it
    expect((await del('alice', 'two', { 'x-bulwark-approval': approval.id })).json().message).toContain(
      'not experiment.delete on experiment:two',
    );
    const ran = await del('alice', 'one', { 'x-bulwark-approval': approval.id }, second.app);
    expect(ran.statusCode, ran.body).toBe(200);
    expect(await exists('one')).toBe(false);
    const again = await del('alice', 'one', { 'x-bulwark-approval': approval.id });
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain('executed');
    const kinds = (await t.deps.store.ledger.page({ limit: 1000, order: 'asc' }))
      .filter((e) => e.subject === `approval:${approval.id}` || e.kind === 'experiment.deleted')
      .map((e) => e.kind);
    expect(kinds.slice(-4)).toEqual(['approval.requested', 'approval.decided', 'approval.executed', 'experiment.deleted']);
  });

  it('never runs an expired request', async () => {
    const { approval } = (await del('alice', 'two')).json<{ approval: { id: string } }>();
    clock.advance(61 * 60_000);
    expect((await approve('bob', approval.id)).statusCode).toBe(409);
    expect((await del('alice', 'two', { 'x-bulwark-approval': approval.id })).statusCode).toBe(409);
    expect(await exists('two')).toBe(true);
  });

  it('lets breakglass approve at once, loudly', async () => {
    const { approval } = (await del('alice', 'three')).json<{ approval: { id: string } }>();
    const glass = await t.app.inject({
      method: 'POST',
      url: `/v1/approvals/${approval.id}/breakglass`,
      headers: as('carol'),
      payload: { reason: 'the experiment is hammering production right now' },
    });
    expect(glass.statusCode, glass.body).toBe(201);
    expect((await del('alice', 'three', { 'x-bulwark-approval': approval.id })).statusCode).toBe(200);
    expect(await exists('three')).toBe(false);
  });
});
