/**
 * The `bulwark ledger|tokens|backup|restore` commands as an operator runs them: child processes
 * over real SQLite files (and a running server where the API is the source of proofs and
 * tokens). The tamper cases edit the database file behind Bulwark's back with better-sqlite3,
 * the way an attacker with file access would, and expect `ledger verify` to exit 1 naming the
 * first bad entry.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFrom, openContext } from '../../src/cli/context.ts';
import { makeCheckpoint, registerCurrentKey } from '../../src/app/ledger/checkpoints.ts';
import { canonicalJson } from '../../src/core/ledger/entry.ts';
import { tokenSecret } from '../../src/core/access/token-format.ts';
import { api, describeRun, runCli, startServer, type CliResult, type RunningServer } from '../support/cli.ts';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../support/postgres.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';
import { rebuildTree, type EntryRow } from '../support/ledger-tamper.ts';
import { killAllChildren } from '../support/processes.ts';
import { systemActor } from '../../src/core/ledger/actor.ts';

// Spawning a tsx child costs about a second; a few of them run at once in the concurrent groups.
const T = 60_000;

let root: TmpDir;
/** The pristine ledger: entries 0..12, signed checkpoints at sizes 7 and 13. */
let base: LedgerDir;
/** `ledger checkpoint` stdout for size 13: the signed note a publisher would keep. */
let note13: string;
/** A server on a database of its own (another origin), with notes appended over the API. */
let server: RunningServer;
let serverDir: string;
let adminToken: string;

interface LedgerDir {
  dir: string;
  file: string;
  db: string;
  /** --db and --data-dir for the CLI. */
  flags: string[];
}

function ledgerDir(dir: string): LedgerDir {
  const file = path.join(dir, 'bulwark.db');
  return { dir, file, db: `sqlite:${file}`, flags: ['--db', `sqlite:${file}`, '--data-dir', dir] };
}

/** A private copy of the pristine database and its key files, so each case starts clean. */
function copyOfBase(name: string): LedgerDir {
  const dir = path.join(root.path, name);
  mkdirSync(dir);
  copyFileSync(base.file, path.join(dir, 'bulwark.db'));
  cpSync(path.join(base.dir, 'keys'), path.join(dir, 'keys'), { recursive: true });
  return ledgerDir(dir);
}

function withSqlite<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Append `n` entries in-process (faster than a child per entry), one transaction each. */
async function appendEntries(d: LedgerDir, n: number, label: string, checkpoint = false): Promise<void> {
  const { deps, close } = await openContext(configFrom({ db: d.db, dataDir: d.dir }));
  try {
    await registerCurrentKey(deps, systemActor('system'));
    for (let i = 0; i < n; i++) {
      const now = new Date().toISOString();
      await deps.store.ledger.append(
        [
          {
            actor: systemActor('test:builder'),
            kind: 'note.observation',
            subject: `case:${label}`,
            data: { text: `${label} ${i}`, labels: { i: String(i) } },
          },
        ],
        now,
      );
    }
    if (checkpoint) await makeCheckpoint(deps);
  } finally {
    await close();
  }
}

function headOf(file: string): { size: number; root: string } {
  return withSqlite(file, (db) => {
    const r = db.prepare('select size, root from ledger_head where id = 1').get() as { size: number; root: Buffer };
    return { size: r.size, root: r.root.toString('hex') };
  });
}

/** Rewrite entry `seq`'s data and the whole stored tree so that they agree (checkpoints left alone). */
function rewriteEntryAndTree(db: Database.Database, seq: number): void {
  const data = canonicalJson({ text: 'rewritten by an attacker', i: seq });
  db.transaction(() => {
    if (db.prepare('update ledger_entries set data = ? where seq = ?').run(data, seq).changes !== 1) throw new Error(`no entry ${seq}`);
    rebuildTree(db);
  })();
}

const verify = (d: LedgerDir, ...extra: string[]) => runCli(['ledger', 'verify', ...d.flags, ...extra]);

