import path from 'node:path';
import { partContracts, storeContract } from '../store.contract.ts';
import { openSqliteStore } from './open-sqlite.ts';
import { tmpDir } from '../../../test/support/tmp.ts';

// The common contract and every capability's (its store part's `contract`, from the registry).
const suites = await partContracts();

storeContract(
  'sqlite',
  async () => {
    const dir = await tmpDir('bulwark-sqlite-');
    const file = path.join(dir.path, 'bulwark.db');
    const store = await openSqliteStore(file);
    const opened = [store];
    let n = 0;
    return {
      store,
      fresh: async () => {
        const s = await openSqliteStore(path.join(dir.path, `fresh-${n++}.db`));
        opened.push(s);
        return s;
      },
      cleanup: async () => {
        for (const s of opened) await s.close();
        await dir.cleanup();
      },
    };
  },
  suites,
);
