/**
 * Full verification of a 1,000,000-entry SQLite ledger (`verifyStore`) against its floor in the
 * same run: the same number of node:crypto SHA-256 calls in a tight loop — one per leaf over the
 * same leaf-input bytes (0x00 ‖ leafInput(entry), built from the stored entries), and one per
 * interior node, n−1 of them, over 65-byte inputs. Goal: verify speed ≥ 0.5 × floor speed.
 *
 * verifyStore hashes on a second thread from PARALLEL_MIN_ENTRIES entries on; each round also runs
 * the path it did not pick at this size (one thread, or two), for comparison.
 *
 * Also splits verifyStore's time: reading rows through the store vs the verifier's CPU, and the
 * verifier's CPU by step (leafInput, leaf hashes, interior hashes).
 *
 *   tsx bench/verify.ts [--quick] [--db FILE]   (FILE: a ledger built by inclusion-proof --keep-db)
 */
import crypto, { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PARALLEL_MIN_ENTRIES, verifyStore } from '../src/app/ledger/verify.ts';
import { leafInput, leafText, type StoredEntry } from '../src/core/ledger/entry.ts';
import { CompactRange, leafHashOfText, type Hash } from '../src/core/ledger/merkle.ts';
import { LogVerifier } from '../src/core/ledger/verify-log.ts';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite.ts';
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
  runMain,
  settle,
  tempDir,
  writeJson,
} from './lib/common.ts';
import { buildLedger, type BuildResult } from './lib/entries.ts';

const args = parseArgs();
const SIZE = args.quick ? 20_000 : 1_000_000;
const ROUNDS = 3;

/** The store's scan query (ledger-repo.ts `scan`), for reading rows through the driver alone. */
const SCAN_SQL = 'select seq, time, actor, kind, subject, data, tree from ledger_entries where seq >= ? order by seq asc limit ?';

interface Row {
  seq: number;
  time: string;
  actor: string;
  kind: string;
  subject: string;
  data: string;
  tree: Buffer;
}

