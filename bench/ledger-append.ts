/**
 * Ledger append throughput with durability on, against a plain INSERT of the same rows into
 * the same database with the same durability, measured in the same run.
 *
 *   (a) single-entry appends, one transaction each, sequential, vs single-row INSERT transactions;
 *   (b) batched appends (100 and 1000 entries per transaction) vs multi-row INSERT batches.
 *
 * Two baselines per database, each writing to its own table with the columns and index of
 * ledger_entries, in the same database file / cluster:
 *   - "driver": the store's driver used directly (better-sqlite3 with prepared statements and
 *     BEGIN IMMEDIATE … COMMIT; pg with BEGIN / INSERT / COMMIT on one client). The stricter one.
 *   - "kysely": the same INSERT built and run through kysely in a kysely transaction, like the
 *     store's own queries.
 * The implementations take turns in many short rounds (order rotated each round), so machine
 * noise hits all of them alike; the ratio reported is the median of the per-round ratios.
 *
 *   tsx bench/ledger-append.ts [--quick] [--no-pg]
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { encodeData, leafText, type NewEntry } from '../src/core/ledger/entry.ts';
import { appendLeaves, leafHashOfText } from '../src/core/ledger/merkle.ts';
import { packTrees } from '../src/store/ledger/tree-layout.ts';
import { openPostgresStore } from '../src/store/postgres/open-postgres.ts';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite.ts';
import type { Store } from '../src/store/store.ts';
import {
  assert,
  fmtMs,
  fmtRate,
  fmtRatio,
  log,
  machineFacts,
  median,
  now,
  onCleanup,
  parseArgs,
  printFacts,
  printTable,
  quantile,
  runMain,
  settle,
  tempDir,
  writeJson,
} from './lib/common.ts';
import { countPgQueries, countSqliteStatements } from './lib/count.ts';
import { makeBatch } from './lib/entries.ts';
import { createDatabase, pgUnavailable, startPostgres } from './lib/postgres.ts';
import { profilePg, profileSqlite, type StatementProfile } from './lib/profile.ts';
import { kyselyOverHandle } from './lib/sqlite-immediate.ts';
import { encodeActor } from '../src/core/ledger/actor.ts';

const args = parseArgs();

interface Mode {
  name: string;
  /** Entries per transaction. */
  batch: number;
  /** Transactions per phase: one phase per implementation per round. */
  txs: number;
  /**
   * Rounds. Many short rounds, the implementations taking turns (order rotated each round),
   * so that a burst of load from other processes (slow fsyncs on a shared disk) falls on all of
   * them alike; ratios are taken per round, then the median.
   */
  rounds: number;
}

const MODES: Mode[] = args.quick
  ? [
      { name: 'single (1/tx)', batch: 1, txs: 25, rounds: 6 },
      { name: 'batch 100/tx', batch: 100, txs: 5, rounds: 4 },
      { name: 'batch 1000/tx', batch: 1000, txs: 1, rounds: 3 },
    ]
  : [
      { name: 'single (1/tx)', batch: 1, txs: 60, rounds: 20 },
      { name: 'batch 100/tx', batch: 100, txs: 6, rounds: 16 },
      { name: 'batch 1000/tx', batch: 1000, txs: 2, rounds: 10 },
    ];

/** One way of writing rows: the ledger or a plain-INSERT baseline. */
interface Impl {
  name: string;
  /** Write one transaction of these entries. */
  write(entries: NewEntry[]): Promise<void>;
}

interface Row {
  seq: number;
  time: string;
  actor: string;
  kind: string;
  subject: string;
  data: string;
}

/** What an application does to store an entry in a plain table: stamp it, serialize its data. */
function toRows(entries: NewEntry[], start: number, time: string): Row[] {
  return entries.map((e, i) => ({
    seq: start + i,
    time,
    actor: encodeActor(e.actor),
    kind: e.kind,
    subject: e.subject,
    data: JSON.stringify(e.data),
  }));
}

const PLAIN_COLUMNS = '(seq, time, actor, kind, subject, data)';

