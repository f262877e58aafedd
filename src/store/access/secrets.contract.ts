/**
 * Sealed secrets' contract: rows hold what they are given (the sealing is above the store),
 * versions change by compare-and-set, lists never carry the sealed value, a delete leaves a
 * tombstone with the last version, a second insert of a name is refused without an error; second factors' stored
 * secrets are replaced only when unchanged (sealing in place, key rotation).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ContractSuite } from '../store-part.ts';
import type { Store } from '../store.ts';

const NOW = '2026-01-02T03:04:05.000Z';

export const secretsContract: ContractSuite = (current) => {
  describe('sealed secrets', () => {
    let store: Store;
    beforeEach(() => {
      ({ store } = current());
    });
    const record = (version: number, sealed: string) => ({
      name: 'shop.token',
      version,
      keyId: '0123456789abcdef',
      sealed,
      createdAt: NOW,
      createdBy: 'alice',
      updatedAt: NOW,
      updatedBy: 'alice',
    });

    it('stores a sealed value, replaces it by version only, lists without values, deletes once', async () => {
      expect(await store.secrets.lockForSealing()).toBeUndefined();
      expect(await store.secrets.insert(record(1, 'bws1.a'))).toBe(true);
      // A concurrent first set of the name: no row written, no error (the use case answers 409).
      expect(await store.secrets.insert(record(1, 'bws1.b'))).toBe(false);
      expect(await store.secrets.get('shop.token')).toEqual(record(1, 'bws1.a'));
      expect(await store.secrets.update(record(2, 'bws1.c'), 1)).toBe(true);
      expect(await store.secrets.update(record(3, 'bws1.d'), 1)).toBe(false);
      expect(await store.secrets.reseal('shop.token', 1, 'fedcba9876543210', 'bws1.e')).toBe(false);
      expect(await store.secrets.reseal('shop.token', 2, 'fedcba9876543210', 'bws1.e')).toBe(true);
      const listed = await store.secrets.list();
      expect(listed).toEqual([{ ...record(2, ''), keyId: 'fedcba9876543210', sealed: undefined }].map(({ sealed: _s, ...m }) => m));
      expect(JSON.stringify(listed)).not.toContain('bws1');
      expect(await store.secrets.delete('shop.token')).toBe(true);
      expect(await store.secrets.delete('shop.token')).toBe(false);
      expect(await store.secrets.get('shop.token')).toBeUndefined();
      expect(await store.secrets.list()).toEqual([]);
      // The tombstone keeps the last version, so that the name set again goes on from it.
      expect(await store.secrets.lastVersion('shop.token')).toBe(2);
      expect(await store.secrets.lastVersion('never.set')).toBe(0);
      expect(await store.secrets.reseal('shop.token', 2, 'fedcba9876543210', 'bws1.f')).toBe(false);
      expect(await store.secrets.insert(record(1, 'bws1.g'))).toBe(false);
      expect(await store.secrets.update(record(3, 'bws1.g'), 2)).toBe(true);
      expect(await store.secrets.get('shop.token')).toEqual(record(3, 'bws1.g'));
    });

    it("replaces a second factor's stored secret only while it is unchanged", async () => {
      await store.secondFactors.begin({
        principalId: 'person:alice',
        kind: 'totp',
        secret: 'PLAIN',
        createdAt: NOW,
        confirmedAt: null,
        lastStep: null,
      });
      expect(await store.secondFactors.storedSecrets()).toEqual([{ principalId: 'person:alice', secret: 'PLAIN' }]);
      expect(await store.secondFactors.replaceSecret('person:alice', 'OTHER', 'bws1.x')).toBe(false);
      expect(await store.secondFactors.replaceSecret('person:alice', 'PLAIN', 'bws1.x')).toBe(true);
      expect((await store.secondFactors.get('person:alice'))?.secret).toBe('bws1.x');
    });
  });
};