/** Exit 0 and a report of how much was verified (wording may vary; the numbers may not). */
function expectIntact(r: CliResult, entries: number, checkpoints: number, size = entries): void {
  expect(r.code, describeRun(r)).toBe(0);
  expect(r.stdout).toMatch(/intact/);
  expect(r.stdout).toMatch(new RegExp(`\\b${entries} entr(y|ies)\\b`));
  expect(r.stdout).toMatch(new RegExp(`\\b${checkpoints} checkpoints?\\b`));
  expect(r.stdout).toMatch(new RegExp(`\\bsize ${size}\\b`));
}

function expectFailedAt(r: CliResult, seq: number, reason?: RegExp): void {
  expect(r.code, describeRun(r)).toBe(1);
  expect(r.stdout).toMatch(new RegExp(`FAILED: entry ${seq}\\b`));
  if (reason) expect(r.stdout).toMatch(reason);
}

beforeAll(async () => {
  root = await tmpDir('bulwark-ledger-cli-');
  serverDir = path.join(root.path, 'server');
  mkdirSync(serverDir);

  const buildBase = async () => {
    const dir = path.join(root.path, 'base');
    mkdirSync(dir);
    base = ledgerDir(dir);
    // entry 0 is ledger.key.added; 1..6 notes; checkpoint at 7; 7..12 notes; checkpoint at 13.
    await appendEntries(base, 6, 'first', true);
    await appendEntries(base, 6, 'second');
    const cp = await runCli(['ledger', 'checkpoint', ...base.flags]);
    expect(cp.code, describeRun(cp)).toBe(0);
    note13 = cp.stdout;
    expect(note13.split('\n')[1]).toBe('13');
    // The store closed cleanly, so the file alone is the whole database.
    const wal = `${base.file}-wal`;
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
  };

  const startAndSeed = async () => {
    server = await startServer({ dir: serverDir, expectToken: true });
    adminToken = server.token!;
    for (let i = 0; i < 10; i++) {
      const r = await api(server, 'POST', '/v1/ledger/notes', {
        token: adminToken,
        body: { type: 'observation', subject: 'proofs', text: `note ${i}` },
      });
      expect(r.status).toBe(201);
    }
  };

  await Promise.all([buildBase(), startAndSeed()]);
}, 90_000);

afterAll(async () => {
  await server?.stop('SIGTERM').catch(() => undefined);
  await killAllChildren();
  await root?.cleanup();
});

