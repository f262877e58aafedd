/**
 * The hashing side of full verification on its own thread (verify.ts `verifyLedger`): the main
 * thread reads rows and packs each entry's leaf input, 0x00 ‖ UTF-8(leafText(entry)), and its
 * stored tree bytes into batches; this thread hashes them and runs the same LogVerifier over
 * them, so the report is the one the single-threaded path gives.
 *
 * Messages in: a `VerifyBatch`, then `{ type: 'finish' }`. Out: `ready` once the verifier is
 * built, an `ack` per batch (with whether everything so far verified), and the report.
 */
import { hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
// A structured clone turns Buffers into Uint8Arrays: `buf` views the same bytes as a Buffer again.
import { asBuffer as buf } from '../../core/bytes.ts';
import type { SignedCheckpoint, TrustedKey } from '../../core/ledger/checkpoint.ts';
import type { Hash } from '../../core/ledger/merkle.ts';
import { LogVerifier, type LogVerifierOptions, type VerifyReport } from '../../core/ledger/verify-log.ts';

/** Entries packed back to back; offsets are ends (an entry starts where the previous one ends). */
export interface VerifyBatch {
  type: 'batch';
  count: number;
  seqs: Float64Array;
  /** 0x00 ‖ UTF-8(leafText(entry)) per entry. */
  inputs: Uint8Array;
  inputEnds: Uint32Array;
  /** 1 when the entry has a stored leaf hash: its tree bytes then start with it. */
  hasLeaf: Uint8Array;
  /** The stored leaf hash (when there is one), then the stored interior nodes. */
  trees: Uint8Array;
  treeEnds: Uint32Array;
}

export type ToWorker = VerifyBatch | { type: 'finish' };
export type FromWorker = { type: 'ready' } | { type: 'ack'; ok: boolean } | { type: 'report'; report: VerifyReport };

function reviveOptions(o: LogVerifierOptions): LogVerifierOptions {
  const checkpoints: SignedCheckpoint[] = o.checkpoints.map((c) => ({
    ...c,
    root: buf(c.root),
    signatures: c.signatures.map((s) => ({ ...s, keyId: buf(s.keyId), signature: buf(s.signature) })),
  }));
  const trustedKeys: TrustedKey[] = o.trustedKeys.map((k) => ({ ...k, publicKey: buf(k.publicKey) }));
  const hashes = (l: readonly Hash[]) => l.map(buf);
  return {
    checkpoints,
    trustedKeys,
    ...(o.prefix ? { prefix: { size: o.prefix.size, hashes: hashes(o.prefix.hashes) } } : {}),
    ...(o.head
      ? { head: { size: o.head.size, root: buf(o.head.root), ...(o.head.frontier ? { frontier: hashes(o.head.frontier) } : {}) } }
      : {}),
  };
}

/** Feed one batch to the verifier, stopping at the first failure as the single-threaded path does. */
export function verifyBatch(v: LogVerifier, b: VerifyBatch): void {
  const inputs = buf(b.inputs);
  const trees = buf(b.trees);
  const { count, seqs, inputEnds, hasLeaf, treeEnds } = b;
  let start = 0;
  let treeStart = 0;
  for (let i = 0; i < count && v.ok; i++) {
    const end = inputEnds[i]!;
    const leaf = hash('sha256', inputs.subarray(start, end), 'buffer');
    start = end;
    const treeEnd = treeEnds[i]!;
    if (hasLeaf[i] === 1) v.pushLeaf(seqs[i]!, leaf, trees.subarray(treeStart, treeStart + 32), trees.subarray(treeStart + 32, treeEnd));
    else v.pushLeaf(seqs[i]!, leaf, undefined, trees.subarray(treeStart, treeEnd));
    treeStart = treeEnd;
  }
}

if (parentPort && (workerData as { bulwarkVerify?: unknown } | undefined)?.bulwarkVerify) {
  const port = parentPort;
  const v = new LogVerifier(reviveOptions((workerData as { bulwarkVerify: LogVerifierOptions }).bulwarkVerify));
  const send = (m: FromWorker) => port.postMessage(m);
  port.on('message', (m: ToWorker) => {
    if (m.type === 'batch') {
      verifyBatch(v, m);
      send({ type: 'ack', ok: v.ok });
    } else {
      send({ type: 'report', report: v.finish() });
      port.close();
    }
  });
  send({ type: 'ready' });
}