interface PhaseResult {
  impl: string;
  round: number;
  rows: number;
  ms: number;
  rowsPerSec: number;
  txLatencyMedianMs: number;
}

interface ModeResult {
  mode: string;
  batch: number;
  txsPerPhase: number;
  rounds: number;
  rates: Record<string, number>;
  txLatencyMedianMs: Record<string, number>;
  ratioVsDriver: number;
  ratioVsKysely: number;
  perRoundRatioVsDriver: number[];
  phases: PhaseResult[];
}

async function runModes(label: string, impls: Impl[]): Promise<ModeResult[]> {
  const out: ModeResult[] = [];
  let offset = 0;
  // Warm-up: code paths, statement caches, connections.
  for (const impl of impls) {
    for (let k = 0; k < 20; k++) await impl.write(makeBatch(offset + k, 1));
    await impl.write(makeBatch(offset, 100));
  }
  offset += 120;
  for (const mode of MODES) {
    const phases: PhaseResult[] = [];
    for (let round = 0; round < mode.rounds; round++) {
      const order = impls.map((_, i) => impls[(i + round) % impls.length]!);
      for (const impl of order) {
        const txs = Array.from({ length: mode.txs }, (_, k) => makeBatch(offset + k * mode.batch, mode.batch));
        offset += mode.txs * mode.batch;
        await settle();
        const lat: number[] = new Array(mode.txs);
        const t0 = now();
        for (let k = 0; k < mode.txs; k++) {
          const s = now();
          await impl.write(txs[k]!);
          lat[k] = now() - s;
        }
        const ms = now() - t0;
        const rows = mode.txs * mode.batch;
        phases.push({ impl: impl.name, round, rows, ms, rowsPerSec: rows / (ms / 1000), txLatencyMedianMs: median(lat) });
      }
    }
    // Throughput over all rounds: total rows / total time, per implementation.
    const rates: Record<string, number> = {};
    const lat: Record<string, number> = {};
    for (const impl of impls) {
      const mine = phases.filter((p) => p.impl === impl.name);
      rates[impl.name] = mine.reduce((a, p) => a + p.rows, 0) / (mine.reduce((a, p) => a + p.ms, 0) / 1000);
      lat[impl.name] = median(mine.map((p) => p.txLatencyMedianMs));
    }
    // Ratios are taken per round (rounds seconds apart see different noise), then the median.
    const perRoundVs = (base: string) =>
      Array.from({ length: mode.rounds }, (_, r) => {
        const l = phases.find((p) => p.round === r && p.impl === 'ledger')!;
        const d = phases.find((p) => p.round === r && p.impl === base)!;
        return l.rowsPerSec / d.rowsPerSec;
      });
    const perRound = perRoundVs('plain-driver');
    const res: ModeResult = {
      mode: mode.name,
      batch: mode.batch,
      txsPerPhase: mode.txs,
      rounds: mode.rounds,
      rates,
      txLatencyMedianMs: lat,
      ratioVsDriver: median(perRound),
      ratioVsKysely: median(perRoundVs('plain-kysely')),
      perRoundRatioVsDriver: perRound,
      phases,
    };
    log(
      `${label} ${mode.name}: ledger ${fmtRate(rates.ledger!)}, plain driver ${fmtRate(rates['plain-driver']!)}, plain kysely ${fmtRate(rates['plain-kysely']!)}`,
    );
    out.push(res);
  }
  return out;
}

function iqr(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `${fmtRatio(quantile(s, 0.25))}–${fmtRatio(quantile(s, 0.75))}`;
}

function printModes(title: string, results: ModeResult[]): void {
  printTable(
    title,
    [
      'mode',
      'ledger rows/s',
      'tx p50',
      'plain driver rows/s',
      'tx p50',
      'ratio vs driver',
      'per-round ratio p25–p75',
      'plain kysely rows/s',
      'ratio vs kysely',
      'goal ≥ 0.5',
    ],
    results.map((r) => [
      r.mode,
      fmtRate(r.rates.ledger!),
      fmtMs(r.txLatencyMedianMs.ledger!),
      fmtRate(r.rates['plain-driver']!),
      fmtMs(r.txLatencyMedianMs['plain-driver']!),
      fmtRatio(r.ratioVsDriver),
      iqr(r.perRoundRatioVsDriver),
      fmtRate(r.rates['plain-kysely']!),
      fmtRatio(r.ratioVsKysely),
      r.ratioVsDriver >= 0.5 ? 'met' : r.ratioVsKysely >= 0.5 ? 'met vs kysely only' : 'MISSED',
    ]),
  );
}

