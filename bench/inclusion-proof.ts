/**
 * Inclusion proofs from a big ledger: build 1,000,000 entries (large batched appends; the build
 * time is printed), then time N=2,000 inclusion proofs at random seq for size = head size.
 * Goal: median under 1 ms. Asserts that a proof is one SQL query (counted at the driver), and
 * verifies a sample of proofs with verifyInclusion against the leaf hash recomputed from the
 * stored entry and the stored head, so the figures are for real proofs.
 *
 * Baseline in the same run: the same node lookup (one `SELECT seq, tree FROM ledger_entries
 * WHERE seq IN (…)` over the rows holding the same nodes) through the driver directly, prepared
 * once — the floor for a one-query proof.
 *
 *   tsx bench/inclusion-proof.ts [--quick] [--no-pg] [--keep-db FILE]
 */
import { copyFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { inclusionProof } from '../src/app/ledger/proofs.ts';
import { entryLeafHash } from '../src/core/ledger/entry.ts';
import { frontierNodes, inclusionRanges, nodesForRanges, verifyInclusion, type NodeId } from '../src/core/ledger/merkle.ts';
import { homeOf } from '../src/store/ledger/tree-layout.ts';
import { openPostgresStore } from '../src/store/postgres/open-postgres.ts';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite.ts';
import type { Store } from '../src/store/store.ts';
import {
  assert,
  fmtMs,
  fmtRatio,
  log,
  machineFacts,
  now,
  onCleanup,
  parseArgs,
  printFacts,
  printTable,
  runMain,
  settle,
  summarize,
  tempDir,
  writeJson,
  type Summary,
} from './lib/common.ts';
import { countPgQueries, countSqliteStatements, type QueryCounter } from './lib/count.ts';
import { buildLedger, rng, type BuildResult } from './lib/entries.ts';
import { createDatabase, pgUnavailable, startPostgres } from './lib/postgres.ts';

const args = parseArgs();
const SIZE = args.quick ? 20_000 : 1_000_000;
const BATCH = args.quick ? 2_000 : 10_000;
const PROOFS = args.quick ? 500 : 2_000;
const VERIFY_SAMPLE = args.quick ? 20 : 100;
/** PostgreSQL: if the full build is projected over this, stop at PG_FALLBACK entries and say so. */
const PG_BUDGET_MS = 300_000;
const PG_FALLBACK = args.quick ? SIZE : 200_000;

/** The node ids one inclusion proof fetches, exactly as proofs.ts asks for them. */
function proofIds(seq: number, size: number): NodeId[] {
  return [...nodesForRanges(inclusionRanges(seq, size)), { level: 0, index: seq }, ...frontierNodes(size)];
}

interface ProofResult {
  size: number;
  proofs: number;
  queriesPerProof: number;
  proofMs: Summary;
  floorMs: Summary;
  ratioMedian: number;
  meanProofLength: number;
  meanNodesFetched: number;
  verified: number;
  tamperedRejected: boolean;
  goalMedianUnder1ms: boolean;
}

async function timeProofs(
  label: string,
  store: Store,
  counter: QueryCounter,
  floor: (ids: NodeId[]) => Promise<number>,
): Promise<ProofResult> {
  const head = await store.ledger.head();
  const size = head.size;
  const rand = rng(0x5eed);
  const seqs = Array.from({ length: PROOFS }, () => Math.floor(rand() * size));

  // Honesty first: a sample of proofs must verify against the stored head and the leaf hash
  // recomputed from the stored entry; a tampered proof must not.
  let verified = 0;
  for (const seq of seqs.slice(0, VERIFY_SAMPLE)) {
    const p = await inclusionProof(store.ledger, seq, size);
    const [entry] = await store.ledger.page({ from: seq, limit: 1, order: 'asc' });
    assert(entry && entry.seq === seq, `entry ${seq} not found`);
    const leaf = entryLeafHash(entry);
    assert(leaf.equals(p.leafHash), `stored leaf hash of ${seq} differs from the recomputed one`);
    assert(p.root.equals(head.root), `proof root for size ${size} is not the stored head root`);
    const err = verifyInclusion(seq, size, leaf, p.proof, head.root);
    assert(err === null, `proof of ${seq} in ${size} does not verify: ${err}`);
    verified += 1;
  }
  const p0 = await inclusionProof(store.ledger, seqs[0]!, size);
  const bad = p0.proof.map((h) => Buffer.from(h));
  bad[0]![0]! ^= 1;
  const tamperedRejected = verifyInclusion(seqs[0]!, size, p0.leafHash, bad, head.root) !== null;
  assert(tamperedRejected, 'a tampered proof verified');

  // Warm-up, then the timed proofs, one query each (counted at the driver).
  for (const seq of seqs.slice(0, 100)) await inclusionProof(store.ledger, seq, size);
  await settle();
  const samples: number[] = new Array(PROOFS);
  let proofLen = 0;
  counter.reset();
  for (let i = 0; i < PROOFS; i++) {
    const t = now();
    const p = await inclusionProof(store.ledger, seqs[i]!, size);
    samples[i] = now() - t;
    proofLen += p.proof.length;
  }
  const queries = counter.count;
  const queriesPerProof = queries / PROOFS;
  assert(queries === PROOFS, `${PROOFS} proofs sent ${queries} queries (${counter.last.join(' | ')}); expected one each`);

  // The floor: the same ids, one IN query through the driver, no proof assembly.
  await settle();
  const floorSamples: number[] = new Array(PROOFS);
  let fetched = 0;
  for (let i = 0; i < PROOFS; i++) {
    const ids = proofIds(seqs[i]!, size);
    const t = now();
    fetched += await floor(ids);
    floorSamples[i] = now() - t;
  }
  const proofMs = summarize(samples);
  const floorMs = summarize(floorSamples);
  log(
    `${label}: ${PROOFS} proofs at size ${size}: median ${fmtMs(proofMs.median)}, p99 ${fmtMs(proofMs.p99)}; ${queriesPerProof} query per proof`,
  );
  return {
    size,
    proofs: PROOFS,
    queriesPerProof,
    proofMs,
    floorMs,
    ratioMedian: floorMs.median / proofMs.median,
    meanProofLength: proofLen / PROOFS,
    meanNodesFetched: fetched / PROOFS,
    verified,
    tamperedRejected,
    goalMedianUnder1ms: proofMs.median < 1,
  };
}

function printProofs(title: string, r: ProofResult, build: BuildResult): void {
  printTable(
    title,
    ['figure', 'value'],
    [
      [
        'ledger size',
        `${r.size.toLocaleString('en-US')}${build.cappedFrom ? ` (capped from ${build.cappedFrom.toLocaleString('en-US')}: see log)` : ''}`,
      ],
      [
        'build',
        `${fmtMs(build.ms)} (${Math.round(build.entriesPerSec).toLocaleString('en-US')} entries/s, ${build.batch.toLocaleString('en-US')} per transaction)`,
      ],
      ['proofs timed', String(r.proofs)],
      [
        'proof median / p90 / p99 / max',
        `${fmtMs(r.proofMs.median)} / ${fmtMs(r.proofMs.p90)} / ${fmtMs(r.proofMs.p99)} / ${fmtMs(r.proofMs.max)}`,
      ],
      ['goal: median < 1 ms', r.goalMedianUnder1ms ? 'met' : 'MISSED'],
      ['queries per proof (counted at the driver)', String(r.queriesPerProof)],
      ['hashes per proof / nodes fetched per proof (mean)', `${r.meanProofLength.toFixed(1)} / ${r.meanNodesFetched.toFixed(1)}`],
      ['floor: same IN query via the driver, median / p99', `${fmtMs(r.floorMs.median)} / ${fmtMs(r.floorMs.p99)}`],
      ['floor median / proof median', fmtRatio(r.ratioMedian)],
      [
        'proofs verified with verifyInclusion (leaf recomputed from the entry)',
        `${r.verified}, tampered proof rejected: ${r.tamperedRejected}`,
      ],
    ],
  );
}

// ---------------------------------------------------------------------------------------------

async function sqliteBench() {
  const dir = tempDir('bulwark-bench-proof-');
  const file = path.join(dir, 'ledger.db');
  const store = await openSqliteStore(file);
  const closeStore = onCleanup('close SQLite store', () => store.close());
  const d = await store.durability();
  assert(d.settings.journal_mode === 'wal' && d.settings.synchronous === 'full', `durability ${JSON.stringify(d.settings)}`);
  log(`SQLite: building ${SIZE.toLocaleString('en-US')} entries, ${BATCH.toLocaleString('en-US')} per transaction`);
  const build = await buildLedger(store, SIZE, { batch: BATCH, label: 'SQLite' });
  log(`SQLite: built ${build.size} entries in ${fmtMs(build.ms)} (${Math.round(build.entriesPerSec)} entries/s)`);

  const raw = new Database(file, { readonly: true });
  onCleanup('close SQLite floor handle', () => void raw.close());
  const stmts = new Map<number, Database.Statement>();
  const floor = async (ids: NodeId[]) => {
    const seqs = [...new Set(ids.map((n) => homeOf(n).seq))];
    let s = stmts.get(seqs.length);
    if (!s) {
      s = raw.prepare(`select seq, tree from ledger_entries where seq in (${seqs.map(() => '?').join(',')})`);
      stmts.set(seqs.length, s);
    }
    return s.all(seqs).length;
  };
  const counter = countSqliteStatements();
  let result: ProofResult;
  try {
    result = await timeProofs('SQLite', store, counter, floor);
  } finally {
    counter.restore();
  }
  printProofs(`SQLite inclusion proofs (size = head size; random seq; warm OS page cache)`, result, build);
  raw.close();
  await closeStore();
  if (args.keepDb) {
    try {
      renameSync(file, args.keepDb);
    } catch {
      copyFileSync(file, args.keepDb);
      rmSync(file);
    }
    log(`SQLite ledger kept at ${args.keepDb} for verify`);
  }
  return { build, ...result };
}

async function postgresBench() {
  const pgServer = await startPostgres();
  const url = await createDatabase(pgServer.url, 'bench_proofs');
  const store = await openPostgresStore(url);
  const closeStore = onCleanup('close PostgreSQL store', () => store.close());
  const d = await store.durability();
  assert(d.settings.synchronous_commit === 'on' && d.settings.fsync === 'on', `durability ${JSON.stringify(d.settings)}`);
  log(
    `PostgreSQL: building ${SIZE.toLocaleString('en-US')} entries, ${BATCH.toLocaleString('en-US')} per transaction (budget ${PG_BUDGET_MS / 1000} s, else ${PG_FALLBACK.toLocaleString('en-US')})`,
  );
  const build = await buildLedger(store, SIZE, {
    batch: BATCH,
    label: 'PostgreSQL',
    budgetMs: PG_BUDGET_MS,
    probe: Math.min(100_000, SIZE / 4),
    fallback: PG_FALLBACK,
  });
  log(`PostgreSQL: built ${build.size} entries in ${fmtMs(build.ms)} (${Math.round(build.entriesPerSec)} entries/s)`);

  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const closePool = onCleanup('end floor pool', () => pool.end());
  const c = await pool.connect();
  // Fresh statistics, as autovacuum would have them on a long-lived database.
  await c.query('analyze ledger_entries');
  const floor = async (ids: NodeId[]) => {
    const seqs = [...new Set(ids.map((n) => homeOf(n).seq))];
    const r = await c.query(`select seq, tree from ledger_entries where seq in (${seqs.map((_, i) => `$${i + 1}`).join(',')})`, seqs);
    return r.rowCount ?? 0;
  };
  const counter = countPgQueries();
  let result: ProofResult;
  try {
    // The floor runs on its own pg client: count only the proof phase (reset inside).
    result = await timeProofs('PostgreSQL', store, counter, floor);
  } finally {
    counter.restore();
  }
  printProofs(`PostgreSQL ${pgServer.version} inclusion proofs (size = head size; random seq)`, result, build);
  c.release();
  await closePool();
  await closeStore();
  await pgServer.stop();
  return { version: pgServer.version, build, ...result };
}

runMain(async () => {
  const facts = machineFacts();
  if (!args.noFacts) printFacts(facts);
  console.log(`\n== inclusion-proof ${args.quick ? '(quick)' : ''}: ${SIZE.toLocaleString('en-US')} entries, ${PROOFS} proofs`);
  const sqlite = await sqliteBench();
  let postgres: unknown = null;
  const why = args.noPg ? 'skipped (--no-pg)' : pgUnavailable();
  if (why) console.log(`\nPostgreSQL: ${why}`);
  else postgres = await postgresBench();
  writeJson('inclusion-proof', { quick: args.quick, facts, sqlite, postgres: postgres ?? { skipped: why } });
});
