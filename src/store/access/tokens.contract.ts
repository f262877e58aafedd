/** Access's contract: tokens and sessions stored by hash, revoked once; sessions touched forward only, pruned when over. */
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

  describe('sessions', () => {
    let store: Store;
    beforeEach(() => {
      ({ store } = current());
    });
    const session = (id: string, over: Partial<{ expiresAt: string; lastSeenAt: string }> = {}) => ({
      id,
      hash: Buffer.alloc(32, 2),
      tokenId: 'tok1',
      createdAt: NOW,
      lastSeenAt: over.lastSeenAt ?? NOW,
      expiresAt: over.expiresAt ?? '2026-01-02T15:04:05.000Z',
      revokedAt: null,
    });

    it('stores sessions by hash, touches them forward only, revokes them once', async () => {
      const s = session('s1');
      await store.sessions.insert(s);
      expect(await store.sessions.get('s1')).toEqual(s);
      expect(await store.sessions.get('nope')).toBeUndefined();
      await expect(store.sessions.insert(s)).rejects.toThrow();
      expect(await store.sessions.touch('s1', '2026-01-02T03:10:00.000Z')).toBe(true);
      expect(await store.sessions.touch('s1', '2026-01-02T03:05:00.000Z')).toBe(false);
      expect((await store.sessions.get('s1'))?.lastSeenAt).toBe('2026-01-02T03:10:00.000Z');
      expect(await store.sessions.revoke('s1', '2026-01-02T03:11:00.000Z')).toBe(true);
      expect(await store.sessions.revoke('s1', '2026-01-02T03:12:00.000Z')).toBe(false);
      expect(await store.sessions.touch('s1', '2026-01-02T03:20:00.000Z')).toBe(false);
    });

    it('prunes sessions that ended before a time, and keeps the others', async () => {
      await store.sessions.insert(session('old', { expiresAt: '2026-01-01T00:00:00.000Z' }));
      await store.sessions.insert(session('live'));
      await store.sessions.insert(session('out'));
      await store.sessions.revoke('out', '2026-01-01T12:00:00.000Z');
      expect(await store.sessions.prune('2026-01-02T00:00:00.000Z')).toBe(2);
      expect(await store.sessions.get('live')).toBeDefined();
      expect(await store.sessions.get('old')).toBeUndefined();
    });
  });

  describe('principals', () => {
    let store: Store;
    beforeEach(() => {
      ({ store } = current());
    });

    it('stores principals with groups and roles, disables them once, and finds their live tokens', async () => {
      const alice = {
        id: 'person:alice',
        kind: 'person' as const,
        name: 'alice',
        groups: ['sre', 'oncall'],
        roles: ['operator'],
        createdAt: NOW,
        createdBy: 'cli:root',
        disabledAt: null,
      };
      await store.principals.insert(alice);
      await expect(store.principals.insert(alice)).rejects.toThrow();
      expect(await store.principals.get('person:alice')).toEqual(alice);
      expect(await store.principals.get('person:bob')).toBeUndefined();
      const token = (id: string) => ({
        id,
        name: 'alice',
        hash: Buffer.alloc(32, id.charCodeAt(0)),
        principalId: 'person:alice',
        principalKind: 'person' as const,
        scopes: ['*'],
        createdAt: NOW,
        createdBy: 'test',
        expiresAt: null,
        revokedAt: null,
      });
      await store.tokens.insert(token('a1'));
      await store.tokens.insert(token('b2'));
      await store.tokens.revoke('b2', NOW);
      expect(await store.principals.liveTokens('person:alice')).toEqual(['a1']);
      expect(await store.principals.disable('person:alice', NOW)).toBe(true);
      expect(await store.principals.disable('person:alice', NOW)).toBe(false);
      expect((await store.principals.list()).map((p) => [p.id, p.disabledAt])).toEqual([['person:alice', NOW]]);
    });
  });
};
