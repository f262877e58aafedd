import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { switchToWal } from './open-sqlite.ts';

function sqliteError(code: string): Error {
  return Object.assign(new Error(code === 'SQLITE_BUSY' ? 'database is locked' : code), { code });
}

describe('switching a fresh SQLite file to WAL', () => {
  let dir: TmpDir | undefined;
  afterEach(() => dir?.cleanup());

  it('puts a real file in WAL mode', async () => {
    dir = await tmpDir();
    const handle = new Database(path.join(dir.path, 'x.db'));
    try {
      await switchToWal(handle, path.join(dir.path, 'x.db'));
      expect(handle.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      handle.close();
    }
  });

  // SQLite answers BUSY at once, without its busy handler, when another process opening the same
  // fresh file could otherwise deadlock with this one; the switch must try again, not fail.
  it('tries again while another process answers busy, and throws anything else at once', async () => {
    let calls = 0;
    const flaky = {
      pragma: () => {
        calls++;
        if (calls < 3) throw sqliteError('SQLITE_BUSY');
        return 'wal';
      },
    } as unknown as Pick<Database.Database, 'pragma'>;
    await switchToWal(flaky, 'shared.db');
    expect(calls).toBe(3);

    calls = 0;
    const broken = {
      pragma: () => {
        calls++;
        throw sqliteError('SQLITE_IOERR');
      },
    } as unknown as Pick<Database.Database, 'pragma'>;
    await expect(switchToWal(broken, 'shared.db')).rejects.toMatchObject({ code: 'SQLITE_IOERR' });
    expect(calls).toBe(1);
  });

  it('refuses a file that stays out of WAL, saying why', async () => {
    const stuck = { pragma: () => 'delete' } as unknown as Pick<Database.Database, 'pragma'>;
    await expect(switchToWal(stuck, 'nfs.db')).rejects.toThrow(/could not put nfs.db in WAL mode/);
  });
});
