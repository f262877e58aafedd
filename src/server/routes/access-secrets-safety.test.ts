/**
 * Sealed secrets under replicas and races, on a real SQLite file: a secret set or a TOTP
 * enrollment begun while another replica rotates the key is sealed under the new key;
 * versions go on after a delete and are bound into the sealing; a first set that loses to a
 * concurrent one is a 409.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import type { AppDeps } from '../../app/deps.ts';
import type { Principal } from '../../core/access/permissions.ts';
import { referencedKeyIds, resolveSecret, rotateSecretKey, setSecret } from '../../app/access/secrets.ts';
import { beginEnrollment } from '../../app/access/second-factor.ts';
import { systemActor } from '../../core/ledger/actor.ts';
import type { Store } from '../../store/store.ts';

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(async () => {
  await t?.close();
});

const admin = () => bearer(t.adminToken);
const put = (name: string, value: string) =>
  t.app.inject({ method: 'PUT', url: `/v1/secrets/${name}`, headers: admin(), payload: { value } });
const actor = systemActor('test');

/** The deps with every transaction (and a second factor's begin) held until `gate` opens: a replica waiting on the database. */
function held(deps: AppDeps, gate: Promise<void>): AppDeps {
  const store = new Proxy(deps.store, {
    get(target, p, receiver) {
      if (p === 'transaction')
        return async (fn: Parameters<Store['transaction']>[0]) => {
          await gate;
          return target.transaction(fn);
        };
      if (p === 'secondFactors') {
        const repo = target.secondFactors;
        return new Proxy(repo, {
          get: (r, q) =>
            q === 'begin'
              ? async (...a: Parameters<typeof repo.begin>) => {
                  await gate;
                  return r.begin(...a);
                }
              : (Reflect.get(r, q) as unknown),
        });
      }
      return Reflect.get(target, p, receiver) as unknown;
    },
  });
  return { ...deps, store };
}

describe('sealed secrets: replicas, restores and races', () => {
  beforeAll(async () => {
    expect((await put('shop.token', 'v1')).statusCode).toBe(200);
  });

  it('seals a secret set, and a TOTP enrollment begun, during a rotation by another replica under the new key', async () => {
    const person = await t.app.inject({
      method: 'POST',
      url: '/v1/principals',
      headers: admin(),
      payload: { kind: 'person', name: 'carol', roles: ['admin'] },
    });
    expect(person.statusCode, person.body).toBe(201);
    const carol: Principal = { id: 'person:carol', name: 'carol', kind: 'person', tokenId: 't', tokenName: 'carol', scopes: ['*'] };
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const slow = held(t.deps, gate);
    const setting = setSecret(slow, actor, 'late.token', 'late-value');
    const enrolling = beginEnrollment(slow, carol);
    const rotated = await rotateSecretKey(t.deps, actor);
    open();
    await setting;
    await enrolling;
    expect(await resolveSecret(t.deps, 'late.token')).toBe('late-value');
    expect((await t.deps.store.secrets.get('late.token'))!.keyId).toBe(rotated.to);
    expect((await t.deps.store.secondFactors.get('person:carol'))!.secret).toContain(`.${rotated.to}.`);
    expect(await referencedKeyIds(t.deps.store)).toEqual([rotated.to]);
  });

  it('goes on counting versions after a delete, and refuses an older ciphertext put back in the row', async () => {
    expect((await put('shop.token', 'v2')).json()).toMatchObject({ version: 2 });
    const v2 = (await t.deps.store.secrets.get('shop.token'))!;
    expect((await put('shop.token', 'v3')).json()).toMatchObject({ version: 3 });
    const v3 = (await t.deps.store.secrets.get('shop.token'))!;
    // A database-level swap: version 3's row given version 2's ciphertext.
    await t.deps.store.secrets.reseal('shop.token', 3, v2.keyId, v2.sealed);
    await expect(resolveSecret(t.deps, 'shop.token')).rejects.toThrow(/altered or belongs elsewhere/);
    await t.deps.store.secrets.reseal('shop.token', 3, v3.keyId, v3.sealed);
    expect(await resolveSecret(t.deps, 'shop.token')).toBe('v3');
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/secrets/shop.token', headers: admin() })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/v1/secrets', headers: admin() })).body).not.toContain('shop.token');
    await expect(resolveSecret(t.deps, 'shop.token')).rejects.toThrow(/no sealed secret/);
    expect((await put('shop.token', 'again')).json()).toMatchObject({ version: 4 });
    expect(await resolveSecret(t.deps, 'shop.token')).toBe('again');
  });

  it('answers 409, not 500, when a concurrent first set of the name won', async () => {
    // This set reads the name as never set; the other's row lands before its insert.
    const racing: AppDeps = {
      ...t.deps,
      store: new Proxy(t.deps.store, {
        get(target, p, receiver) {
          if (p !== 'transaction') return Reflect.get(target, p, receiver) as unknown;
          return (fn: Parameters<Store['transaction']>[0]) =>
            target.transaction(async (tx) => {
              const secrets = new Proxy(tx.secrets, {
                get: (r, q) =>
                  q === 'get'
                    ? async () => undefined
                    : q === 'lastVersion'
                      ? async () => 0
                      : (Reflect.get(r, q) as unknown as (...a: unknown[]) => unknown).bind(r),
              });
              return fn(Object.assign(Object.create(tx) as typeof tx, { secrets }));
            });
        },
      }),
    };
    expect((await put('first.token', 'winner')).statusCode).toBe(200);
    await expect(setSecret(racing, actor, 'first.token', 'loser')).rejects.toMatchObject({ code: 'conflict' });
    expect(await resolveSecret(t.deps, 'first.token')).toBe('winner');
  });
});
