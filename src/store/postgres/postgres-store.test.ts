import { describe } from 'vitest';
import { partContracts, storeContract } from '../store.contract.ts';
import { openPostgresStore } from './open-postgres.ts';
import { createTestDatabase, pgAvailable, skipReasonPg } from '../../../test/support/postgres.ts';

// The common contract and every capability's (its store part's `contract`, from the registry).
const suites = await partContracts();

describe.skipIf(!pgAvailable())(`postgres (${pgAvailable() ? 'real server' : skipReasonPg})`, () => {
  storeContract(
    'postgres',
    async () => {
      const dbs = [await createTestDatabase({ migrated: true })];
      const store = await openPostgresStore(dbs[0]!.url);
      const opened = [store];
      return {
        store,
        reopen: async () => openPostgresStore(dbs[0]!.url),
        fresh: async () => {
          const d = await createTestDatabase({ migrated: true });
          dbs.push(d);
          const s = await openPostgresStore(d.url);
          opened.push(s);
          return s;
        },
        cleanup: async () => {
          for (const s of opened) await s.close();
          for (const d of dbs) await d.drop();
        },
      };
    },
    suites,
  );
});
