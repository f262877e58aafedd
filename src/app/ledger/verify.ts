/**
 * Verification of a stored ledger, and of an export file on any machine. Both feed the same
 * LogVerifier; they differ only in where entries, checkpoints and keys come from.
 */
import type { Worker } from 'node:worker_threads';
import { asBuffer } from '../../core/bytes.ts';
import { parseCheckpointNote, type SignedCheckpoint, type TrustedKey } from '../../core/ledger/checkpoint.ts';
import { leafText, type StoredEntry } from '../../core/ledger/entry.ts';
import { LogVerifier, type LogVerifierOptions, type VerifyReport } from '../../core/ledger/verify-log.ts';
import type { Store } from '../../store/store.ts';
import type { LedgerRepo, ScannedRow } from '../../store/ledger/port.ts';
import { startTsWorker } from '../ts-worker.ts';
import { trustedFromRecords } from './key-ring.ts';
import type { FromWorker, ToWorker, VerifyBatch } from './verify-worker.ts';

export interface VerifyOptions {
  /** A checkpoint published earlier: the log must extend it. */
  external?: SignedCheckpoint;
  /** Keys to trust instead of the ones recorded in the store (pinning). */
  trustedKeys?: TrustedKey[];
  /**
   * Hash on a second thread while this one reads (the report is the same either way). Default:
   * for ledgers of PARALLEL_MIN_ENTRIES entries or more.
   */
  parallel?: boolean;
}

export async function verifyStore(store: Store, opts: VerifyOptions = {}): Promise<VerifyReport> {
  return verifyLedger(store.ledger, opts);
}

/** The same over a ledger repository, e.g. inside a transaction (restore verifies before commit). */
export async function verifyLedger(ledger: LedgerRepo, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const run = await prepare(ledger, opts);
  if (opts.parallel ?? run.size >= PARALLEL_MIN_ENTRIES) {
    try {
      return run.result(await verifyOnWorker(ledger, run.vopts));
    } catch (e) {
      // Where no thread can be started (or it cannot load its code), verify here instead.
      if (!(e instanceof WorkerUnavailable)) throw e;
    }
  }
  return run.result(await verifyHere(ledger, run.vopts));
}

/**
 * verifyLedger on the path given, without falling back: for tests that compare the two. `worker`
 * throws when the thread cannot be used.
 */
export async function verifyLedgerOn(where: 'here' | 'worker', ledger: LedgerRepo, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const run = await prepare(ledger, opts);
  return run.result(await (where === 'worker' ? verifyOnWorker : verifyHere)(ledger, run.vopts));
}

/** The verifier's options from the store's head, keys and checkpoints, and how to report. */
async function prepare(
  ledger: LedgerRepo,
  opts: VerifyOptions,
): Promise<{ size: number; vopts: LogVerifierOptions; result: (report: VerifyReport) => VerifyReport }> {
  const head = await ledger.head();
  const trusted = opts.trustedKeys ?? trustedFromRecords(await ledger.keys());
  const checkpoints: SignedCheckpoint[] = [];
  const bad: VerifyReport[] = [];
  for (const c of await ledger.checkpoints()) {
    const p = parseCheckpointNote(c.note);
    if (!p.ok) {
      bad.push(failed(head.size, Math.max(0, c.size - 1), `stored checkpoint at size ${c.size} is malformed: ${p.reason}`));
      continue;
    }
    if (p.value.size !== c.size || !p.value.root.equals(c.root)) {
      bad.push(failed(head.size, Math.max(0, c.size - 1), `stored checkpoint at size ${c.size} disagrees with its signed note`));
      continue;
    }
    checkpoints.push(p.value);
  }
  if (opts.external) checkpoints.push(opts.external);
  return {
    size: head.size,
    vopts: { checkpoints, trustedKeys: trusted, head },
    result: (report) => (bad.length > 0 && report.ok ? bad[0]! : report),
  };
}

/**
 * From this many entries on, verification hashes on a second thread while this one reads: reading
 * costs about as much as hashing, so the two overlap. Below it, starting the thread (about 0.25 s)
 * costs more than it saves; measured on 2 cores, the two paths break even at 60,000–80,000 entries.
 */
export const PARALLEL_MIN_ENTRIES = 75_000;
/** Rows per query and per batch handed to the hashing thread. */
const BATCH = 4000;
/** Batches read ahead of the hashing thread at most: bounds memory to a few MB. */
const IN_FLIGHT = 3;
/**
 * While the thread starts (a quarter of a second, most of it loading tsx), read further ahead, so
 * that its start overlaps reading instead of adding to it: about 20 MB at most.
 */
const IN_FLIGHT_WHILE_STARTING = 16;
/** Bytes per stored tree node. */
const HASH_BYTES = 32;
/** From the lowest possible seq: a row forged before 0 must show up, not hide below the scan. */
const SCAN_FROM = Number.MIN_SAFE_INTEGER;

/** The single-threaded path. */
async function verifyHere(ledger: LedgerRepo, vopts: LogVerifierOptions): Promise<VerifyReport> {
  const v = new LogVerifier(vopts);
  scan: for await (const rows of ledger.scanRows(SCAN_FROM, undefined, BATCH)) {
    for (const r of rows) {
      const tree = asBuffer(r.tree);
      v.push(r, tree.length >= HASH_BYTES ? tree.subarray(0, HASH_BYTES) : undefined, tree.subarray(HASH_BYTES));
      if (!v.ok) break scan;
    }
  }
  return v.finish();
}

