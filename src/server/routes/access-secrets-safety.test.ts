/**
 * Sealed secrets under replicas, restores and races, on a real SQLite file: a server refuses to
 * start when its key file lacks a key the database names (and never makes one then); a secret set
 * or a TOTP enrollment begun while another replica rotates the key is sealed under the new key;
 * versions go on after a delete and are bound into the sealing; a first set that loses to a
 * concurrent one is a 409.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { tmpDir } from '../../../test/support/tmp.ts';
import type { AppDeps } from '../../app/deps.ts';
import type { Principal } from '../../core/access/permissions.ts';
import { referencedKeyIds, resolveSecret, rotateSecretKey, setSecret } from '../../app/access/secrets.ts';
import { beginEnrollment } from '../../app/access/second-factor.ts';
import { seal } from '../../app/access/sealer.ts';
import { sealContext } from '../../core/access/sealed.ts';
import { systemActor } from '../../core/ledger/actor.ts';
import { createServer } from '../create-server.ts';
import { createLogger } from '../logging.ts';
import type { Store } from '../../store/store.ts';

let t: TestApp;
let other: { path: string; cleanup(): Promise<void> };
beforeAll(async () => {
  t = await makeTestApp();
  other = await tmpDir('bulwark-replica-');
});
afterAll(async () => {
  await t?.close();
  await other?.cleanup();
});

const admin = () => bearer(t.adminToken);
const put = (name: string, value: string) =>
  t.app.inject({ method: 'PUT', url: `/v1/secrets/${name}`, headers: admin(), payload: { value } });
const actor = systemActor('test');

/** A second server on the same database, as a replica or a restore would start. */
const startReplica = (keyFile: string) =>
  createServer({
    deps: { ...t.deps, secretKeys: undefined },
    logger: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }), 'json'),
    webDir: path.join(other.path, 'no-web'),
    secrets: { keyFile },
    experiments: { stateDir: other.path },
  });

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
  it('refuses to start a replica whose key file lacks the keys the database names, and makes no key then', async () => {
    expect((await put('shop.token', 'v1')).statusCode).toBe(200);
    const named = await referencedKeyIds(t.deps.store);
    expect(named).toEqual([t.deps.secretKeys!.current().id]);
    const missingFile = path.join(other.path, 'secret-keys.json');
    await expect(startReplica(missingFile)).rejects.toThrow(new RegExp(`${named[0]}.*${missingFile}.* does not exist`));
    expect(() => readFileSync(missingFile)).toThrow(/ENOENT/);
    // Another key file (a replica that made its own): refused, naming the key and the file.
    const { fileSecretKeys } = await import('../../store/access/secret-key-file.ts');
    const own = path.join(other.path, 'own-keys.json');
    fileSecretKeys(own);
    await expect(startReplica(own)).rejects.toThrow(new RegExp(`${named[0]}.*${own} lacks them`));
    // The shared key file: starts.
    const ok = await startReplica(path.join(t.dir, 'secret-keys.json'));
    await ok.app.close();
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

  it('keeps an old key that something sealed under it meanwhile still names, and retires it at the next rotation', async () => {
    const keys = t.deps.secretKeys!;
    const old = keys.current();
    // A TOTP enrollment sealed under the old key lands after the rotation's transaction commits
    // (a writer outside the sealing lock), before the old keys are retired.
    const late: AppDeps = {
      ...t.deps,
      store: new Proxy(t.deps.store, {
        get(target, p, receiver) {
          if (p !== 'transaction') return Reflect.get(target, p, receiver) as unknown;
          return async (fn: Parameters<Store['transaction']>[0]) => {
            const out = await target.transaction(fn);
            await target.secondFactors.begin({
              principalId: 'person:dave',
              kind: 'totp',
              secret: seal({ ...keys, current: () => old }, 'JBSWY3DPEHPK3PXP', sealContext.totp('person:dave')),
              createdAt: '2026-03-01T10:00:00.000Z',
              confirmedAt: null,
              lastStep: null,
            });
            return out;
          };
        },
      }),
    };
    const first = await rotateSecretKey(late, actor);
    expect(first.from).toContain(old.id);
    expect(keys.get(old.id)).toBeDefined();
    expect(Object.keys(JSON.parse(readFileSync(path.join(t.dir, 'secret-keys.json'), 'utf8')).keys)).toContain(old.id);
    const second = await rotateSecretKey(t.deps, actor);
    expect(keys.ids()).toEqual([second.to]);
    expect(await referencedKeyIds(t.deps.store)).toEqual([second.to]);
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
