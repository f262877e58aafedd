/**
 * Approvals and breakglass over HTTP, on a fake clock: the requester never approves, each person
 * decides once, two rules over two groups are both required, a denial ends a request, expiry,
 * changed parameters do not run, the approved action runs once (also when two consume at once),
 * an approver with a second factor steps up; breakglass grants one permission for a bounded time,
 * sends a signal, opens a review someone else closes, and blocks the next one until then; nobody
 * breaks glass on their own approval request.
 */
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';
import type { RequestApprovalInput } from '../../app/access/approvals.ts';
import { systemActor } from '../../core/ledger/actor.ts';

let t: TestApp;
const clock = new ManualClock(Date.parse('2026-04-01T09:00:05.000Z'));
const tokens: Record<string, string> = {};
beforeAll(async () => {
  t = await makeTestApp({ clock });
  const people: [string, string[], string[]][] = [
    ['alice', ['operator'], ['sre']],
    ['bob', ['approver'], ['sre']],
    ['carol', ['approver'], ['security']],
    ['dave', ['approver'], ['sre', 'security']],
    ['erin', ['viewer'], ['security']],
  ];
  for (const [name, roles, groups] of people) {
    const p = await t.app.inject({
      method: 'POST',
      url: '/v1/principals',
      headers: bearer(t.adminToken),
      payload: { kind: 'person', name, roles, groups },
    });
    expect(p.statusCode, p.body).toBe(201);
    const tok = await t.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(t.adminToken),
      payload: { name, principal: `person:${name}`, scopes: ['*'] },
    });
    tokens[name] = tok.json<{ token: string }>().token;
  }
});
afterAll(async () => {
  await t?.close();
});

const actor = systemActor('test');
const twoTeams = {
  rules: [
    { count: 1, groups: ['sre'] },
    { count: 1, groups: ['security'] },
  ],
};
const ask = (over: Partial<RequestApprovalInput> = {}) =>
  t.approvals.request({ id: 'person:alice' }, actor, {
    kind: 'experiment.delete',
    resource: 'experiment:checkout-waf',
    payload: { name: 'checkout-waf' },
    summary: 'delete checkout-waf',
    reason: 'replaced by checkout-waf-2',
    policy: twoTeams,
    ...over,
  });
const decide = (who: string, id: string, decision: 'approve' | 'deny', headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: `/v1/approvals/${id}/${decision}`,
    headers: { ...bearer(tokens[who]!), ...headers },
    payload: { reason: `${who} says ${decision}` },
  });
const consume = (id: string, payload: unknown = { name: 'checkout-waf' }) =>
  t.approvals.consume(actor, { id, kind: 'experiment.delete', resource: 'experiment:checkout-waf', payload });

describe('approvals', () => {
  it('never counts the requester, counts each person once, and needs both rules before the action runs, once', async () => {
    const a = await ask();
    expect(a.state).toBe('pending');
    expect((await decide('alice', a.id, 'approve')).statusCode).toBe(403);
    const bob = await decide('bob', a.id, 'approve');
    expect(bob.statusCode, bob.body).toBe(200);
    expect(bob.json()).toMatchObject({ state: 'pending', missing: ['1 more approval from group security'] });
    expect((await decide('bob', a.id, 'approve')).statusCode).toBe(409);
    expect((await decide('erin', a.id, 'approve')).statusCode).toBe(403); // a viewer lacks approvals:decide
    expect(await consume(a.id)).toMatchObject({ ok: false, state: 'pending' });
    const carol = await decide('carol', a.id, 'approve');
    expect(carol.json()).toMatchObject({ state: 'approved', missing: [] });
    expect(await consume(a.id, { name: 'other' })).toMatchObject({ ok: false });
    const both = await Promise.all([consume(a.id), consume(a.id)]);
    expect(both.filter((r) => r.ok)).toHaveLength(1);
    expect((await consume(a.id)).ok).toBe(false);
    const shown = await t.app.inject({ url: `/v1/approvals/${a.id}`, headers: bearer(tokens.bob!) });
    expect(shown.json()).toMatchObject({ state: 'executed', decisions: [{ principal: 'person:bob' }, { principal: 'person:carol' }] });
    const kinds = (await t.deps.store.ledger.page({ limit: 1000, order: 'asc' }))
      .filter((e) => e.subject === `approval:${a.id}`)
      .map((e) => e.kind);
    expect(kinds).toEqual(['approval.requested', 'approval.decided', 'approval.decided', 'approval.executed']);
  });

  it('is denied by one denial, and a denied request never runs', async () => {
    const a = await ask();
    expect((await decide('carol', a.id, 'deny')).json().state).toBe('denied');
    expect((await decide('bob', a.id, 'approve')).statusCode).toBe(409);
    expect(await consume(a.id)).toMatchObject({ ok: false, state: 'denied' });
    const pending = await t.app.inject({ url: '/v1/approvals?state=denied', headers: bearer(tokens.bob!) });
    expect(pending.json().approvals.map((x: { id: string }) => x.id)).toContain(a.id);
  });

  it('expires undecided, records the expiry, and never runs', async () => {
    const a = await ask({ policy: { ...twoTeams, expiresInMinutes: 5 } });
    await decide('bob', a.id, 'approve');
    clock.advance(6 * 60_000);
    expect((await t.app.inject({ url: `/v1/approvals/${a.id}`, headers: bearer(tokens.bob!) })).json().state).toBe('expired');
    expect((await decide('carol', a.id, 'approve')).statusCode).toBe(409);
    expect(await consume(a.id)).toMatchObject({ ok: false });
    expect((await t.deps.store.approvals.get(a.id))?.state).toBe('expired');
  });

  it('asks an approver with a second factor for a fresh one', async () => {
    const begun = await t.app.inject({ method: 'POST', url: '/v1/second-factor/enroll', headers: bearer(tokens.dave!) });
    const { secret } = begun.json<{ secret: string }>();
    const now = () => Math.floor(clock.now().getTime() / 1000);
    await t.app.inject({
      method: 'POST',
      url: '/v1/second-factor/confirm',
      headers: bearer(tokens.dave!),
      payload: { code: generateSync({ secret, epoch: now() }) },
    });
    clock.advance(30_000);
    const a = await ask({ policy: { rules: [{ count: 1, roles: ['approver'] }] } });
    const refused = await decide('dave', a.id, 'approve');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().details.reason).toBe('step_up_required');
    const ok = await decide('dave', a.id, 'approve', { 'x-bulwark-second-factor': generateSync({ secret, epoch: now() }) });
    expect(ok.json().state).toBe('approved');
  });
});

