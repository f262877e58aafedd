/**
 * A ledger written before actors were structured keeps verifying: the fixture
 * (test/fixtures/ledger-plain-actors.db) was written by the code of that time (actors as plain
 * strings: `system`, `cli:alice`, `token:ID`), with a signed checkpoint. Read with today's code it
 * verifies, shows its plain actors as they are, takes new entries with structured actors, and the
 * whole, old and new, verifies again through `bulwark ledger verify`.
 */
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/app/deps.ts';
import { addNote } from '../../src/app/ledger/notes.ts';
import { makeCheckpoint } from '../../src/app/ledger/checkpoints.ts';
import { memoryKeyRing } from '../../src/app/ledger/key-ring.ts';
import { verifyStore } from '../../src/app/ledger/verify.ts';
import { fromStored } from '../../src/core/ledger/entry.ts';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite.ts';
import { runCli } from '../support/cli.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

const FIXTURE = path.join(import.meta.dirname, '../fixtures/ledger-plain-actors.db');
let dir: TmpDir;
let db: string;

beforeAll(async () => {
  dir = await tmpDir('bulwark-plain-actors-');
  db = path.join(dir.path, 'bulwark.db');
  copyFileSync(FIXTURE, db);
});
afterAll(async () => {
  await dir?.cleanup();
});

describe('a ledger written with plain actors', () => {
  it('verifies, reads its plain actors back, and verifies again with structured ones after it', async () => {
    const store = await openSqliteStore(db);
    try {
      expect(await verifyStore(store)).toMatchObject({ ok: true, size: 4, checkpointsChecked: 1 });
      const old = await store.ledger.page({ from: 0, limit: 10, order: 'asc' });
      expect(old.map((e) => fromStored(e).actor)).toEqual(['system', 'system', 'cli:alice', expect.stringMatching(/^token:[a-z0-9]{12}$/)]);

      const deps = { store, clock: systemClock, keys: memoryKeyRing('after'), origin: (await store.meta.get('origin'))! };
      const principal = { id: 'p-1', name: 'ops', kind: 'person' as const, tokenId: 'abcdefabcdef', tokenName: 'ops', scopes: ['*'] };
      const note = await addNote(deps, principal, { type: 'observation', subject: 'service:shop', text: 'after' }, 'req-1');
      expect(note.actor).toEqual({ id: 'p-1', kind: 'person', token: 'abcdefabcdef', request: 'req-1', how: 'api' });
      await makeCheckpoint(deps);
      const [stored] = await store.ledger.page({ from: 4, limit: 1, order: 'asc' });
      expect(fromStored(stored!).actor).toEqual(note.actor);
      expect(await verifyStore(store)).toMatchObject({ ok: true, size: 6, checkpointsChecked: 2 });
    } finally {
      await store.close();
    }
    const r = await runCli(['ledger', 'verify', '--db', db, '--data-dir', dir.path]);
    expect(r.stderr + r.stdout).toMatch(/ok|verified/i);
    expect(r.code).toBe(0);
  }, 60_000);
});