runMain(async () => {
  const facts = machineFacts();
  if (!args.noFacts) printFacts(facts);
  console.log(`\n== verify ${args.quick ? '(quick)' : ''}`);

  let file = args.db;
  let build: BuildResult | null = null;
  if (!file || !existsSync(file)) {
    if (file) log(`${file} does not exist: building a ledger here`);
    file = path.join(tempDir('bulwark-bench-verify-'), 'ledger.db');
    const s = await openSqliteStore(file);
    log(`building ${SIZE.toLocaleString('en-US')} entries`);
    build = await buildLedger(s, SIZE, { batch: args.quick ? 2_000 : 10_000 });
    await s.close();
    log(`built in ${fmtMs(build.ms)}`);
  }
  const store = await openSqliteStore(file);
  onCleanup('close SQLite store', () => store.close());
  const head = await store.ledger.head();
  const n = head.size;
  assert(n > 1, 'empty ledger');
  log(`ledger of ${n.toLocaleString('en-US')} entries at ${file}`);

  // The floor's input, built from the stored entries: 0x00 ‖ leafInput(entry), back to back.
  const raw = new Database(file, { readonly: true });
  onCleanup('close SQLite read handle', () => void raw.close());
  const scan = raw.prepare(SCAN_SQL);
  const entries: StoredEntry[] = new Array(n);
  const leaves: (Hash | undefined)[] = new Array(n);
  const interiors: Buffer[] = new Array(n);
  const inputs: Buffer[] = new Array(n);
  let total = 0;
  for (let next = 0; next < n;) {
    const rows = scan.all(next, 5000) as Row[];
    for (const r of rows) {
      const e: StoredEntry = { seq: Number(r.seq), time: r.time, actor: r.actor, kind: r.kind, subject: r.subject, dataJson: r.data };
      entries[e.seq] = e;
      leaves[e.seq] = r.tree.length >= 32 ? r.tree.subarray(0, 32) : undefined;
      interiors[e.seq] = r.tree.subarray(32);
      const inp = leafInput(e);
      inputs[e.seq] = inp;
      total += inp.length + 1;
    }
    next = Number(rows[rows.length - 1]!.seq) + 1;
  }
  const big = Buffer.allocUnsafe(total);
  const offsets = new Float64Array(n + 1);
  let off = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = off;
    big[off] = 0x00;
    inputs[i]!.copy(big, off + 1);
    off += inputs[i]!.length + 1;
  }
  offsets[n] = off;
  const meanLeafBytes = total / n;
  inputs.length = 0;

  const node65 = Buffer.alloc(65, 0xab);
  node65[0] = 0x01;
  /** CPU time of this process (all threads), ms: steadier than wall time when others load the machine. */
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const floorOnce = (): { wall: number; cpu: number } => {
    const c = cpuNow();
    const t = now();
    let x = 0;
    for (let i = 0; i < n; i++)
      x ^= createHash('sha256')
        .update(big.subarray(offsets[i], offsets[i + 1]))
        .digest()[0]!;
    for (let i = 0; i < n - 1; i++) x ^= createHash('sha256').update(node65).digest()[0]!;
    const wall = now() - t;
    if (x === 256) console.log('unreachable'); // keep the digests live
    return { wall, cpu: cpuNow() - c };
  };
  /** `parallel` undefined: what verifyStore picks by itself for this size. */
  const verifyOnce = async (parallel?: boolean): Promise<{ wall: number; cpu: number }> => {
    const c = cpuNow();
    const t = now();
    const report = await verifyStore(store, parallel === undefined ? {} : { parallel });
    const wall = now() - t;
    const cpu = cpuNow() - c;
    assert(report.ok && report.entriesChecked === n, `verifyStore: ${report.message}`);
    return { wall, cpu };
  };

  // Interleaved rounds of the real thing, the path it did not pick, and the floor.
  const defaultParallel = n >= PARALLEL_MIN_ENTRIES;
  const otherPath = defaultParallel ? 'one thread (parallel: false)' : 'hashing on a second thread (parallel: true)';
  const otherMs: number[] = [];
  const verifyMs: number[] = [];
  const floorMs: number[] = [];
  const verifyCpuMs: number[] = [];
  const floorCpuMs: number[] = [];
  floorOnce(); // warm-up (JIT, crypto)
  for (let r = 0; r < ROUNDS; r++) {
    await settle();
    const v = await verifyOnce();
    await settle();
    const o = await verifyOnce(!defaultParallel);
    await settle();
    const f = floorOnce();
    otherMs.push(o.wall);
    verifyMs.push(v.wall);
    verifyCpuMs.push(v.cpu);
    floorMs.push(f.wall);
    floorCpuMs.push(f.cpu);
    log(
      `round ${r + 1}: verifyStore ${fmtMs(v.wall)} (CPU ${fmtMs(v.cpu)}), ${otherPath} ${fmtMs(o.wall)}, floor ${fmtMs(f.wall)} (CPU ${fmtMs(f.cpu)})`,
    );
  }
  const vMs = median(verifyMs);
  const fMs = median(floorMs);
  const verifyRate = n / (vMs / 1000);
  const floorRate = n / (fMs / 1000);
  // Paired per round (the two runs of a round are seconds apart), then the median.
  const perRound = verifyMs.map((v, i) => floorMs[i]! / v);
  const ratio = median(perRound);
  const cpuRatio = median(verifyCpuMs.map((v, i) => floorCpuMs[i]! / v));
  const otherRatio = median(otherMs.map((v, i) => floorMs[i]! / v));

  // ---- Where verifyStore's time goes.
  await settle();
  // (1) Reading: the store's scan consumed with nothing done per row; and the same query
  // through better-sqlite3 alone.
  let t = now();
  let count = 0;
  for await (const row of store.ledger.scan(0, undefined)) if (row.entry) count += 1;
  const readStoreMs = now() - t;
  assert(count === n, `scan returned ${count} rows`);
  await settle();
  t = now();
  count = 0;
  for (let next = 0; next < n;) {
    const rows = scan.all(next, 5000) as Row[];
    count += rows.length;
    next = Number(rows[rows.length - 1]!.seq) + 1;
  }
  const readDriverMs = now() - t;
  // (2) The verifier alone, over the entries and stored leaf hashes already in memory.
  await settle();
  t = now();
  const v = new LogVerifier({ checkpoints: [], trustedKeys: [], head });
  for (let i = 0; i < n; i++) v.push(entries[i]!, leaves[i], interiors[i]);
  const rep = v.finish();
  const verifierMs = now() - t;
  assert(rep.ok, `in-memory verifier: ${rep.message}`);
  // (3) The verifier's steps.
  await settle();
  t = now();
  const ins: string[] = new Array(n);
  for (let i = 0; i < n; i++) ins[i] = leafText(entries[i]!);
  const leafInputMs = now() - t;
  await settle();
  t = now();
  const hs: Hash[] = new Array(n);
  for (let i = 0; i < n; i++) hs[i] = leafHashOfText(ins[i]!);
  const leafHashMs = now() - t;
  await settle();
  t = now();
  const cr = new CompactRange();
  for (let i = 0; i < n; i++) cr.push(hs[i]!);
  const root = cr.root();
  const interiorMs = now() - t;
  assert(root.equals(head.root), 'recomputed root differs from the head');
  await settle();
  // (4) The floor's halves, for comparison with (3).
  t = now();
  for (let i = 0; i < n; i++)
    createHash('sha256')
      .update(big.subarray(offsets[i], offsets[i + 1]))
      .digest();
  const floorLeafMs = now() - t;
  t = now();
  for (let i = 0; i < n - 1; i++) createHash('sha256').update(node65).digest();
  const floorInteriorMs = now() - t;
  // A stricter floor: crypto.hash() (one-shot, Node ≥ 20.12) skips the Hash object.
  let oneShotMs: number | null = null;
  if (typeof crypto.hash === 'function') {
    await settle();
    t = now();
    for (let i = 0; i < n; i++) crypto.hash('sha256', big.subarray(offsets[i], offsets[i + 1]), 'buffer');
    for (let i = 0; i < n - 1; i++) crypto.hash('sha256', node65, 'buffer');
    oneShotMs = now() - t;
  }

  const per = (ms: number) => `${((ms * 1000) / n).toFixed(2)} µs`;
  printTable(
    `Full verification of ${n.toLocaleString('en-US')} entries (SQLite) vs its SHA-256 floor; times are medians of ${ROUNDS} interleaved rounds`,
    ['what', 'time', 'entries/s', 'per entry'],
    [
      [
        `verifyStore (read + verify; ${defaultParallel ? 'hashing on a second thread' : 'one thread'} at this size)`,
        fmtMs(vMs),
        fmtRate(verifyRate),
        per(vMs),
      ],
      [`  the other path: ${otherPath}`, fmtMs(median(otherMs)), fmtRate(n / (median(otherMs) / 1000)), per(median(otherMs))],
      [
        `floor: ${n} leaf + ${n - 1} interior SHA-256 (node:crypto, leaf input ${meanLeafBytes.toFixed(0)} B mean)`,
        fmtMs(fMs),
        fmtRate(floorRate),
        per(fMs),
      ],
      [
        'ratio = verify speed / floor speed, median of per-round ratios (goal ≥ 0.5)',
        fmtRatio(ratio),
        ratio >= 0.5 ? 'met' : 'MISSED',
        `rounds: ${perRound.map(fmtRatio).join(' ')}`,
      ],
      [
        `  the other path's ratio (${otherPath})`,
        fmtRatio(otherRatio),
        '',
        `rounds: ${otherMs.map((v, i) => fmtRatio(floorMs[i]! / v)).join(' ')}`,
      ],
      [
        'the same ratio in CPU time (floor CPU / verify CPU; less sensitive to other load)',
        fmtRatio(cpuRatio),
        '',
        `CPU: verify ${fmtMs(median(verifyCpuMs))}, floor ${fmtMs(median(floorCpuMs))}`,
      ],
    ],
  );
  printTable(
    'Where verifyStore spends its time (each measured alone, full ledger)',
    ['part', 'time', 'per entry', 'share of verifyStore'],
    [
      [
        'read: store.ledger.scan consumed, nothing done per row',
        fmtMs(readStoreMs),
        per(readStoreMs),
        `${Math.round((readStoreMs / vMs) * 100)}%`,
      ],
      [
        '  of which the same query through better-sqlite3 alone',
        fmtMs(readDriverMs),
        per(readDriverMs),
        `${Math.round((readDriverMs / vMs) * 100)}%`,
      ],
      [
        'verify: LogVerifier over entries already in memory',
        fmtMs(verifierMs),
        per(verifierMs),
        `${Math.round((verifierMs / vMs) * 100)}%`,
      ],
      ['  leafText() (the JCS text of the entry)', fmtMs(leafInputMs), per(leafInputMs), ''],
      ['  leafHashOfText() (one-shot SHA-256 over 0x00 ‖ UTF-8)', fmtMs(leafHashMs), per(leafHashMs), ''],
      ['  CompactRange.push (nodeHash: one-shot SHA-256 over 65 B)', fmtMs(interiorMs), per(interiorMs), ''],
      ['floor leaf hashes (1 update over 0x00‖input)', fmtMs(floorLeafMs), per(floorLeafMs), ''],
      ['floor interior hashes (1 update over 65 B)', fmtMs(floorInteriorMs), per(floorInteriorMs), ''],
      ...(oneShotMs === null
        ? []
        : [['stricter floor: the same hashes with crypto.hash() one-shot', fmtMs(oneShotMs), per(oneShotMs), '']]),
    ],
  );

  writeJson('verify', {
    quick: args.quick,
    facts,
    size: n,
    build,
    rounds: ROUNDS,
    verifyStoreMs: verifyMs,
    floorMs,
    verifyStoreCpuMs: verifyCpuMs,
    verifyStoreParallel: defaultParallel,
    otherPathMs: otherMs,
    otherPathRatio: otherRatio,
    floorCpuMs,
    cpuRatio,
    verifyEntriesPerSec: verifyRate,
    floorEntriesPerSec: floorRate,
    ratio,
    perRoundRatio: perRound,
    goalRatioAtLeastHalf: ratio >= 0.5,
    meanLeafInputBytes: meanLeafBytes,
    split: {
      readStoreMs,
      readDriverMs,
      verifierMs,
      leafInputMs,
      leafHashMs,
      interiorMs,
      floorLeafMs,
      floorInteriorMs,
      oneShotFloorMs: oneShotMs,
    },
  });
});