describe('breakglass', () => {
  const invoke = (who: string, permission = 'principals:manage') =>
    t.app.inject({
      method: 'POST',
      url: '/v1/breakglass',
      headers: bearer(tokens[who]!),
      payload: { permission, reason: 'checkout down; rotate the ci service account', minutes: 30 },
    });
  const makeService = (who: string, name: string) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/principals',
      headers: bearer(tokens[who]!),
      payload: { kind: 'service', name, roles: ['viewer'] },
    });

  it('grants one permission for its time, loudly, until someone else reviews it; the next waits for the review', async () => {
    expect((await makeService('alice', 'ci-1')).statusCode).toBe(403);
    const bg = await invoke('alice');
    expect(bg.statusCode, bg.body).toBe(201);
    expect(bg.json()).toMatchObject({ permission: 'principals:manage', active: true, alerted: true, reviewedAt: null });
    expect((await makeService('alice', 'ci-1')).statusCode).toBe(201);
    const signals = await t.app.inject({ url: '/v1/signals?source=bulwark', headers: bearer(t.adminToken) });
    expect(JSON.stringify(signals.json())).toContain('Breakglass');
    expect((await t.deps.store.ledger.page({ kind: 'breakglass.invoked', limit: 1, order: 'desc' }))[0]?.subject).toBe(
      `breakglass:${bg.json().id}`,
    );

    expect((await invoke('alice')).statusCode).toBe(409);
    const open = await t.app.inject({ url: '/v1/breakglass?unreviewed=true', headers: bearer(tokens.bob!) });
    expect(open.json().breakglass.map((b: { id: string }) => b.id)).toEqual([bg.json().id]);
    const own = await t.app.inject({
      method: 'POST',
      url: `/v1/breakglass/${bg.json().id}/review`,
      headers: bearer(tokens.alice!),
      payload: { note: 'fine' },
    });
    expect(own.statusCode).toBe(403);
    const review = await t.app.inject({
      method: 'POST',
      url: `/v1/breakglass/${bg.json().id}/review`,
      headers: bearer(tokens.bob!),
      payload: { note: 'justified: outage INC-7' },
    });
    expect(review.statusCode, review.body).toBe(200);
    expect((await t.app.inject({ url: '/v1/breakglass?unreviewed=true', headers: bearer(tokens.bob!) })).json().breakglass).toEqual([]);

    clock.advance(31 * 60_000);
    expect((await makeService('alice', 'ci-2')).statusCode).toBe(403);
    expect((await invoke('alice', '*')).statusCode).toBe(400);
    expect((await invoke('alice', 'breakglass:review')).statusCode).toBe(400);
    expect((await invoke('erin')).statusCode).toBe(403); // a viewer has no breakglass right
  });

  it('bypasses a pending approval: it runs once at once, a review is opened, and the metric counts it', async () => {
    const bypass = (id: string) =>
      t.app.inject({
        method: 'POST',
        url: `/v1/approvals/${id}/breakglass`,
        headers: bearer(tokens.alice!),
        payload: { reason: 'checkout is down; delete the broken experiment now' },
      });
    const own = await ask();
    const refused = await bypass(own.id);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().message).toMatch(/someone else must break glass on your request/);
    expect((await t.approvals.status(own.id)).state).toBe('pending');
    const askAsDave = (payload: unknown) =>
      t.approvals.request({ id: 'person:dave' }, actor, {
        kind: 'experiment.delete',
        resource: 'experiment:checkout-waf',
        payload,
        summary: 'delete checkout-waf',
        reason: 'replaced by checkout-waf-2',
        policy: twoTeams,
      });
    const a = await askAsDave({ name: 'checkout-waf' });
    const r = await bypass(a.id);
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ permission: `approval:${a.id}`, alerted: true, reviewedAt: null });
    expect((await consume(a.id)).ok).toBe(true);
    expect((await bypass((await askAsDave({ name: 'other' })).id)).statusCode).toBe(409); // the last one is not reviewed
    const metrics = await t.app.inject({ url: '/metrics', headers: bearer(t.adminToken) });
    expect(metrics.body).toMatch(/bulwark_breakglass_total\{kind="approval"\} 1/);
    const decided = await t.deps.store.ledger.page({ kind: 'approval.decided', limit: 1, order: 'desc' });
    expect(JSON.parse(decided[0]!.dataJson)).toMatchObject({ id: a.id, decision: 'breakglass', state: 'approved' });
  });
});