describe.concurrent('ledger verify detects tampering with the SQLite file (each case on its own copy)', () => {
  it('passes the untampered copy: the baseline the other cases differ from', { timeout: T }, async () => {
    const d = copyOfBase('untampered');
    const r = await verify(d);
    expectIntact(r, 13, 2, 13);
  });

  it('(a) an altered row (data) is named by its seq, because its leaf hash no longer matches', { timeout: T }, async () => {
    const d = copyOfBase('alter-data');
    withSqlite(d.file, (db) => db.prepare('update ledger_entries set data = ? where seq = 5').run('{"i":5,"text":"edited"}'));
    expectFailedAt(await verify(d), 5, /does not match its leaf hash/);
  });

  it('(a) an altered interior tree node (proofs are served from it) is named by the entry that holds it', { timeout: T }, async () => {
    const d = copyOfBase('alter-node');
    // Entry 7 completes the nodes over leaves 6–7, 4–7 and 0–7: flip a bit of the level-2 one.
    withSqlite(d.file, (db) => {
      const { tree } = db.prepare('select tree from ledger_entries where seq = 7').get() as { tree: Buffer };
      expect(tree.length).toBe(4 * 32);
      tree[2 * 32 + 5]! ^= 0x01;
      db.prepare('update ledger_entries set tree = ? where seq = 7').run(tree);
    });
    expectFailedAt(await verify(d), 7, /wrong tree node at level 2/);
  });

  it('(a) an altered compact range in the tree head is caught', { timeout: T }, async () => {
    const d = copyOfBase('alter-frontier');
    withSqlite(d.file, (db) => {
      const { frontier } = db.prepare('select frontier from ledger_head where id = 1').get() as { frontier: Buffer };
      frontier[0]! ^= 0x01;
      db.prepare('update ledger_head set frontier = ? where id = 1').run(frontier);
    });
    expectFailedAt(await verify(d), 12, /compact range of the tree head/);
  });

  it('(b) a deleted row in the middle is named as missing', { timeout: T }, async () => {
    const d = copyOfBase('delete-middle');
    withSqlite(d.file, (db) => db.prepare('delete from ledger_entries where seq = 5').run());
    expectFailedAt(await verify(d), 5, /entry 5 is missing/);
  });

  it('(c) two rows swapped (reordered) are caught at the first of them', { timeout: T }, async () => {
    const d = copyOfBase('swap');
    withSqlite(d.file, (db) => {
      const a = db.prepare('select * from ledger_entries where seq = 4').get() as EntryRow;
      const b = db.prepare('select * from ledger_entries where seq = 7').get() as EntryRow;
      const put = db.prepare('update ledger_entries set time = ?, actor = ?, kind = ?, subject = ?, data = ? where seq = ?');
      db.transaction(() => {
        put.run(b.time, b.actor, b.kind, b.subject, b.data, 4);
        put.run(a.time, a.actor, a.kind, a.subject, a.data, 7);
      })();
    });
    expectFailedAt(await verify(d), 4, /altered, or moved/);
  });

  it('(d) a row inserted at seq = size (beyond the tree head) is named', { timeout: T }, async () => {
    const d = copyOfBase('insert-end');
    withSqlite(d.file, (db) =>
      db
        .prepare('insert into ledger_entries (seq, time, actor, kind, subject, data) values (13, ?, ?, ?, ?, ?)')
        .run(new Date().toISOString(), 'attacker', 'note.observation', 'case:forged', '{"text":"forged"}'),
    );
    expectFailedAt(await verify(d), 13, /beyond the tree head/);
  });

  it('(d) a row moved to another seq leaves a gap that is named (SQLite forbids a duplicate seq outright)', { timeout: T }, async () => {
    const d = copyOfBase('move-seq');
    withSqlite(d.file, (db) => {
      expect(() => db.prepare('update ledger_entries set seq = 4 where seq = 5').run()).toThrow(/UNIQUE|PRIMARY/i);
      db.prepare('update ledger_entries set seq = 1000 where seq = 5').run();
    });
    expectFailedAt(await verify(d), 5, /entry 5 is missing/);
  });

  it('(d) a row inserted before the log (negative seq) is refused by the schema, and caught when forced in', { timeout: T }, async () => {
    const d = copyOfBase('insert-negative');
    const forge = (db: Database.Database) =>
      db
        .prepare('insert into ledger_entries (seq, time, actor, kind, subject, data) values (-1, ?, ?, ?, ?, ?)')
        .run(new Date().toISOString(), 'attacker', 'note.observation', 'case:forged', '{"text":"forged before the log"}');
    expect(() => withSqlite(d.file, forge)).toThrow(/CHECK constraint/);
    // Someone with the file can switch the check off; verification reads every row regardless.
    withSqlite(d.file, (db) => {
      db.pragma('ignore_check_constraints = ON');
      forge(db);
    });
    expectFailedAt(await verify(d), -1, /before the start of the log: inserted/);
  });

  it('(e) an entry rewritten together with its leaf is still caught by the signed checkpoint at 13', { timeout: T }, async () => {
    const d = copyOfBase('rewrite-9');
    withSqlite(d.file, (db) => rewriteEntryAndTree(db, 9));
    // The stored tree and head agree with the entry now; only the root signed at size 13 disagrees. The last
    // good checkpoint is at 7, so the failure names the range from entry 7.
    expectFailedAt(await verify(d), 7, /entries 7\.\.12 do not match the signed checkpoint at size 13/);
  });
});