/** The hashing thread could not be started or could not load its code. */
class WorkerUnavailable extends Error {}

/** Read and pack here, hash on a worker thread running the same LogVerifier; the same report. */
async function verifyOnWorker(ledger: LedgerRepo, vopts: LogVerifierOptions): Promise<VerifyReport> {
  let worker: Worker;
  try {
    worker = startTsWorker(new URL('./verify-worker.ts', import.meta.url), { workerData: { bulwarkVerify: vopts } });
  } catch (e) {
    throw new WorkerUnavailable(String(e), { cause: e });
  }
  let ready = false;
  let acked = 0;
  let ok = true;
  let report: VerifyReport | null = null;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const fail = (e: Error) => {
    failure ??= ready
      ? new Error(`ledger verification thread failed: ${e.message}`, { cause: e })
      : new WorkerUnavailable(e.message, { cause: e });
    notify();
  };
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'ready') ready = true;
    else if (m.type === 'ack') {
      acked += 1;
      ok = m.ok;
    } else report = m.report;
    notify();
  });
  worker.on('error', fail);
  worker.on('messageerror', fail);
  worker.on('exit', (code) => {
    if (!report) fail(new Error(`it exited with code ${code} before reporting`));
  });
  const until = async (done: () => boolean) => {
    for (;;) {
      if (failure) throw failure;
      if (done()) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  try {
    let posted = 0;
    const post = async (p: Packer) => {
      const b = p.take();
      const buffers = [b.seqs, b.inputs, b.inputEnds, b.hasLeaf, b.trees, b.treeEnds].map((a) => a.buffer as ArrayBuffer);
      worker.postMessage(b, buffers);
      posted += 1;
      await until(() => posted - acked < (ready ? IN_FLIGHT : IN_FLIGHT_WHILE_STARTING));
    };
    for await (const rows of ledger.scanRows(SCAN_FROM, undefined, BATCH)) {
      const p = new Packer(rows.length);
      for (const r of rows) p.addRow(r);
      await post(p);
      if (!ok) break;
    }
    worker.postMessage({ type: 'finish' } satisfies ToWorker);
    await until(() => report !== null);
    return report!;
  } finally {
    await worker.terminate();
  }
}

/** One batch for the hashing thread, in buffers of its own (they are transferred, not copied). */
class Packer {
  count = 0;
  private readonly seqs: Float64Array;
  private readonly inputEnds: Uint32Array;
  private readonly hasLeaf: Uint8Array;
  private readonly treeEnds: Uint32Array;
  private inputs: Buffer;
  private inputEnd = 0;
  private trees: Buffer;
  private treeEnd = 0;

  constructor(private readonly capacity: number) {
    this.seqs = new Float64Array(capacity);
    this.inputEnds = new Uint32Array(capacity);
    this.hasLeaf = new Uint8Array(capacity);
    this.treeEnds = new Uint32Array(capacity);
    // Room for typical entries (a few hundred bytes, a leaf and about one interior node); grown on demand.
    this.inputs = Buffer.allocUnsafeSlow(Math.max(1, capacity) * 512);
    this.trees = Buffer.allocUnsafeSlow(Math.max(1, capacity) * 3 * HASH_BYTES);
  }

  /** A row as read: its tree is the stored leaf hash (when 32 bytes or more) then the interior nodes. */
  addRow(r: ScannedRow): void {
    const tree = r.tree;
    if (tree.length >= HASH_BYTES) this.push(r, 1, tree);
    else this.push(r, 0, EMPTY);
  }

  private push(entry: StoredEntry, hasLeaf: 0 | 1, tree: Uint8Array): void {
    if (this.count === this.capacity) throw new Error('batch is full');
    const i = this.count++;
    this.seqs[i] = entry.seq;
    const text = leafText(entry);
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.inputEnd + 1 + 3 * text.length > this.inputs.length) this.inputs = grow(this.inputs, this.inputEnd, 1 + 3 * text.length);
    const inputs = this.inputs;
    inputs[this.inputEnd] = 0x00;
    this.inputEnd += 1 + inputs.write(text, this.inputEnd + 1);
    this.inputEnds[i] = this.inputEnd;
    this.hasLeaf[i] = hasLeaf;
    if (this.treeEnd + tree.length > this.trees.length) this.trees = grow(this.trees, this.treeEnd, tree.length);
    this.trees.set(tree, this.treeEnd);
    this.treeEnd += tree.length;
    this.treeEnds[i] = this.treeEnd;
  }

  take(): VerifyBatch {
    return {
      type: 'batch',
      count: this.count,
      seqs: this.seqs,
      inputs: this.inputs.subarray(0, this.inputEnd),
      inputEnds: this.inputEnds,
      hasLeaf: this.hasLeaf,
      trees: this.trees.subarray(0, this.treeEnd),
      treeEnds: this.treeEnds,
    };
  }
}

const EMPTY = new Uint8Array(0);

function grow(b: Buffer, used: number, more: number): Buffer {
  const out = Buffer.allocUnsafeSlow(Math.max(b.length * 2, used + more));
  b.copy(out, 0, 0, used);
  return out;
}

function failed(size: number, seq: number, reason: string): VerifyReport {
  return { ok: false, size, entriesChecked: 0, checkpointsChecked: 0, firstBad: { seq, reason }, message: `entry ${seq}: ${reason}` };
}
