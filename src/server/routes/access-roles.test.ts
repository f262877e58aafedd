/**
 * Custom roles over HTTP on a real SQLite file: a roles file applied (versions, ledger entries,
 * bad files refused naming what to fix), step-up to change roles, a principal granted a custom
 * role, and the example end to end through the real run route: a person whose role says
 * `resource.labels.team in principal.groups` runs its team's experiment (202) and is refused on
 * another team's (403), on an unlabelled one (the condition fails to evaluate: 403) and on one that
 * does not exist (404); a token's scopes still narrow; a role without a condition grants outright;
 * a role held by someone is not deleted.
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

const admin = () => bearer(t.adminToken);
const ROLES = `
roles:
  - name: team-runner
    description: a team runs only experiments labelled with its own team
    grants: [experiments:run]
    condition: resource.labels.team in principal.groups
  - name: ledger-noter
    grants: [ledger:write]
`;

const experiment = (title: string, labels: string) => `
title: ${title}
description: a dry run is enough to be refused or let through
${labels}
method:
  - type: probe
    name: look
    provider: { type: http, url: "http://127.0.0.1:1/" }
`;

const inject = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, headers: Record<string, string>, payload?: unknown) =>
  t.app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });

async function person(name: string, groups: string[], roles: string[], scopes: string[] = ['*']): Promise<string> {
  const p = await inject('POST', '/v1/principals', admin(), { kind: 'person', name, roles, groups });
  expect(p.statusCode, p.body).toBe(201);
  const tok = await inject('POST', '/v1/tokens', admin(), { name, principal: `person:${name}`, scopes });
  expect(tok.statusCode, tok.body).toBe(201);
  return tok.json<{ token: string }>().token;
}

const run = (token: string, name: string) => inject('POST', `/v1/experiments/${name}/runs`, bearer(token), { dryRun: true });

describe('custom roles', () => {
  it('applies a roles file: created, then unchanged or changed with a new version, each change in the ledger', async () => {
    const first = await inject('POST', '/v1/roles', admin(), { file: ROLES });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({
      roles: [
        { name: 'team-runner', version: 1, change: 'created' },
        { name: 'ledger-noter', version: 1, change: 'created' },
      ],
    });
    const again = await inject('POST', '/v1/roles', admin(), {
      file: ROLES.replace('grants: [ledger:write]', 'grants: [ledger:write, ledger:read]'),
    });
    expect(again.json()).toEqual({
      roles: [
        { name: 'team-runner', version: 1, change: 'unchanged' },
        { name: 'ledger-noter', version: 2, change: 'changed' },
      ],
    });
    const list = await inject('GET', '/v1/roles', admin());
    expect(list.json().builtIn.map((r: { name: string }) => r.name)).toContain('viewer');
    expect(list.json().custom).toMatchObject([
      { name: 'ledger-noter', version: 2, grants: ['ledger:write', 'ledger:read'], condition: null },
      { name: 'team-runner', version: 1, condition: 'resource.labels.team in principal.groups' },
    ]);
    const entries = await t.deps.store.ledger.page({ limit: 100, order: 'asc', kind: 'role.applied' });
    expect(entries.map((e) => [e.subject, (JSON.parse(e.dataJson) as { version: number }).version])).toEqual([
      ['role:team-runner', 1],
      ['role:ledger-noter', 1],
      ['role:ledger-noter', 2],
    ]);
  });

  it('refuses a bad roles file naming what to fix, and changes nothing', async () => {
    const bad = await inject('POST', '/v1/roles', admin(), {
      file: 'roles:\n  - name: x\n    grants: [experiments:run]\n    condition: resource.lables.team == "a"\n',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('roles.0.condition');
    const check = await inject('POST', '/v1/roles/validate', admin(), { file: 'roles:\n  - name: viewer\n    grants: [nukes:launch]\n' });
    expect(check.statusCode).toBe(200);
    expect(check.json()).toMatchObject({ ok: false, errors: [{ path: 'roles.0.name' }, { path: 'roles.0.grants.0' }] });
    expect((await inject('GET', '/v1/roles/x', admin())).statusCode).toBe(404);
    const unknownRole = await inject('POST', '/v1/principals', admin(), { kind: 'person', name: 'zed', roles: ['no-such-role'] });
    expect(unknownRole.statusCode).toBe(400);
    expect(unknownRole.json().message).toContain('bulwark roles apply');
  });

  it("lets a team run its own team's experiments only, through the real run route", async () => {
    for (const [name, labels] of [
      ['checkout-waf', 'x-labels: { team: checkout }'],
      ['payments-waf', 'x-labels: { team: payments }'],
      ['unlabelled-waf', ''],
    ] as const) {
      const applied = await inject('POST', '/v1/experiments', admin(), { file: experiment(name, labels), name });
      expect(applied.statusCode, applied.body).toBe(201);
    }
    const carol = await person('carol', ['checkout'], ['viewer', 'team-runner']);
    const ok = await run(carol, 'checkout-waf');
    expect(ok.statusCode, ok.body).toBe(202);
    expect(ok.json().run).toMatchObject({ experiment: 'checkout-waf', dryRun: true });

    // Refused with a generic reason: neither the condition nor its evaluation error (which labels
    // to aim for) reaches the caller; both go to the server's log.
    const other = await run(carol, 'payments-waf');
    expect(other.statusCode).toBe(403);
    expect(other.json().message).toContain('no role grants experiments:run on experiment payments-waf');
    const unlabelled = await run(carol, 'unlabelled-waf');
    expect(unlabelled.statusCode).toBe(403);
    expect(unlabelled.json().message).toContain('no role grants experiments:run on experiment unlabelled-waf');
    for (const res of [other, unlabelled]) expect(res.body).not.toMatch(/labels|principal\.groups|evaluate|team-runner/);
    const logged = t.logs.filter((l) => l.includes('conditional role denied'));
    expect(logged.some((l) => l.includes('payments-waf') && l.includes('resource.labels.team in principal.groups does not hold'))).toBe(
      true,
    );
    expect(logged.some((l) => l.includes('unlabelled-waf') && l.includes('failed to evaluate'))).toBe(true);
    expect((await run(carol, 'no-such-experiment')).statusCode).toBe(404);
    // A route that names no single resource gets no conditional grant: stopping every run.
    expect((await inject('POST', '/v1/experiments/stop-all', bearer(carol), {})).statusCode).toBe(403);

    // Moving carol to payments moves what she may run, from the next request.
    const moved = await inject('PUT', '/v1/principals/person:carol/roles', admin(), { roles: ['viewer'] });
    expect(moved.statusCode, moved.body).toBe(200);
    expect((await run(carol, 'checkout-waf')).statusCode).toBe(403);
    const ledger = await t.deps.store.ledger.page({ limit: 100, order: 'asc', kind: 'principal.roles-changed' });
    expect(ledger.map((e) => JSON.parse(e.dataJson) as unknown)).toEqual([
      { id: 'person:carol', from: ['viewer', 'team-runner'], to: ['viewer'] },
    ]);
  });

  it('asks a condition about HEAD as GET (HEAD reads what GET reads)', async () => {
    const reads = 'roles:\n  - name: get-reader\n    grants: [experiments:read]\n    condition: request.method == "GET"\n';
    expect((await inject('POST', '/v1/roles', admin(), { file: reads })).statusCode).toBe(200);
    const kim = await person('kim', [], ['get-reader']);
    expect((await inject('GET', '/v1/experiments/checkout-waf', bearer(kim))).statusCode).toBe(200);
    const head = await t.app.inject({ method: 'HEAD', url: '/v1/experiments/checkout-waf', headers: bearer(kim) });
    expect(head.statusCode).toBe(200);
  });

  it("narrows a conditional role to the token's scopes", async () => {
    const dave = await person('dave', ['checkout'], ['viewer', 'team-runner'], ['experiments:read']);
    const res = await run(dave, 'checkout-waf');
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toContain("token's scopes do not include it");
  });

  it('grants a role without a condition outright, within the token', async () => {
    const erin = await person('erin', [], ['viewer', 'ledger-noter']);
    const note = await inject('POST', '/v1/ledger/notes', bearer(erin), { type: 'comment', subject: 'service:shop', text: 'hello' });
    expect(note.statusCode, note.body).toBe(201);
    const viewer = await person('gina', [], ['viewer']);
    expect(
      (await inject('POST', '/v1/ledger/notes', bearer(viewer), { type: 'comment', subject: 'service:shop', text: 'hi' })).statusCode,
    ).toBe(403);
  });

  it('lets nobody grant what they do not hold, in a role or to a principal', async () => {
    const roleAdmin =
      'roles:\n  - name: role-admin\n    grants: [roles:manage, roles:read, principals:manage, principals:read, ledger:read, session:read]\n';
    expect((await inject('POST', '/v1/roles', admin(), { file: roleAdmin })).statusCode).toBe(200);
    const hank = await person('hank', [], ['role-admin']);
    // Widening a role one holds, or making one with more than one holds: refused, nothing stored.
    const widen = await inject('POST', '/v1/roles', bearer(hank), {
      file: roleAdmin.replace('ledger:read,', 'ledger:read, ledger:write,'),
    });
    expect(widen.statusCode).toBe(403);
    expect(widen.json()).toMatchObject({ details: { missing: ['ledger:write'] } });
    expect((await inject('GET', '/v1/roles/role-admin', admin())).json().version).toBe(1);
    const within = await inject('POST', '/v1/roles', bearer(hank), { file: 'roles:\n  - name: reader\n    grants: [ledger:read]\n' });
    expect(within.statusCode, within.body).toBe(200);
    // Giving a principal a role with more than one holds: refused, on create and on set.
    expect((await inject('POST', '/v1/principals', bearer(hank), { kind: 'person', name: 'ivan', roles: ['admin'] })).statusCode).toBe(403);
    const ivan = await inject('POST', '/v1/principals', bearer(hank), { kind: 'person', name: 'ivan', roles: ['reader'] });
    expect(ivan.statusCode, ivan.body).toBe(201);
    expect((await inject('PUT', '/v1/principals/person:ivan/roles', bearer(hank), { roles: ['reader', 'operator'] })).statusCode).toBe(403);
    expect((await t.deps.store.principals.get('person:ivan'))?.roles).toEqual(['reader']);
  });

  it("checks what a new principal's roles grant against its creator, and stores nothing when refused", async () => {
    const maker = await person('maker', [], ['role-admin']);
    const refused = await inject('POST', '/v1/principals', bearer(maker), { kind: 'service', name: 'deployer', roles: ['operator'] });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().details.missing).toContain('experiments:run');
    expect(await t.deps.store.principals.get('service:deployer')).toBeUndefined();
  });

  it('does not let a breakglass grant be handed on through a role', async () => {
    const withBreakglass =
      'roles:\n  - name: bg-admin\n    grants: [roles:manage, roles:read, principals:manage, principals:read, breakglass:invoke, ledger:read, session:read]\n';
    expect((await inject('POST', '/v1/roles', admin(), { file: withBreakglass })).statusCode).toBe(200);
    const jack = await person('jack', [], ['bg-admin']);
    const bg = await inject('POST', '/v1/breakglass', bearer(jack), {
      permission: 'ledger:write',
      reason: 'the incident notes must go in now',
      minutes: 30,
    });
    expect(bg.statusCode, bg.body).toBe(201);
    // The hour's grant works as such...
    const note = await inject('POST', '/v1/ledger/notes', bearer(jack), { type: 'comment', subject: 'service:shop', text: 'noted' });
    expect(note.statusCode, note.body).toBe(201);
    // ...but is not made permanent in a role, nor given to someone through one.
    const role = await inject('POST', '/v1/roles', bearer(jack), { file: 'roles:\n  - name: forever-noter\n    grants: [ledger:write]\n' });
    expect(role.statusCode, role.body).toBe(403);
    expect(role.json()).toMatchObject({ details: { missing: ['ledger:write'], breakglassOnly: ['ledger:write'] } });
    expect(role.json().message).toContain('breakglass');
    expect((await inject('GET', '/v1/roles/forever-noter', admin())).statusCode).toBe(404);
    const given = await inject('PUT', '/v1/principals/person:jack/roles', bearer(jack), { roles: ['bg-admin', 'ledger-noter'] });
    expect(given.statusCode, given.body).toBe(403);
    expect((await t.deps.store.principals.get('person:jack'))?.roles).toEqual(['bg-admin']);
  });

  it('needs a fresh second factor to change roles, and keeps a held role', async () => {
    const frank = await person('frank', [], ['admin']);
    const { secret } = (await inject('POST', '/v1/second-factor/enroll', bearer(frank))).json<{ secret: string }>();
    const code = () => generateSync({ secret, epoch: Math.floor(clock.now().getTime() / 1000) });
    expect((await inject('POST', '/v1/second-factor/confirm', bearer(frank), { code: code() })).statusCode).toBe(200);
    clock.advance(11 * 60_000);
    const stale = await inject('DELETE', '/v1/roles/ledger-noter', bearer(frank));
    expect(stale.statusCode).toBe(403);
    expect(stale.json().details).toMatchObject({ reason: 'step_up_required' });
    const held = await t.app.inject({
      method: 'DELETE',
      url: '/v1/roles/ledger-noter',
      headers: { ...bearer(frank), 'x-bulwark-second-factor': code() },
    });
    expect(held.statusCode).toBe(409);
    expect(held.json().message).toContain('person:erin');
    await inject('PUT', '/v1/principals/person:erin/roles', admin(), { roles: ['viewer'] });
    const gone = await inject('DELETE', '/v1/roles/ledger-noter', admin());
    expect(gone.json()).toEqual({ name: 'ledger-noter', version: 2 });
    expect((await inject('GET', '/v1/roles/ledger-noter', admin())).statusCode).toBe(404);
    // Applied again, the name goes on from its last version.
    const back = await inject('POST', '/v1/roles', admin(), { file: 'roles:\n  - name: ledger-noter\n    grants: [ledger:write]\n' });
    expect(back.json().roles).toEqual([{ name: 'ledger-noter', version: 3, change: 'created' }]);
  });
});
