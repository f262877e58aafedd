/**
 * verifyLedger hashes on a worker thread for big ledgers and on the calling thread for small ones.
 * Both must give the same report, to the message, on the same ledgers: intact ones and ones
 * tampered with the way an attacker with the SQLite file would (ledger-cli.test.ts does the same
 * through the CLI). The ledger here spans several read batches, so faults land in different ones.
 */
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, pgAvailable, skipReasonPg } from '../../../test/support/postgres.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import type { VerifyReport } from '../../core/ledger/verify-log.ts';
import { openPostgresStore } from '../../store/postgres/open-postgres.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { LedgerRepo } from '../../store/ledger/port.ts';
import { systemClock, type AppDeps } from '../deps.ts';
import { makeCheckpoint } from './checkpoints.ts';
import { memoryKeyRing } from './key-ring.ts';
import { verifyLedger, verifyLedgerOn, verifyStore } from './verify.ts';
import { rebuildTree, type EntryRow } from '../../../test/support/ledger-tamper.ts';
import { systemActor } from '../../core/ledger/actor.ts';

/** More than two read batches (4,000 rows each). */
const SIZE = 9_500;
let dir: TmpDir;
let base: string;

beforeAll(async () => {
  dir = await tmpDir('bulwark-verify-');
  base = path.join(dir.path, 'base.db');
  const store = await openSqliteStore(base);
  const deps: AppDeps = { store, clock: systemClock, keys: memoryKeyRing(), origin: 'test.local/log' };
  const append = (n: number) =>
    store.ledger.append(
      Array.from({ length: n }, (_, i) => ({
        actor: systemActor('test:builder'),
        kind: 'note.observation',
        subject: `case:${i % 7}`,
        // Non-ASCII text too: the thread hashes UTF-8 bytes packed here.
        data: { text: i % 3 === 0 ? `note ${i} — naïve café ✓ 𝄞` : `note ${i}`, labels: { i: String(i) } },
      })),
      new Date().toISOString(),
    );
  await makeCheckpoint(deps); // registers the key: entry 0, checkpoint at 1
  await append(6);
  await makeCheckpoint(deps); // 7
  await append(6);
  await makeCheckpoint(deps); // 13
  await append(SIZE - 13);
  await makeCheckpoint(deps); // SIZE
  await store.close();
}, 60_000);

afterAll(async () => {
  await dir?.cleanup();
});

const setData = (seq: number, data: string) => (db: Database.Database) =>
  expect(db.prepare('update ledger_entries set data = ? where seq = ?').run(data, seq).changes).toBe(1);
const remove = (seq: number) => (db: Database.Database) =>
  expect(db.prepare('delete from ledger_entries where seq = ?').run(seq).changes).toBe(1);
const flipTreeByte = (seq: number, at: number) => (db: Database.Database) => {
  const { tree } = db.prepare('select tree from ledger_entries where seq = ?').get(seq) as { tree: Buffer };
  tree[at]! ^= 0x01;
  db.prepare('update ledger_entries set tree = ? where seq = ?').run(tree, seq);
};
const insertAt = (seq: number) => (db: Database.Database) => {
  db.pragma('ignore_check_constraints = ON');
  db.prepare('insert into ledger_entries (seq, time, actor, kind, subject, data) values (?, ?, ?, ?, ?, ?)').run(
    seq,
    new Date().toISOString(),
    'attacker',
    'note.observation',
    'case:forged',
    '{"text":"forged"}',
  );
};
const swap = (s1: number, s2: number) => (db: Database.Database) => {
  const a = db.prepare('select * from ledger_entries where seq = ?').get(s1) as EntryRow;
  const b = db.prepare('select * from ledger_entries where seq = ?').get(s2) as EntryRow;
  const put = db.prepare('update ledger_entries set time = ?, actor = ?, kind = ?, subject = ?, data = ? where seq = ?');
  put.run(b.time, b.actor, b.kind, b.subject, b.data, s1);
  put.run(a.time, a.actor, a.kind, a.subject, a.data, s2);
};
const both =
  (...fs: ((db: Database.Database) => void)[]) =>
  (db: Database.Database) =>
    fs.forEach((f) => f(db));