interface ProfileRow {
  impl: string;
  batch: number;
  txs: number;
  wallMsPerTx: number;
  /** Statement label → ms per transaction. */
  statements: Record<string, number>;
  /** Wall time not spent inside the driver: JavaScript (kysely, hashing, JSON) and scheduling. */
  otherMsPerTx: number;
}

/** Per-statement time of transactions of `batch` entries, for each implementation. */
async function profileImpls(
  title: string,
  start: () => StatementProfile,
  impls: Impl[],
  batch: number,
  txs: number,
  offset: number,
): Promise<ProfileRow[]> {
  const rows: ProfileRow[] = [];
  for (const impl of impls) {
    const work = Array.from({ length: txs }, (_, k) => makeBatch(offset + k * batch, batch));
    await settle();
    const prof = start();
    let wall = 0;
    try {
      const t0 = now();
      for (const w of work) await impl.write(w);
      wall = now() - t0;
    } finally {
      prof.restore();
    }
    const statements: Record<string, number> = {};
    let inDriver = 0;
    for (const [k, v] of prof.byStatement) {
      statements[k] = v.ms / txs;
      inDriver += v.ms;
    }
    rows.push({ impl: impl.name, batch, txs, wallMsPerTx: wall / txs, statements, otherMsPerTx: (wall - inDriver) / txs });
  }
  const labels = [...new Set(rows.flatMap((r) => Object.keys(r.statements)))];
  printTable(
    title,
    ['statement', ...rows.map((r) => `${r.impl} ms/tx`)],
    [
      ...labels.map((l) => [l, ...rows.map((r) => (r.statements[l] === undefined ? '' : r.statements[l].toFixed(3)))]),
      ['other (JS: kysely, hashing, JSON; event loop)', ...rows.map((r) => r.otherMsPerTx.toFixed(3))],
      ['wall per transaction', ...rows.map((r) => r.wallMsPerTx.toFixed(3))],
    ],
  );
  return rows;
}

// ---------------------------------------------------------------------------------------------
// SQLite