describe.concurrent('prove-inclusion and prove-consistency check proofs served by the API', () => {
  const get = async (q: string) => {
    const r = await api(server, 'GET', q, { token: adminToken });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  type Incl = { seq: number; size: number; leafHash: string; proof: string[]; root: string };
  type Cons = { from: number; to: number; proof: string[]; root1: string; root2: string };
  const inclArgs = (p: Incl) => [
    'ledger',
    'prove-inclusion',
    '--leaf-hash',
    p.leafHash,
    '--index',
    String(p.seq),
    '--size',
    String(p.size),
    '--root',
    p.root,
    ...(p.proof.length > 0 ? ['--proof', p.proof.join(',')] : []),
  ];
  const consArgs = (p: Cons) => [
    'ledger',
    'prove-consistency',
    '--size1',
    String(p.from),
    '--size2',
    String(p.to),
    '--root1',
    p.root1,
    '--root2',
    p.root2,
    ...(p.proof.length > 0 ? ['--proof', p.proof.join(',')] : []),
  ];
  /** One hex digit changed: still well-formed, no longer the right hash. */
  const flip = (hex: string, at = 10) => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1);
  const valid = (hex = 'a') => hex.repeat(64);

  it('accepts an inclusion proof of an old entry in an older tree (exit 0)', { timeout: T }, async ({ expect }) => {
    const p = (await get('/v1/ledger/proofs/inclusion?seq=3&size=9')) as Incl;
    expect(p.proof.length).toBeGreaterThan(1);
    const r = await runCli(inclArgs(p));
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout.trim()).toBe('valid');
  });

  it('rejects that inclusion proof with one hex digit flipped in its audit path (exit 1)', { timeout: T }, async ({ expect }) => {
    const p = (await get('/v1/ledger/proofs/inclusion?seq=3&size=9')) as Incl;
    const r = await runCli(inclArgs({ ...p, proof: [p.proof[0]!, flip(p.proof[1]!), ...p.proof.slice(2)] }));
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.stderr).toMatch(/^invalid: /m);
  });

  it('accepts a consistency proof from an old size to the current head (exit 0)', { timeout: T }, async ({ expect }) => {
    const p = (await get('/v1/ledger/proofs/consistency?from=3')) as Cons;
    // 12 entries written here, and whatever the server announced on its own since (a KRI's colour).
    expect(p.to).toBeGreaterThanOrEqual(12);
    expect(p.proof.length).toBeGreaterThan(0);
    const r = await runCli(consArgs(p));
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout.trim()).toBe('valid');
  });

  it('rejects that consistency proof with one hex digit flipped in the new root (exit 1)', { timeout: T }, async ({ expect }) => {
    const p = (await get('/v1/ledger/proofs/consistency?from=3')) as Cons;
    const r = await runCli(consArgs({ ...p, root2: flip(p.root2, 63) }));
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.stderr).toMatch(/^invalid: /m);
  });

  // Bad input is exit 2 (not 1): a script must tell "the proof is wrong" from "I called it wrong".
  const malformed: { what: string; args: string[]; names: RegExp }[] = [
    {
      what: 'a leaf hash that is not hex',
      args: ['ledger', 'prove-inclusion', '--leaf-hash', 'zz'.repeat(32), '--index', '0', '--size', '2', '--root', valid()],
      names: /--leaf-hash must be 64 hex digits/,
    },
    {
      what: 'a negative index',
      args: ['ledger', 'prove-inclusion', '--leaf-hash', valid(), '--index', '-1', '--size', '2', '--root', valid()],
      names: /--index must be a whole number/,
    },
    {
      what: 'an index equal to the size',
      args: ['ledger', 'prove-inclusion', '--leaf-hash', valid(), '--index', '2', '--size', '2', '--root', valid()],
      names: /--index \(2\) must be below --size \(2\)/,
    },
    {
      what: 'a missing --root',
      args: ['ledger', 'prove-inclusion', '--leaf-hash', valid(), '--index', '0', '--size', '2'],
      names: /--root/,
    },
  ];
  it.for(malformed)('answers $what with exit 2 and a message naming the argument', { timeout: T }, async ({ args, names }, { expect }) => {
    const r = await runCli(args);
    expect(r.code, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(names);
  });
});

