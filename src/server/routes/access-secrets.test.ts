/**
 * Sealed secrets over HTTP on a real SQLite file: set (sealed at once; the answer, the list, the
 * ledger and the log never hold the value), step-up for a person with a second factor, resolve
 * for the runner, a sealed value moved to another row refused, key rotation re-sealing secrets
 * and TOTP secrets and retiring the old key, TOTP secrets stored plain before sealing sealed in
 * place. At the end the database files, the ledger and the log are scanned for a planted marker
 * value and every TOTP seed handed out: none may appear.
 */
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';
import { resolveSecret, sealStoredValues } from '../../app/access/secrets.ts';
import { isSealed } from '../../core/access/sealed.ts';
import { openRollbacks, rollbacksOpenable } from '../../app/access/sealed-rollbacks.ts';
import { systemActor } from '../../core/ledger/actor.ts';

const MARKER = 'MARKER-7f3c9e1a-do-not-store-plain';
let t: TestApp;
const clock = new ManualClock(Date.parse('2026-03-01T10:00:05.000Z'));
const seeds: string[] = [];
beforeAll(async () => {
  t = await makeTestApp({ clock });
});
afterAll(async () => {
  await t?.close();
});

const admin = () => bearer(t.adminToken);
const code = (secret: string) => generateSync({ secret, epoch: Math.floor(clock.now().getTime() / 1000) });
const put = (headers: Record<string, string>, name: string, value: unknown) =>
  t.app.inject({ method: 'PUT', url: `/v1/secrets/${name}`, headers, payload: { value } });

async function enrolledPerson(name: string): Promise<{ token: string; secret: string }> {
  await t.app.inject({ method: 'POST', url: '/v1/principals', headers: admin(), payload: { kind: 'person', name, roles: ['admin'] } });
  const token = (
    await t.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: admin(),
      payload: { name, principal: `person:${name}`, scopes: ['*'] },
    })
  ).json<{ token: string }>().token;
  const { secret } = (await t.app.inject({ method: 'POST', url: '/v1/second-factor/enroll', headers: bearer(token) })).json<{
    secret: string;
  }>();
  seeds.push(secret);
  const confirmed = await t.app.inject({
    method: 'POST',
    url: '/v1/second-factor/confirm',
    headers: bearer(token),
    payload: { code: code(secret) },
  });
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  clock.advance(30_000);
  return { token, secret };
}