async function sqliteBench() {
  const dir = tempDir('bulwark-bench-append-');
  const file = path.join(dir, 'ledger.db');
  const store = await openSqliteStore(file);
  onCleanup('close SQLite store', () => store.close());
  const durability = await store.durability();
  assert(
    durability.settings.journal_mode === 'wal' && durability.settings.synchronous === 'full',
    `SQLite store durability is ${JSON.stringify(durability.settings)}, expected WAL + FULL`,
  );

  // The baselines: a second handle on the same file, same durability, their own tables.
  const raw = new Database(file);
  onCleanup('close SQLite baseline handle', () => void raw.close());
  raw.pragma('synchronous = FULL');
  raw.pragma('busy_timeout = 10000');
  const rawJournal = String(raw.pragma('journal_mode', { simple: true }));
  const rawSync = Number(raw.pragma('synchronous', { simple: true }));
  assert(rawJournal === 'wal' && rawSync === 2, `baseline handle is journal_mode=${rawJournal} synchronous=${rawSync}`);
  for (const t of ['bench_plain_driver', 'bench_plain_kysely']) {
    raw.exec(`create table ${t} (seq integer primary key, time text not null, actor text not null, kind text not null, subject text not null, data text not null);
              create index ${t}_kind on ${t} (kind, seq);`);
  }

  const begin = raw.prepare('BEGIN IMMEDIATE');
  const commit = raw.prepare('COMMIT');
  const multi = new Map<number, Database.Statement>();
  const insertN = (n: number) => {
    let s = multi.get(n);
    if (!s) {
      s = raw.prepare(
        `INSERT INTO bench_plain_driver ${PLAIN_COLUMNS} VALUES ${Array.from({ length: n }, () => '(?,?,?,?,?,?)').join(',')}`,
      );
      multi.set(n, s);
    }
    return s;
  };
  let driverSeq = 0;
  const driver: Impl = {
    name: 'plain-driver',
    async write(entries) {
      const rows = toRows(entries, driverSeq, new Date().toISOString());
      driverSeq += rows.length;
      const params: (string | number)[] = [];
      for (const r of rows) params.push(r.seq, r.time, r.actor, r.kind, r.subject, r.data);
      begin.run();
      try {
        insertN(rows.length).run(params);
        commit.run();
      } catch (err) {
        if (raw.inTransaction) raw.exec('ROLLBACK');
        throw err;
      }
    },
  };

  const kdb = kyselyOverHandle<{ bench_plain_kysely: Row }>(raw);
  let kyselySeq = 0;
  const viaKysely: Impl = {
    name: 'plain-kysely',
    async write(entries) {
      const rows = toRows(entries, kyselySeq, new Date().toISOString());
      kyselySeq += rows.length;
      await kdb.transaction().execute((trx) => trx.insertInto('bench_plain_kysely').values(rows).execute());
    },
  };

  const ledger: Impl = {
    name: 'ledger',
    async write(entries) {
      await store.ledger.append(entries, new Date().toISOString());
    },
  };

  // Statements per append (BEGIN and COMMIT included), counted at each statement's execution,
  // on a non-empty ledger (an empty one has no frontier to read).
  await store.ledger.append(makeBatch(0, 3), new Date().toISOString());
  const counter = countSqliteStatements();
  const statements: Record<string, number> = {};
  for (const n of [1, 100, 1000]) {
    counter.reset();
    await store.ledger.append(makeBatch(0, n), new Date().toISOString());
    statements[`ledger append of ${n}`] = counter.count;
    counter.reset();
    await viaKysely.write(makeBatch(0, n));
    statements[`plain kysely insert of ${n}`] = counter.count;
  }
  counter.restore();

  // I/O per transaction: WAL frames (one per page written) per commit. Truncate the WAL, run a
  // few transactions (fewer frames than the 1000-frame autocheckpoint), read the WAL's size.
  const walFile = `${file}-wal`;
  const io: Record<string, { batch: number; walFramesPerTx: number; walBytesPerEntry: number }> = {};
  let ioOffset = 20_000_000;
  for (const batch of [1, 100, 1000]) {
    const txs = batch === 1 ? 40 : batch === 100 ? 4 : 1;
    for (const impl of [ledger, driver, viaKysely]) {
      raw.pragma('wal_checkpoint(TRUNCATE)');
      for (let k = 0; k < txs; k++) await impl.write(makeBatch(ioOffset + k * batch, batch));
      ioOffset += txs * batch;
      const frames = (statSync(walFile).size - 32) / (4096 + 24);
      io[`${impl.name} ${batch}/tx`] = { batch, walFramesPerTx: frames / txs, walBytesPerEntry: (frames * 4096) / (txs * batch) };
    }
  }
  printTable(
    'SQLite WAL pages written per transaction (page size 4096; every commit fsyncs the WAL)',
    ['transaction', 'WAL frames per tx', 'WAL bytes per entry'],
    Object.entries(io).map(([k, v]) => [k, v.walFramesPerTx.toFixed(1), String(Math.round(v.walBytesPerEntry))]),
  );

  log('SQLite: measuring');
  const results = await runModes('SQLite', [ledger, driver, viaKysely]);
  printModes(
    `SQLite (WAL, synchronous=FULL, both asserted): ledger append vs plain INSERT; rows/s over all rounds; ratio = median of per-round ratios (rounds interleaved, order rotated)`,
    results,
  );
  printTable(
    'SQLite statements per transaction (counted at each execution)',
    ['transaction', 'statements'],
    Object.entries(statements).map(([k, v]) => [k, String(v)]),
  );

  const profile = [
    ...(await profileImpls(
      'SQLite: where a single-entry transaction spends its time (ms per transaction, wall time inside better-sqlite3 calls)',
      profileSqlite,
      [ledger, driver, viaKysely],
      1,
      args.quick ? 50 : 500,
      10_000_000,
    )),
    ...(await profileImpls(
      'SQLite: where a 1000-entry transaction spends its time (ms per transaction)',
      profileSqlite,
      [ledger, driver, viaKysely],
      1000,
      args.quick ? 2 : 10,
      11_000_000,
    )),
  ];
  const breakdown = await sqliteCpuBreakdown();
  return {
    durability: durability.settings,
    baselineHandle: { journal_mode: rawJournal, synchronous: 'full' },
    statements,
    walIo: io,
    results,
    profile,
    breakdown,
  };
}

