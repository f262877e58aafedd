/**
 * WebAuthn's contract: a credential id registered once (to anyone); the sign counter moved only
 * from the value read (two answers at once: one wins); a suspended key neither moves nor counts
 * as active; a challenge taken once, never after its expiry, never as another kind or purpose.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ContractSuite } from '../store-part.ts';
import type { Store } from '../store.ts';

const NOW = '2026-01-02T03:04:05.000Z';
const LATER = '2026-01-02T03:09:05.000Z';

export const webauthnContract: ContractSuite = (current) => {
  describe('webauthn keys and challenges', () => {
    let store: Store;
    beforeEach(() => {
      ({ store } = current());
    });
    const key = (id: string, principalId = 'person:ada') => ({
      id,
      principalId,
      name: 'blue key',
      publicKey: 'pQECAyYgASFYIA',
      counter: 0,
      transports: ['usb', 'nfc'],
      aaguid: '00000000-0000-0000-0000-000000000000',
      createdAt: NOW,
      lastUsedAt: null,
      suspendedAt: null,
    });

    it('registers a credential id once, lists per person, moves the counter by compare-and-set, suspends and removes', async () => {
      expect(await store.webauthn.insert(key('k1'))).toBe(true);
      expect(await store.webauthn.insert(key('k1', 'person:bob'))).toBe(false);
      expect(await store.webauthn.insert(key('k2'))).toBe(true);
      expect(await store.webauthn.get('k1')).toEqual(key('k1'));
      expect((await store.webauthn.list('person:ada')).map((k) => k.id)).toEqual(['k1', 'k2']);
      expect(await store.webauthn.list('person:bob')).toEqual([]);
      expect(await store.webauthn.hasActive('person:ada')).toBe(true);

      expect(await store.webauthn.advance('k1', 0, 7, LATER)).toBe(true);
      expect(await store.webauthn.advance('k1', 0, 8, LATER)).toBe(false);
      expect(await store.webauthn.get('k1')).toMatchObject({ counter: 7, lastUsedAt: LATER });

      expect(await store.webauthn.suspend('k1', LATER)).toBe(true);
      expect(await store.webauthn.suspend('k1', LATER)).toBe(false);
      expect(await store.webauthn.advance('k1', 7, 9, LATER)).toBe(false);
      expect(await store.webauthn.remove('person:bob', 'k2')).toBe(false);
      expect(await store.webauthn.remove('person:ada', 'k2')).toBe(true);
      expect(await store.webauthn.hasActive('person:ada')).toBe(false);
      expect(await store.webauthn.removeAll('person:ada')).toBe(1);
      expect(await store.webauthn.get('k1')).toBeUndefined();
    });

    it('takes a challenge once, of its kind and purpose, before its expiry', async () => {
      const c = (id: string, expiresAt = LATER) => ({
        id,
        kind: 'webauthn' as const,
        principalId: 'person:ada',
        purpose: 'step-up',
        data: '{}',
        createdAt: NOW,
        expiresAt,
      });
      await store.accessChallenges.insert(c('c1'));
      await store.accessChallenges.insert(c('c2', NOW));
      await expect(store.accessChallenges.insert(c('c1'))).rejects.toThrow();
      expect(await store.accessChallenges.take('c1', 'oidc', 'step-up', NOW)).toBeUndefined();
      expect(await store.accessChallenges.take('c1', 'webauthn', 'sign-in', NOW)).toBeUndefined();
      expect(await store.accessChallenges.peek('c1', 'webauthn', 'sign-in', NOW)).toBeUndefined();
      expect(await store.accessChallenges.peek('c1', 'webauthn', 'step-up', NOW)).toEqual(c('c1'));
      expect(await store.accessChallenges.take('c1', 'webauthn', 'step-up', NOW)).toEqual(c('c1'));
      expect(await store.accessChallenges.take('c1', 'webauthn', 'step-up', NOW)).toBeUndefined();
      // Expired: never taken, and pruned.
      expect(await store.accessChallenges.take('c2', 'webauthn', 'step-up', NOW)).toBeUndefined();
      expect(await store.accessChallenges.prune(LATER)).toBe(1);
    });

    it('counts the live challenges of a kind and purpose', async () => {
      const c = (id: string, purpose: string, expiresAt = LATER) => ({
        id,
        kind: 'oidc' as const,
        principalId: null,
        purpose,
        data: '{}',
        createdAt: NOW,
        expiresAt,
      });
      await store.accessChallenges.insert({ ...c('a', 'sign-in'), principalId: 'person:ada' });
      await store.accessChallenges.insert(c('b', 'sign-in'));
      await store.accessChallenges.insert(c('c', 'sign-in', NOW));
      await store.accessChallenges.insert(c('d', 'second-factor'));
      expect(await store.accessChallenges.countLive('oidc', 'sign-in', NOW)).toBe(2);
      expect(await store.accessChallenges.countLive('webauthn', 'sign-in', NOW)).toBe(0);
      expect(await store.accessChallenges.countLive('oidc', 'sign-in', NOW, 'person:ada')).toBe(1);
      expect(await store.accessChallenges.countLive('oidc', 'sign-in', NOW, 'person:bob')).toBe(0);
    });

    it('links a person to one account at the OIDC provider, and an account to one person', async () => {
      const l = (principalId: string, subject: string) => ({ principalId, issuer: 'https://idp.example', subject, createdAt: NOW });
      expect(await store.oidcLinks.insert(l('person:ada', 's1'))).toBe(true);
      expect(await store.oidcLinks.insert(l('person:ada', 's2'))).toBe(false);
      expect(await store.oidcLinks.insert(l('person:bob', 's1'))).toBe(false);
      expect(await store.oidcLinks.ofPrincipal('person:ada')).toEqual(l('person:ada', 's1'));
      expect(await store.oidcLinks.ofAccount('https://idp.example', 's1')).toEqual(l('person:ada', 's1'));
      expect(await store.oidcLinks.ofAccount('https://other.example', 's1')).toBeUndefined();
      expect(await store.oidcLinks.ofPrincipal('person:bob')).toBeUndefined();
    });
  });
};