describe('sealed secrets', () => {
  it('sets a secret sealed, answers and lists without the value, and resolves it for the runner', async () => {
    const res = await put(admin(), 'shop.token', MARKER);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).not.toContain(MARKER);
    expect(res.json()).toMatchObject({ name: 'shop.token', version: 1 });
    expect((await put(admin(), 'shop.token', `${MARKER}-2`)).json()).toMatchObject({ version: 2 });
    const list = await t.app.inject({ url: '/v1/secrets', headers: admin() });
    expect(list.json<{ secrets: { name: string; version: number }[] }>().secrets).toMatchObject([{ name: 'shop.token', version: 2 }]);
    expect(list.body).not.toContain(MARKER);
    expect(await resolveSecret(t.deps, 'shop.token')).toBe(`${MARKER}-2`);
    expect(isSealed((await t.deps.store.secrets.get('shop.token'))!.sealed)).toBe(true);
  });

  it('refuses bad names and empty values with a message naming the fix, and changes nothing', async () => {
    const bad = await put(admin(), 'Bad%20Name', 'x');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('secret name');
    const empty = await put(admin(), 'empty', '');
    expect(empty.statusCode).toBe(400);
    expect((await t.deps.store.secrets.list()).map((s) => s.name)).toEqual(['shop.token']);
  });

  it('needs a fresh second factor from a person who has one', async () => {
    const { token, secret } = await enrolledPerson('alice');
    const refused = await put(bearer(token), 'alice.key', MARKER);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ details: { reason: 'step_up_required' } });
    const ok = await put({ ...bearer(token), 'x-bulwark-second-factor': code(secret) }, 'alice.key', MARKER);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ updatedBy: expect.stringMatching(/^token:/) });
  });

  it('refuses a sealed value moved to another row (it is bound to its name)', async () => {
    const a = (await t.deps.store.secrets.get('shop.token'))!;
    const b = (await t.deps.store.secrets.get('alice.key'))!;
    await t.deps.store.secrets.update({ ...b, sealed: a.sealed, version: b.version + 1 }, b.version);
    await expect(resolveSecret(t.deps, 'alice.key')).rejects.toThrow(/altered or belongs elsewhere/);
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/secrets/alice.key', headers: admin() })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/secrets/alice.key', headers: admin() })).statusCode).toBe(404);
  });

  it('seals TOTP secrets stored plain before sealing, once, and they keep working', async () => {
    const { token, secret } = await enrolledPerson('bob');
    // Bob's seed is written plain below on purpose (a row from before sealing): old row versions
    // stay in the database's free pages until it is vacuumed (docs/threat-model.md), so the scan
    // at the end looks for the seeds of those enrolled under sealing only.
    seeds.pop();
    const sealedRow = (await t.deps.store.secondFactors.get('person:bob'))!.secret;
    expect(isSealed(sealedRow)).toBe(true);
    expect(sealedRow).not.toContain(secret);
    // A row as it was written before sealing existed.
    await t.deps.store.secondFactors.replaceSecret('person:bob', sealedRow, secret);
    expect(await sealStoredValues(t.deps, systemActor('bulwark'))).toEqual({ secondFactors: 1, runs: 0 });
    expect(await sealStoredValues(t.deps, systemActor('bulwark'))).toEqual({ secondFactors: 0, runs: 0 });
    expect(isSealed((await t.deps.store.secondFactors.get('person:bob'))!.secret)).toBe(true);
    const ok = await put({ ...bearer(token), 'x-bulwark-second-factor': code(secret) }, 'bob.key', 'bob-value');
    expect(ok.statusCode, ok.body).toBe(200);
    clock.advance(30_000);
  });

  it('rotates the key: every secret and TOTP secret re-sealed, the old key retired from the key file', async () => {
    const before = t.deps.secretKeys!.current().id;
    const keyFile = path.join(t.dir, 'secret-keys.json');
    expect(Object.keys(JSON.parse(readFileSync(keyFile, 'utf8')).keys)).toEqual([before]);
    const res = await t.app.inject({ method: 'POST', url: '/v1/secrets/rotate-key', headers: admin() });
    expect(res.statusCode, res.body).toBe(200);
    const r = res.json<{ from: string[]; to: string; secrets: number; secondFactors: number }>();
    expect(r).toMatchObject({ from: [before], secrets: 2, secondFactors: 2 });
    expect(Object.keys(JSON.parse(readFileSync(keyFile, 'utf8')).keys)).toEqual([r.to]);
    expect((await t.deps.store.secrets.list()).every((s) => s.keyId === r.to)).toBe(true);
    expect(await resolveSecret(t.deps, 'shop.token')).toBe(`${MARKER}-2`);
    const bob = (await t.deps.store.secondFactors.get('person:bob'))!;
    expect(bob.secret).toContain(`.${r.to}.`);
    const entries = await t.app.inject({ url: '/v1/ledger/entries?kind=secret-key.rotated', headers: admin() });
    expect(entries.json<{ entries: unknown[] }>().entries).toHaveLength(1);
  });

  it('runs an experiment that names a sealed secret: the value reaches the target, not the journal', async () => {
    const seen: string[] = [];
    const target = http.createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      req.resume();
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      const port = (target.address() as AddressInfo).port;
      const file = (name: string) => `
title: A request with a sealed token
description: the token comes from a sealed secret
secrets:
  shop:
    token: { type: sealed, name: ${name} }
method:
  - type: action
    name: call
    provider: { type: http, url: 'http://127.0.0.1:${port}/', headers: { authorization: 'Bearer \${token}' }, timeout: 3 }
rollbacks:
  - type: action
    name: undo
    provider: { type: http, url: 'http://127.0.0.1:${port}/undo', headers: { authorization: 'Bearer \${token}' }, timeout: 3 }
`;
      const unset = await t.app.inject({
        method: 'POST',
        url: '/v1/experiments',
        headers: admin(),
        payload: { file: file('not.set'), name: 'unset' },
      });
      expect(unset.statusCode, unset.body).toBe(201);
      const refused = await t.app.inject({ method: 'POST', url: '/v1/experiments/unset/runs', headers: admin(), payload: {} });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().message).toContain('bulwark secrets set not.set');
      const applied = await t.app.inject({
        method: 'POST',
        url: '/v1/experiments',
        headers: admin(),
        payload: { file: file('shop.token'), name: 'sealed' },
      });
      expect(applied.statusCode, applied.body).toBe(201);
      expect(applied.body).not.toContain(MARKER);
      const started = await t.app.inject({ method: 'POST', url: '/v1/experiments/sealed/runs', headers: admin(), payload: {} });
      expect(started.statusCode, started.body).toBe(202);
      await t.experiments.idle();
      expect(seen).toEqual([`Bearer ${MARKER}-2`, `Bearer ${MARKER}-2`]);
      // The resolved rollbacks kept for recovery are sealed in the run's row, bound to the run.
      const runId = started.json<{ run: { id: string } }>().run.id;
      const row = (await t.deps.store.runs.get(runId))!;
      expect(row.rollbacks).toMatchObject({ sealed: expect.stringMatching(/^bws1\./), hostBound: false });
      expect(openRollbacks(t.deps.secretKeys, runId, row.rollbacks)).toMatchObject([{ name: 'undo' }]);
      expect(() => openRollbacks(t.deps.secretKeys, 'another-run', row.rollbacks)).toThrow(/belongs elsewhere/);
      expect(rollbacksOpenable(undefined, row.rollbacks)).toBe(false);
      // A row written before sealing: sealed in place when a server with the key starts.
      const [stored] = (await t.deps.store.runRollbackSeals.list()).filter((r) => r.runId === runId);
      // (with another value in it: old row versions stay in free pages until a vacuum, and the scan below looks for the marker)
      const plain = JSON.stringify(openRollbacks(t.deps.secretKeys, runId, row.rollbacks)).replaceAll(MARKER, 'legacy-value');
      expect(await t.deps.store.runRollbackSeals.replace(runId, stored!.rollbacks, plain)).toBe(true);
      expect(await sealStoredValues(t.deps, systemActor('bulwark'))).toEqual({ secondFactors: 0, runs: 1 });
      expect((await t.deps.store.runs.get(runId))!.rollbacks).toMatchObject({ sealed: expect.any(String) });
      const run = await t.app.inject({ url: `/v1/runs/${runId}`, headers: admin() });
      expect(run.statusCode, run.body).toBe(200);
      expect(run.body).toContain('[redacted]');
      expect(run.body).not.toContain(MARKER);
    } finally {
      await new Promise<void>((resolve) => target.close(() => resolve()));
    }
  });

  it('leaves no secret value or TOTP seed in the database files, the ledger or the log', async () => {
    const needles = [MARKER, ...seeds];
    expect(seeds.length).toBe(1);
    for (const f of readdirSync(t.dir).filter((n) => n.startsWith('bulwark.db'))) {
      const bytes = readFileSync(path.join(t.dir, f));
      for (const n of needles) expect(bytes.includes(Buffer.from(n)), `${n} in ${f}`).toBe(false);
    }
    const ledger = JSON.stringify(await t.deps.store.ledger.page({ from: 0, limit: 1000, order: 'asc' }));
    expect(ledger).toContain('secret.set');
    for (const n of needles) expect(ledger).not.toContain(n);
    const logs = t.logs.join('');
    for (const n of needles) expect(logs).not.toContain(n);
  });
});