/** Each case: how the file is tampered with, and the seq the report must name (null: intact). */
const cases: [name: string, tamper: (db: Database.Database) => void, firstBad: number | null, reason?: RegExp][] = [
  ['untampered', () => {}, null],
  ['altered data early', setData(5, '{"i":5,"text":"edited"}'), 5, /does not match its leaf hash/],
  ['altered data in a later batch', setData(8500, '{"i":8500,"text":"edited"}'), 8500, /does not match its leaf hash/],
  ['altered interior node', flipTreeByte(7, 2 * 32 + 5), 7, /wrong tree node at level 2/],
  ['altered interior node in a later batch', flipTreeByte(8191, 12 * 32), 8191, /wrong tree node at level 12/],
  ['altered stored leaf hash', flipTreeByte(4500, 3), 4500, /does not match its leaf hash/],
  [
    'altered frontier (in the head row)',
    (db) => {
      const { frontier } = db.prepare('select frontier from ledger_head where id = 1').get() as { frontier: Buffer };
      frontier[0]! ^= 0x01;
      db.prepare('update ledger_head set frontier = ? where id = 1').run(frontier);
    },
    SIZE - 1,
    /compact range of the tree head/,
  ],
  ['deleted row', remove(5), 5, /entry 5 is missing/],
  ['deleted row at a batch boundary', remove(7999), 7999, /entry 7999 is missing/],
  ['deleted first row of a batch', remove(8000), 8000, /entry 8000 is missing/],
  ['reordered rows', swap(4, 7), 4, /altered, or moved/],
  ['rows swapped across batches', swap(3000, 6000), 3000, /altered, or moved/],
  ['row inserted beyond the head', insertAt(SIZE), SIZE, /beyond the tree head/],
  ['row inserted before the log', insertAt(-1), -1, /before the start of the log: inserted/],
  ['row moved far away', (db) => db.prepare('update ledger_entries set seq = 100000 where seq = 5').run(), 5, /entry 5 is missing/],
  [
    'entry rewritten with its tree: caught by the checkpoint at 13',
    (db) => {
      setData(9, '{"i":9,"text":"rewritten by an attacker"}')(db);
      rebuildTree(db);
    },
    7,
    /entries 7\.\.12 do not match the signed checkpoint at size 13/,
  ],
  [
    'entry in a later batch rewritten with its tree: caught by the checkpoint at the head',
    (db) => {
      setData(9000, '{"i":9000,"text":"rewritten by an attacker"}')(db);
      rebuildTree(db);
    },
    13,
    /do not match the signed checkpoint/,
  ],
  ['the last rows deleted', (db) => db.prepare('delete from ledger_entries where seq >= ?').run(SIZE - 100), SIZE - 100, /deleted/],
  ['a hash fault before a gap: the hash fault is first', both(setData(6000, '{"x":1}'), remove(8000)), 6000],
  ['a gap before a hash fault: the gap is first', both(remove(3000), setData(6000, '{"x":1}')), 3000],
  [
    'a malformed stored checkpoint',
    (db) => db.prepare("update ledger_checkpoints set note = 'garbage' where size = 13").run(),
    12,
    /stored checkpoint at size 13 is malformed/,
  ],
];

async function withCopy<T>(name: string, tamper: (db: Database.Database) => void, fn: (ledger: LedgerRepo) => Promise<T>): Promise<T> {
  const file = path.join(dir.path, `${name.replace(/[^a-z0-9]+/gi, '-')}.db`);
  copyFileSync(base, file);
  const db = new Database(file);
  try {
    db.transaction(() => tamper(db))();
  } finally {
    db.close();
  }
  const store = await openSqliteStore(file);
  try {
    return await fn(store.ledger);
  } finally {
    await store.close();
  }
}

/** The same ledger as a plain object, so that a test can replace one of its methods. */
function delegate(l: LedgerRepo): LedgerRepo {
  return {
    scanRows: (...a) => l.scanRows(...a),
    append: (...a) => l.append(...a),
    head: () => l.head(),
    page: (q) => l.page(q),
    scan: (...a) => l.scan(...a),
    nodes: (ids) => l.nodes(ids),
    addCheckpoint: (c) => l.addCheckpoint(c),
    latestCheckpoint: () => l.latestCheckpoint(),
    checkpoints: () => l.checkpoints(),
    addKey: (k) => l.addKey(k),
    retireKey: (id, at) => l.retireKey(id, at),
    keys: () => l.keys(),
  };
}