describe('ledger export is verifiable on another machine with verify --file', () => {
  let exported: string;
  let exportedFrom5: string;
  /** An empty directory standing in for another machine: no database, no keys. */
  let elsewhere: string;
  const verifyFile = (file: string, ...extra: string[]) =>
    runCli(['ledger', 'verify', '--file', file, '--data-dir', path.join(elsewhere, 'data'), ...extra], { cwd: elsewhere });

  beforeAll(async () => {
    const d = copyOfBase('export-src');
    exported = path.join(root.path, 'ledger.jsonl');
    exportedFrom5 = path.join(root.path, 'ledger-from-5.jsonl');
    const [full, part] = await Promise.all([
      runCli(['ledger', 'export', ...d.flags, '--out', exported]),
      runCli(['ledger', 'export', ...d.flags, '--from', '5', '--out', exportedFrom5]),
    ]);
    expect(full.code, describeRun(full)).toBe(0);
    expect(part.code, describeRun(part)).toBe(0);
    elsewhere = path.join(root.path, 'elsewhere');
    mkdirSync(elsewhere);
  }, T);

  it('verifies the whole export with no database and an empty data dir, and writes nothing there', { timeout: T }, async () => {
    const r = await verifyFile(exported);
    expectIntact(r, 13, 1, 13);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('verifies an export --from 5 from its prefix line, checking only the 8 later entries', { timeout: T }, async () => {
    const lines = readFileSync(exportedFrom5, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; seq?: number });
    expect(lines.filter((l) => l.type === 'prefix')).toHaveLength(1);
    expect(lines.filter((l) => l.type === 'entry').map((l) => l.seq)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    const r = await verifyFile(exportedFrom5);
    expectIntact(r, 8, 1, 13);
  });

  describe.concurrent('tampered or unreadable exports', () => {
    const tampered = (src: string, name: string, edit: (lines: string[]) => string[]) => {
      const out = path.join(root.path, name);
      writeFileSync(out, edit(readFileSync(src, 'utf8').trimEnd().split('\n')).join('\n') + '\n');
      return out;
    };
    const entryLine = (lines: string[], seq: number) => lines.findIndex((l) => l.startsWith(`{"type":"entry","seq":${seq},`));

    it('an entry line with edited data does not add up to the signed root (exit 1)', { timeout: T }, async ({ expect }) => {
      const f = tampered(exported, 'edit.jsonl', (lines) => {
        const i = entryLine(lines, 6);
        lines[i] = lines[i]!.replace('"text":"first 5"', '"text":"first 5 (edited)"');
        expect(lines[i]).toContain('(edited)');
        return lines;
      });
      const r = await verifyFile(f);
      expect(r.code, describeRun(r)).toBe(1);
      expect(r.stdout).toMatch(/FAILED: entry 0: entries 0\.\.12 do not match the signed checkpoint at size 13/);
    });

    it('a garbage file is bad input (exit 2), not a failed check', { timeout: T }, async ({ expect }) => {
      const f = path.join(root.path, 'garbage.jsonl');
      writeFileSync(f, 'this is not a ledger export\n\x00\x01\x02\n');
      const r = await verifyFile(f);
      expect(r.code, describeRun(r)).toBe(2);
      expect(r.stderr).toMatch(/export line 1: is not JSON/);
    });
  });
});

describe.concurrent('verify --checkpoint proves the log only grew since a published checkpoint', () => {
  let saved: string;
  beforeAll(() => {
    saved = path.join(root.path, 'published-13.note');
    writeFileSync(saved, note13);
  });

  it('passes after more entries and checkpoints were added on top of the saved one', { timeout: T }, async () => {
    const d = copyOfBase('grown');
    await appendEntries(d, 5, 'later', true);
    const r = await verify(d, '--checkpoint', saved);
    expectIntact(r, 18, 4, 18);
  });

  it('fails (exit 1) when an entry before the saved size was altered afterwards', { timeout: T }, async () => {
    const d = copyOfBase('grown-then-altered');
    await appendEntries(d, 3, 'later', true);
    withSqlite(d.file, (db) => db.prepare('update ledger_entries set data = ? where seq = 3').run('{"i":2,"text":"edited"}'));
    expectFailedAt(await verify(d, '--checkpoint', saved), 3);
  });

  it('catches a full rewrite that re-signed every stored checkpoint with the key beside the database', { timeout: T }, async () => {
    const d = copyOfBase('rewritten-and-resigned');
    await appendEntries(d, 3, 'later', true);
    // The attacker rewrites entry 3, recomputes the whole tree and the head, drops the old
    // checkpoints and signs a new one with the key from the data directory.
    withSqlite(d.file, (db) => {
      db.transaction(() => {
        db.prepare('update ledger_entries set data = ? where seq = 3').run(canonicalJson({ text: 'history rewritten', i: 2 }));
        rebuildTree(db);
        db.prepare('delete from ledger_checkpoints').run();
      })();
    });
    const { deps, close } = await openContext(configFrom({ db: d.db, dataDir: d.dir }));
    try {
      await makeCheckpoint(deps);
    } finally {
      await close();
    }
    const [alone, withSaved] = await Promise.all([verify(d), verify(d, '--checkpoint', saved)]);
    // Without an outside copy the rewrite is consistent: that is why checkpoints are published.
    expect(alone.code, describeRun(alone)).toBe(0);
    expect(withSaved.code, describeRun(withSaved)).toBe(1);
    expect(withSaved.stdout).toMatch(/FAILED: entry 0: entries 0\.\.12 do not match the signed checkpoint at size 13/);
  });

  it('refuses (exit 1) a checkpoint of another log, naming both origins', { timeout: T }, async () => {
    const other = await api<{ note: string; origin: string }>(server, 'GET', '/v1/ledger/checkpoint', { token: adminToken });
    expect(other.status).toBe(200);
    const f = path.join(root.path, 'other-origin.note');
    writeFileSync(f, other.body.note);
    const d = copyOfBase('other-origin');
    const r = await verify(d, '--checkpoint', f);
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.stderr).toContain(`the checkpoint is for log "${other.body.origin}"`);
  });

  it('answers a corrupted checkpoint file with exit 2 (bad input, not a failed check)', { timeout: T }, async () => {
    const corrupt = path.join(root.path, 'corrupt.note');
    writeFileSync(corrupt, note13.replace(/\n\n[\s\S]*$/, '\n')); // the signature lines cut off
    const r = await verify(copyOfBase('corrupt-checkpoint'), '--checkpoint', corrupt);
    expect(r.code, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(/is not a signed checkpoint/);
  });
});

describe('ledger rotate-key: old checkpoints keep verifying with the retired key', () => {
  let d: LedgerDir;
  let oldKey: string;
  let newKey: string;

  beforeAll(async () => {
    d = copyOfBase('rotation');
    const rot = await runCli(['ledger', 'rotate-key', ...d.flags]);
    expect(rot.code, describeRun(rot)).toBe(0);
    const m = /rotated: ([0-9a-f]{8}) -> ([0-9a-f]{8})/.exec(rot.stdout);
    expect(m, rot.stdout).not.toBeNull();
    // More entries and a new checkpoint, now signed by the new key.
    await appendEntries(d, 4, 'after-rotation', true);
    const keys = await runCli(['ledger', 'keys', ...d.flags]);
    expect(keys.code, describeRun(keys)).toBe(0);
    const lines = keys.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    const old = lines.find((l) => l.includes(`+${m![1]}+`));
    const cur = lines.find((l) => l.includes(`+${m![2]}+`));
    expect(old, keys.stdout).toMatch(/\(retired .+\)$/);
    expect(cur, keys.stdout).not.toMatch(/retired/);
    oldKey = old!.split(/\s+/)[0]!;
    newKey = cur!.split(/\s+/)[0]!;
  }, 90_000);

  it('ledger keys prints both verifier keys as NAME+KEYID+BASE64, the old one marked retired', () => {
    expect(oldKey).toMatch(/^bulwark\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
    expect(newKey).toMatch(/^bulwark\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
    expect(oldKey).not.toBe(newKey);
  });

  describe.concurrent('verify after the rotation', () => {
    it('passes with the keys recorded in the store (checkpoints by both keys)', { timeout: T }, async () => {
      const r = await verify(d);
      // 7 and 13 by the old key; 14 (forced by rotate-key) and 18 by the new one.
      expectIntact(r, 18, 4, 18);
    });

    it('fails (exit 1) when only the new key is trusted: the old checkpoints are not by it', { timeout: T }, async ({ expect }) => {
      const r = await verify(d, '--key', newKey);
      expect(r.code, describeRun(r)).toBe(1);
      expect(r.stdout).toMatch(/FAILED: entry 6: checkpoint at size 7: no signature on the checkpoint is by a trusted key/);
    });

    it('passes when both keys are pinned with --key old --key new', { timeout: T }, async ({ expect }) => {
      const r = await verify(d, '--key', oldKey, '--key', newKey);
      expect(r.code, describeRun(r)).toBe(0);
    });
  });
});

describe('tokens on the database: recovery of a lost admin token, revocation, listing', () => {
  const tokenFlags = () => ['--db', `sqlite:${path.join(serverDir, 'bulwark.db')}`, '--data-dir', serverDir];
  let recovered: { id: string; token: string };

  it(
    'tokens create --admin works straight on the database while the server runs, and is recorded in the ledger',
    { timeout: T },
    async () => {
      const r = await runCli(['tokens', 'create', '--admin', '--name', 'recovered admin', '--json', ...tokenFlags()]);
      expect(r.code, describeRun(r)).toBe(0);
      recovered = JSON.parse(r.stdout) as { id: string; token: string };
      expect(recovered.token).toMatch(/^bwk_[a-z0-9]{12}_/);

      const session = await api(server, 'GET', '/v1/session', { token: recovered.token });
      expect(session.status).toBe(200);
      expect(session.body.permissions).toEqual(['*']);

      const entries = await api(server, 'GET', '/v1/ledger/entries?kind=token.created&limit=1000', { token: recovered.token });
      expect(entries.status).toBe(200);
      const entry = entries.body.entries.find((e: { subject: string }) => e.subject === `token:${recovered.id}`);
      expect(entry, JSON.stringify(entries.body)).toBeDefined();
      expect(entry.actor).toMatchObject({ kind: 'person', how: 'cli' });
      expect(entry.data).toMatchObject({ id: recovered.id, name: 'recovered admin', scopes: ['*'] });
      expect(JSON.stringify(entry)).not.toContain(tokenSecret(recovered.token)!);
    },
  );

  it('tokens revoke ID makes the running server answer 401 for that token, and records token.revoked', { timeout: T }, async () => {
    const c = await api(server, 'POST', '/v1/tokens', { token: adminToken, body: { name: 'ci reader', scopes: ['ledger:read'] } });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    const t = c.body as { id: string; token: string };
    expect((await api(server, 'GET', '/v1/ledger/entries?limit=1', { token: t.token })).status).toBe(200);

    const rv = await runCli(['tokens', 'revoke', t.id, ...tokenFlags()]);
    expect(rv.code, describeRun(rv)).toBe(0);
    expect(rv.stdout).toContain(`revoked ${t.id}`);

    const after = await api(server, 'GET', '/v1/ledger/entries?limit=1', { token: t.token });
    expect(after.status).toBe(401);
    expect(after.body.message).toMatch(/revoked/);
    const revoked = await api(server, 'GET', '/v1/ledger/entries?kind=token.revoked', { token: adminToken });
    expect(revoked.body.entries.map((e: { subject: string }) => e.subject)).toContain(`token:${t.id}`);
  });

  it('tokens list names every token and never prints a secret', { timeout: T }, async () => {
    const r = await runCli(['tokens', 'list', ...tokenFlags()]);
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).not.toMatch(/bwk_/);
    expect(r.stdout).not.toContain(tokenSecret(adminToken)!);
    if (recovered) expect(r.stdout).not.toContain(tokenSecret(recovered.token)!);
    expect(r.stdout).toMatch(/^[a-z0-9]{12} +admin /m);
    expect(r.stdout).toMatch(/ recovered admin .* active$/m);
    expect(r.stdout).toMatch(/ ci reader .* revoked \S+$/m);
  });
});

describe.concurrent('backup and restore', () => {
  let src: LedgerDir;
  let backupFile: string;

  beforeAll(async () => {
    src = copyOfBase('backup-src');
    backupFile = path.join(root.path, 'backup.jsonl');
    const r = await runCli(['backup', ...src.flags, '--out', backupFile]);
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toMatch(/backup written to/);
    // It holds token hashes and the whole ledger: readable by its owner only.
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);
  }, T);

  it('restores into a fresh SQLite database with the same head, and verify passes there', { timeout: T }, async () => {
    const fresh = ledgerDir(path.join(root.path, 'restored'));
    mkdirSync(fresh.dir);
    const r = await runCli(['restore', ...fresh.flags, '--in', backupFile]);
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toMatch(/ledger intact/);
    expect(headOf(fresh.file)).toEqual(headOf(src.file));
    const origin = (file: string) =>
      withSqlite(file, (db) => (db.prepare("select value from bulwark_meta where key = 'origin'").get() as { value: string }).value);
    expect(origin(fresh.file)).toBe(origin(src.file));
    const v = await verify(fresh);
    expectIntact(v, 13, 2, 13);
  });

  it('refuses to restore into a database that already has entries, and changes nothing there', { timeout: T }, async () => {
    const target = copyOfBase('restore-target');
    await appendEntries(target, 2, 'own');
    const snapshot = () =>
      withSqlite(target.file, (db) => {
        const tables = (db.prepare("select name from sqlite_master where type = 'table' order by name").all() as { name: string }[]).map(
          (t) => t.name,
        );
        return Object.fromEntries(tables.map((t) => [t, db.prepare(`select * from "${t}"`).all()]));
      });
    const before = snapshot();
    const r = await runCli(['restore', ...target.flags, '--in', backupFile]);
    expect(r.code, describeRun(r)).not.toBe(0);
    expect(r.stderr).toMatch(/restore needs an empty database/);
    expect(snapshot()).toEqual(before);
  });

  describe.skipIf(!pgAvailable())('across databases', () => {
    let pg: TestDatabase;
    afterAll(async () => {
      await pg?.drop();
    });

    it(
      'restores a SQLite backup into PostgreSQL (the format is portable), and restore verifies the ledger there',
      { timeout: T },
      async () => {
        pg = await createTestDatabase({ migrated: true });
        const dataDir = path.join(root.path, 'restored-pg');
        const r = await runCli(['restore', '--db', pg.url, '--data-dir', dataDir, '--in', backupFile]);
        expect(r.code, describeRun(r)).toBe(0);
        expect(r.stdout).toMatch(/ledger intact/);
        const { openStore } = await import('../../src/store/open-store.ts');
        const store = await openStore(pg.url);
        try {
          const head = await store.ledger.head();
          expect({ size: head.size, root: head.root.toString('hex') }).toEqual(headOf(src.file));
        } finally {
          await store.close();
        }
      },
    );
  });
});