/**
 * Where the time of a 1000-entry append goes, step by step, with no I/O: the same functions the
 * store calls, timed in a loop. The SQL steps run on an in-memory database (no fsync), so they
 * show the engine's and kysely's CPU cost, not the disk's.
 */
async function sqliteCpuBreakdown() {
  const N = 1000;
  const REPS = args.quick ? 5 : 20;
  const entries = makeBatch(5_000_000, N);
  const time = new Date().toISOString();
  const mem = new Database(':memory:');
  mem.exec(`create table ledger_entries (seq integer primary key, time text not null, actor text not null, kind text not null, subject text not null, data text not null, tree blob not null);
            create index ledger_entries_kind on ledger_entries (kind, seq);`);
  const kdb = kyselyOverHandle<{ ledger_entries: Row & { tree: Buffer } }>(mem);
  // The store compiles the 1000-row INSERT once and reuses its text (ledger-repo.ts).
  const dummy = { seq: 0, time: '', actor: '', kind: '', subject: '', data: '', tree: Buffer.alloc(0) };
  const insertText = kdb
    .insertInto('ledger_entries')
    .values(Array.from({ length: N }, () => dummy))
    .compile().sql;

  const steps: Record<string, number[]> = {};
  const timeIt = async (name: string, fn: () => unknown) => {
    const t = now();
    await fn();
    (steps[name] ??= []).push(now() - t);
  };
  let base = 0;
  for (let rep = 0; rep < REPS; rep++) {
    let stored: { seq: number; time: string; actor: string; kind: string; subject: string; dataJson: string }[] = [];
    await timeIt('encodeData: secrets refused + RFC 8785', () => {
      stored = entries.map((e, i) => ({
        seq: base + i,
        time,
        actor: encodeActor(e.actor),
        kind: e.kind,
        subject: e.subject,
        dataJson: encodeData(e.data),
      }));
    });
    await timeIt('JSON.stringify (what the plain baseline does)', () => entries.map((e) => JSON.stringify(e.data)));
    let leaves: Buffer[] = [];
    await timeIt('leafText + leafHashOfText', () => {
      leaves = stored.map((e) => leafHashOfText(leafText(e)));
    });
    let nodes: { level: number; index: number; hash: Buffer }[] = [];
    await timeIt('appendLeaves (interior hashes)', () => {
      nodes = appendLeaves([], 0, leaves).nodes;
    });
    let trees: Buffer[] = [];
    await timeIt('packTrees (one tree blob per entry)', () => {
      trees = packTrees(nodes);
    });
    let params: unknown[] = [];
    await timeIt('parameters of the 1000-row INSERT', () => {
      params = new Array(N * 7);
      stored.forEach((e, i) => {
        const o = i * 7;
        params[o] = e.seq;
        params[o + 1] = e.time;
        params[o + 2] = e.actor;
        params[o + 3] = e.kind;
        params[o + 4] = e.subject;
        params[o + 5] = e.dataJson;
        params[o + 6] = trees[i]!;
      });
    });
    await timeIt('SQLite run the 1000-row INSERT (in-memory, compiled SQL via kysely)', async () => {
      await kdb.executeQuery(CompiledQuery.raw(insertText, params));
    });
    base += N;
  }
  mem.close();
  const rows = Object.entries(steps).map(([name, ms]) => ({ step: name, msPer1000: median(ms), usPerEntry: (median(ms) * 1000) / N }));
  printTable(
    `CPU per 1000-entry append, by step (no I/O; median of ${REPS}); the SQL run steps include kysely's build+compile`,
    ['step', 'ms per 1000 entries', 'µs per entry'],
    rows.map((r) => [r.step, r.msPer1000.toFixed(2), r.usPerEntry.toFixed(2)]),
  );
  return rows;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

async function postgresBench() {
  const pgServer = await startPostgres();
  const url = await createDatabase(pgServer.url, 'bench_append');
  const store: Store = await openPostgresStore(url);
  const closeStore = onCleanup('close PostgreSQL store', () => store.close());
  const durability = await store.durability();
  assert(
    durability.settings.synchronous_commit === 'on' && durability.settings.fsync === 'on',
    `PostgreSQL store durability is ${JSON.stringify(durability.settings)}`,
  );

  const pools: pg.Pool[] = [];
  const closePools = onCleanup('end baseline pools', async () => {
    for (const p of pools) await p.end();
  });
  const mkPool = (max: number) => {
    const p = new pg.Pool({ connectionString: url, max, options: '-c synchronous_commit=on' });
    p.on('error', () => {});
    pools.push(p);
    return p;
  };
  const driverPool = mkPool(1);
  const client = await driverPool.connect();
  const sc = (await client.query<{ synchronous_commit: string }>('show synchronous_commit')).rows[0]!.synchronous_commit;
  const fs = (await client.query<{ fsync: string }>('show fsync')).rows[0]!.fsync;
  assert(sc === 'on' && fs === 'on', `baseline connection synchronous_commit=${sc} fsync=${fs}`);
  for (const t of ['bench_plain_driver', 'bench_plain_kysely']) {
    await client.query(
      `create table ${t} (seq bigint primary key, time text not null, actor text not null, kind text not null, subject text not null, data text not null)`,
    );
    await client.query(`create index ${t}_kind on ${t} (kind, seq)`);
  }
  const texts = new Map<number, string>();
  const insertText = (n: number) => {
    let s = texts.get(n);
    if (!s) {
      s = `INSERT INTO bench_plain_driver ${PLAIN_COLUMNS} VALUES ${Array.from({ length: n }, (_, i) => `($${i * 6 + 1},$${i * 6 + 2},$${i * 6 + 3},$${i * 6 + 4},$${i * 6 + 5},$${i * 6 + 6})`).join(',')}`;
      texts.set(n, s);
    }
    return s;
  };
  let driverSeq = 0;
  const driver: Impl = {
    name: 'plain-driver',
    async write(entries) {
      const rows = toRows(entries, driverSeq, new Date().toISOString());
      driverSeq += rows.length;
      const params: (string | number)[] = [];
      for (const r of rows) params.push(r.seq, r.time, r.actor, r.kind, r.subject, r.data);
      await client.query('BEGIN');
      try {
        await client.query(insertText(rows.length), params);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    },
  };

  const kdb = new Kysely<{ bench_plain_kysely: Row }>({ dialect: new PostgresDialect({ pool: mkPool(10) }) });
  let kyselySeq = 0;
  const viaKysely: Impl = {
    name: 'plain-kysely',
    async write(entries) {
      const rows = toRows(entries, kyselySeq, new Date().toISOString());
      kyselySeq += rows.length;
      await kdb.transaction().execute((trx) => trx.insertInto('bench_plain_kysely').values(rows).execute());
    },
  };
  const ledger: Impl = {
    name: 'ledger',
    async write(entries) {
      await store.ledger.append(entries, new Date().toISOString());
    },
  };

  await store.ledger.append(makeBatch(0, 3), new Date().toISOString());
  const counter = countPgQueries();
  const statements: Record<string, number> = {};
  for (const n of [1, 100, 1000]) {
    counter.reset();
    await store.ledger.append(makeBatch(0, n), new Date().toISOString());
    statements[`ledger append of ${n}`] = counter.count;
    counter.reset();
    await viaKysely.write(makeBatch(0, n));
    statements[`plain kysely insert of ${n}`] = counter.count;
  }
  counter.restore();
  // Loopback round trip, for reading the single-entry figures.
  const rtt: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t = now();
    await client.query('select 1');
    rtt.push(now() - t);
  }

  // I/O per transaction: WAL bytes generated, from pg_current_wal_lsn() before and after.
  const lsn = async () => (await client.query<{ l: string }>('select pg_current_wal_lsn()::text as l')).rows[0]!.l;
  const walDiff = async (a: string, b: string) =>
    Number((await client.query<{ d: string }>('select pg_wal_lsn_diff($1, $2)::text as d', [b, a])).rows[0]!.d);
  const io: Record<string, { batch: number; walBytesPerTx: number; walBytesPerEntry: number }> = {};
  let ioOffset = 20_000_000;
  for (const batch of [1, 100, 1000]) {
    const txs = batch === 1 ? (args.quick ? 50 : 200) : batch === 100 ? (args.quick ? 5 : 20) : args.quick ? 1 : 4;
    for (const impl of [ledger, driver, viaKysely]) {
      const before = await lsn();
      for (let k = 0; k < txs; k++) await impl.write(makeBatch(ioOffset + k * batch, batch));
      ioOffset += txs * batch;
      const bytes = await walDiff(before, await lsn());
      io[`${impl.name} ${batch}/tx`] = { batch, walBytesPerTx: bytes / txs, walBytesPerEntry: bytes / (txs * batch) };
    }
  }
  printTable(
    'PostgreSQL WAL bytes generated per transaction (pg_current_wal_lsn diff; includes full-page images after a checkpoint)',
    ['transaction', 'WAL bytes per tx', 'WAL bytes per entry'],
    Object.entries(io).map(([k, v]) => [k, String(Math.round(v.walBytesPerTx)), String(Math.round(v.walBytesPerEntry))]),
  );

  log('PostgreSQL: measuring');
  const results = await runModes('PostgreSQL', [ledger, driver, viaKysely]);
  printModes(
    `PostgreSQL ${pgServer.version} (synchronous_commit=on, fsync=on, asserted): ledger append vs plain INSERT; rows/s over all rounds; ratio = median of per-round ratios (rounds interleaved, order rotated)`,
    results,
  );
  printTable(
    'PostgreSQL round trips per transaction (counted at pg.Client#query, BEGIN/COMMIT included)',
    ['transaction', 'round trips'],
    [
      ...Object.entries(statements).map(([k, v]) => [k, String(v)]),
      ['plain driver insert (any size)', '3'],
      ['(loopback `select 1` median)', fmtMs(median(rtt))],
    ],
  );

  const profile = [
    ...(await profileImpls(
      'PostgreSQL: where a single-entry transaction spends its time (ms per transaction, wall time of each round trip)',
      profilePg,
      [ledger, driver, viaKysely],
      1,
      args.quick ? 50 : 500,
      10_000_000,
    )),
    ...(await profileImpls(
      'PostgreSQL: where a 1000-entry transaction spends its time (ms per transaction)',
      profilePg,
      [ledger, driver, viaKysely],
      1000,
      args.quick ? 2 : 10,
      11_000_000,
    )),
  ];

  client.release();
  await kdb.destroy().catch(() => {});
  await closeStore();
  await closePools().catch(() => {});
  await pgServer.stop();
  return {
    version: pgServer.version,
    durability: durability.settings,
    statements,
    selectOneMedianMs: median(rtt),
    walIo: io,
    results,
    profile,
  };
}

runMain(async () => {
  const facts = machineFacts();
  if (!args.noFacts) printFacts(facts);
  console.log(
    `\n== ledger-append ${args.quick ? '(quick)' : ''}: ${MODES.map((m) => `${m.name}: ${m.rounds} rounds × ${m.txs} tx per implementation`).join('; ')}`,
  );
  const sqlite = await sqliteBench();
  let postgres: unknown = null;
  const why = args.noPg ? 'skipped (--no-pg)' : pgUnavailable();
  if (why) console.log(`\nPostgreSQL: ${why}`);
  else postgres = await postgresBench();
  writeJson('ledger-append', { quick: args.quick, facts, modes: MODES, sqlite, postgres: postgres ?? { skipped: why } });
});
