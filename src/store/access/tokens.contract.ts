/** Access's contract: tokens stored by hash, revoked once. */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ContractSuite } from '../store-part.ts';
import type { Store } from '../store.ts';

const NOW = '2026-01-02T03:04:05.000Z';

export const tokensContract: ContractSuite = (current) => {
  describe('tokens', () => {
    let store: Store;
    beforeEach(() => {
      ({ store } = current());
    });

    it('stores tokens by hash and revokes them once', async () => {
      const t = {
        id: 'tok1',
        name: 'ci',
        hash: Buffer.alloc(32, 1),
        principalId: 'svc:ci',
        principalKind: 'service' as const,
        scopes: ['ledger:read'],
        createdAt: NOW,
        createdBy: 'test',
        expiresAt: null,
        revokedAt: null,
      };
      await store.tokens.insert(t);
      expect(await store.tokens.get('tok1')).toEqual(t);
      expect(await store.tokens.get('nope')).toBeUndefined();
      await expect(store.tokens.insert(t)).rejects.toThrow();
      expect(await store.tokens.revoke('tok1', NOW)).toBe(true);
      expect(await store.tokens.revoke('tok1', NOW)).toBe(false);
      expect((await store.tokens.list())[0]?.revokedAt).toBe(NOW);
    });
  });
};
