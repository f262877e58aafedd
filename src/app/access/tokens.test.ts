import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import type { AppDeps, Clock } from '../deps.ts';
import { authenticate, createToken, revokeToken } from './tokens.ts';
import { DomainError } from '../../core/errors.ts';
import { tokenSecret } from '../../core/access/token-format.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { cliActor, systemActor } from '../../core/ledger/actor.ts';

let dir: TmpDir;
let deps: AppDeps;
let now = new Date('2026-03-01T00:00:00.000Z');
const clock: Clock = { now: () => now };

beforeEach(async () => {
  dir = await tmpDir('bulwark-tokens-');
  now = new Date('2026-03-01T00:00:00.000Z');
  deps = { store: await openSqliteStore(path.join(dir.path, 'b.db')), clock, keys: memoryKeyRing(), origin: 'o' };
});
afterEach(async () => {
  await deps.store.close();
  await dir.cleanup();
});

describe('tokens', () => {
  it('stores only a hash and records the creation in the ledger without the secret', async () => {
    const { token, view } = await createToken(deps, cliActor('alice'), { name: 'deployer', scopes: ['ledger:write'] });
    expect(token).toMatch(/^bwk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const stored = await deps.store.tokens.get(view.id);
    expect(stored?.hash).toHaveLength(32);
    expect(JSON.stringify(stored)).not.toContain(tokenSecret(token)!);
    const [entry] = await deps.store.ledger.page({ kind: 'token.created', limit: 1, order: 'asc' });
    expect(entry).toMatchObject({ actor: JSON.stringify({ how: 'cli', id: 'alice', kind: 'person' }), subject: `token:${view.id}` });
    expect(stored?.createdBy).toBe('cli:alice');
    expect(entry!.dataJson).not.toContain(tokenSecret(token)!);
    expect(JSON.parse(entry!.dataJson)).toMatchObject({ scopes: ['ledger:write'], name: 'deployer' });
  });

  it('gives read-only scopes when none are asked for', async () => {
    const { view } = await createToken(deps, systemActor('x'), { name: 'viewer' });
    expect(view.scopes).toEqual(['session:read', 'ledger:read', 'api:read']);
  });

  it('refuses unknown scopes and past expiry, writing nothing', async () => {
    await expect(createToken(deps, systemActor('x'), { name: 'bad', scopes: ['ledger:obliterate'] })).rejects.toThrow(
      /unknown scope "ledger:obliterate"/,
    );
    await expect(createToken(deps, systemActor('x'), { name: 'old', expiresAt: '2020-01-01T00:00:00Z' })).rejects.toThrow(/future/);
    expect(await deps.store.tokens.list()).toEqual([]);
    expect((await deps.store.ledger.head()).size).toBe(0);
  });

  it('authenticates until revoked or expired', async () => {
    const a = await createToken(deps, systemActor('x'), { name: 'a', admin: true, expiresAt: '2026-03-02T00:00:00.000Z' });
    expect((await authenticate(deps, a.token)).ok).toBe(true);
    now = new Date('2026-03-03T00:00:00.000Z');
    expect(await authenticate(deps, a.token)).toEqual({ ok: false, reason: 'the token has expired' });
    const b = await createToken(deps, systemActor('x'), { name: 'b' });
    await revokeToken(deps, systemActor('x'), b.view.id);
    expect(await authenticate(deps, b.token)).toEqual({ ok: false, reason: 'the token was revoked' });
    await expect(revokeToken(deps, systemActor('x'), b.view.id)).rejects.toThrow(/already revoked/);
    const kinds = (await deps.store.ledger.page({ limit: 10, order: 'asc' })).map((e) => e.kind);
    expect(kinds).toEqual(['token.created', 'token.created', 'token.revoked']);
  });

  it('rejects any malformed or forged token without throwing', async () => {
    const real = await createToken(deps, systemActor('x'), { name: 'r' });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `bwk_${real.view.id}_${s}`),
          fc.constant(real.token.slice(0, -1) + 'A'),
        ),
        async (candidate) => {
          fc.pre(candidate !== real.token);
          const r = await authenticate(deps, candidate);
          expect(r.ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('validates names', async () => {
    for (const name of ['evil\nname', '', 'x'.repeat(101)]) {
      const err = await createToken(deps, systemActor('x'), { name }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).message).toMatch(/^invalid token: name: /);
    }
  });
});