function expectNamed(r: VerifyReport, firstBad: number | null, reason?: RegExp): void {
  if (firstBad === null) {
    expect(r).toMatchObject({ ok: true, size: SIZE, entriesChecked: SIZE, checkpointsChecked: 4 });
    return;
  }
  expect(r.ok, r.message).toBe(false);
  expect(r.firstBad?.seq, r.message).toBe(firstBad);
  if (reason) expect(r.message).toMatch(reason);
}

describe('verifyLedger gives the same report on a worker thread as on the calling thread', () => {
  it.each(cases)('%s', { timeout: 60_000 }, async (name, tamper, firstBad, reason) => {
    await withCopy(name, tamper, async (ledger) => {
      const here = await verifyLedgerOn('here', ledger);
      expectNamed(here, firstBad, reason);
      expect(await verifyLedgerOn('worker', ledger)).toEqual(here);
    });
  });

  it('the default picks a path by size, with the same result either way', { timeout: 60_000 }, async () => {
    await withCopy('default', setData(8500, '{"edited":true}'), async (ledger) => {
      const here = await verifyLedger(ledger, { parallel: false });
      expect(await verifyLedger(ledger)).toEqual(here);
      expect(await verifyLedger(ledger, { parallel: true })).toEqual(here);
    });
  });
});

describe('the worker path', () => {
  it('verifies an empty ledger', { timeout: 60_000 }, async () => {
    const d = await tmpDir('bulwark-verify-empty-');
    const store = await openSqliteStore(path.join(d.path, 'e.db'));
    try {
      const here = await verifyLedgerOn('here', store.ledger);
      expect(here).toMatchObject({ ok: true, size: 0, entriesChecked: 0 });
      expect(await verifyLedgerOn('worker', store.ledger)).toEqual(here);
      expect(await verifyStore(store, { parallel: true })).toEqual(here);
    } finally {
      await store.close();
      await d.cleanup();
    }
  });

  it('propagates a failure to read as an error, and stops the thread', { timeout: 60_000 }, async () => {
    await withCopy(
      'read-error',
      () => {},
      async (ledger) => {
        const broken: LedgerRepo = {
          ...delegate(ledger),
          async *scanRows(from, to, batch) {
            let n = 0;
            for await (const rows of ledger.scanRows(from, to, batch)) {
              if (++n === 2) throw new Error('disk on fire');
              yield rows;
            }
          },
        };
        await expect(verifyLedgerOn('worker', broken)).rejects.toThrow('disk on fire');
      },
    );
  });
});

describe.skipIf(!pgAvailable())(`on PostgreSQL (${pgAvailable() ? 'real server' : skipReasonPg})`, () => {
  it('gives the same report on both paths, intact and tampered', { timeout: 60_000 }, async () => {
    const db = await createTestDatabase({ migrated: true });
    const store = await openPostgresStore(db.url);
    try {
      const deps: AppDeps = { store, clock: systemClock, keys: memoryKeyRing(), origin: 'test.local/log' };
      await makeCheckpoint(deps);
      await store.ledger.append(
        Array.from({ length: 5000 }, (_, i) => ({
          actor: systemActor('a'),
          kind: 'note.comment',
          subject: 's',
          data: { text: `${i} é ✓` },
        })),
        new Date().toISOString(),
      );
      await makeCheckpoint(deps);
      const intact = await verifyLedgerOn('here', store.ledger);
      expect(intact).toMatchObject({ ok: true, size: 5001, entriesChecked: 5001, checkpointsChecked: 2 });
      expect(await verifyLedgerOn('worker', store.ledger)).toEqual(intact);
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query(`update ledger_entries set data = '{"i":1}' where seq = 4500`);
      } finally {
        await c.end();
      }
      const tampered = await verifyLedgerOn('here', store.ledger);
      expect(tampered.firstBad?.seq).toBe(4500);
      expect(await verifyLedgerOn('worker', store.ledger)).toEqual(tampered);
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
