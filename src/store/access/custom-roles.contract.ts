/**
 * Custom roles' contract: rows hold what they are given (grants and condition as written), versions
 * change by compare-and-set, a concurrent first apply of a name is refused without an error, a
 * delete leaves a tombstone with the last version that a later apply brings back; live roles
 * locked in a transaction make another wait (a role deleted meanwhile is then not there); a
 * principal's roles are replaced whole.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ContractSuite } from '../store-part.ts';
import type { Store } from '../store.ts';
import type { CustomRoleRecord } from './port.ts';

const NOW = '2026-01-02T03:04:05.000Z';
const LATER = '2026-01-02T04:00:00.000Z';

export const customRolesContract: ContractSuite = (current) => {
  describe('custom roles', () => {
    let store: Store;
    beforeEach(() => {
      ({ store } = current());
    });
    const role = (version: number, over: Partial<CustomRoleRecord> = {}): CustomRoleRecord => ({
      name: 'checkout-runner',
      version,
      description: 'the checkout team runs its own experiments',
      grants: ['experiments:run', 'experiments:read'],
      condition: 'resource.labels.team in principal.groups',
      createdAt: NOW,
      createdBy: 'alice',
      updatedAt: NOW,
      updatedBy: 'alice',
      ...over,
    });

    it('stores a role, replaces it by version only, deletes it to a tombstone that a later apply revives', async () => {
      expect(await store.customRoles.put(role(1), 0)).toBe(true);
      // A concurrent first apply of the name: nothing written, no error (the use case answers 409).
      expect(await store.customRoles.put(role(1, { description: 'other' }), 0)).toBe(false);
      expect(await store.customRoles.get('checkout-runner')).toEqual(role(1));
      const v2 = role(2, { grants: ['experiments:*'], condition: null, updatedAt: LATER, updatedBy: 'bob' });
      expect(await store.customRoles.put(v2, 1)).toBe(true);
      expect(await store.customRoles.put(role(3), 1)).toBe(false);
      expect(await store.customRoles.put(role(1, { name: 'b-role', condition: null }), 0)).toBe(true);
      expect(await store.customRoles.list()).toEqual([role(1, { name: 'b-role', condition: null }), v2]);
      expect((await store.customRoles.getMany(['checkout-runner', 'nope'])).map((r) => r.name)).toEqual(['checkout-runner']);
      expect(await store.customRoles.getMany([])).toEqual([]);

      expect(await store.customRoles.delete('checkout-runner', 1, LATER)).toBe(false);
      expect(await store.customRoles.delete('checkout-runner', 2, LATER)).toBe(true);
      expect(await store.customRoles.delete('checkout-runner', 2, LATER)).toBe(false);
      expect(await store.customRoles.get('checkout-runner')).toBeUndefined();
      expect(await store.customRoles.getMany(['checkout-runner'])).toEqual([]);
      expect((await store.customRoles.list()).map((r) => r.name)).toEqual(['b-role']);
      // The tombstone keeps the last version: the name applied again goes on from it.
      expect(await store.customRoles.lastVersion('checkout-runner')).toBe(2);
      expect(await store.customRoles.lastVersion('never')).toBe(0);
      expect(await store.customRoles.put(role(1), 0)).toBe(false);
      expect(await store.customRoles.put(role(3), 2)).toBe(true);
      expect(await store.customRoles.get('checkout-runner')).toEqual(role(3));
    });

    it('locks live roles for the transaction: a role deleted meanwhile is not handed out', async () => {
      const { fx } = current();
      expect(await store.customRoles.put(role(1), 0)).toBe(true);
      expect(await store.customRoles.put(role(1, { name: 'b-role', condition: null }), 0)).toBe(true);
      expect((await store.customRoles.lock(['checkout-runner', 'b-role', 'nope', 'b-role'])).map((r) => r.name)).toEqual([
        'b-role',
        'checkout-runner',
      ]);
      expect(await store.customRoles.lock([])).toEqual([]);
      // Another process (PostgreSQL: a second pool; SQLite: the same store, whose transactions queue).
      const other = fx.reopen ? await fx.reopen() : store;
      try {
        const order: string[] = [];
        let second: Promise<string[]> | undefined;
        await store.transaction(async (tx) => {
          expect((await tx.customRoles.lock(['checkout-runner'])).map((r) => r.name)).toEqual(['checkout-runner']);
          // A second transaction wants the role while this one deletes it: it must wait, then find it gone.
          second = other.transaction(async (tx2) => {
            const seen = (await tx2.customRoles.lock(['checkout-runner'])).map((r) => r.name);
            order.push('second locked');
            return seen;
          });
          for (let i = 0; i < 5; i++) await tx.customRoles.lastVersion('checkout-runner');
          expect(await tx.customRoles.delete('checkout-runner', 1, LATER)).toBe(true);
          order.push('deleted');
        });
        expect(await second).toEqual([]);
        expect(order).toEqual(['deleted', 'second locked']);
        // Deleted, it is locked by nobody: the tombstone is not a live role.
        expect(await store.customRoles.lock(['checkout-runner'])).toEqual([]);
      } finally {
        if (other !== store) await other.close();
      }
    });

    it("replaces a principal's roles whole", async () => {
      await store.principals.insert({
        id: 'person:carol',
        kind: 'person',
        name: 'carol',
        groups: ['checkout'],
        roles: ['viewer'],
        createdAt: NOW,
        createdBy: 'alice',
        disabledAt: null,
      });
      expect(await store.principals.setRoles('person:carol', ['viewer', 'checkout-runner'])).toBe(true);
      expect((await store.principals.get('person:carol'))?.roles).toEqual(['viewer', 'checkout-runner']);
      expect(await store.principals.setRoles('person:nobody', ['viewer'])).toBe(false);
    });
  });
};
