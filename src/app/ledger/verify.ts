/**
 * Verification of a stored ledger, and of an export file on any machine. Both feed the same
 * LogVerifier; they differ only in where entries, checkpoints and keys come from.
 */
import { parseCheckpointNote, type SignedCheckpoint, type TrustedKey } from '../../core/ledger/checkpoint.ts';
import { LogVerifier, type VerifyReport } from '../../core/ledger/verify-log.ts';
import type { LedgerRepo, Store } from '../../store/store.ts';
import { trustedFromRecords } from './key-ring.ts';

export interface VerifyOptions {
  /** A checkpoint published earlier: the log must extend it. */
  external?: SignedCheckpoint;
  /** Keys to trust instead of the ones recorded in the store (pinning). */
  trustedKeys?: TrustedKey[];
}

export async function verifyStore(store: Store, opts: VerifyOptions = {}): Promise<VerifyReport> {
  return verifyLedger(store.ledger, opts);
}

/** The same over a ledger repository, e.g. inside a transaction (restore verifies before commit). */
export async function verifyLedger(ledger: LedgerRepo, opts: VerifyOptions = {}): Promise<VerifyReport> {
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
  const v = new LogVerifier({ checkpoints, trustedKeys: trusted, head });
  // From the lowest possible seq: a row forged before 0 must show up, not hide below the scan.
  for await (const { entry, leaf, interior } of ledger.scan(Number.MIN_SAFE_INTEGER, undefined)) {
    v.push(entry, leaf, interior);
    if (!v.ok) break;
  }
  const report = v.finish();
  return bad.length > 0 && report.ok ? bad[0]! : report;
}

function failed(size: number, seq: number, reason: string): VerifyReport {
  return { ok: false, size, entriesChecked: 0, checkpointsChecked: 0, firstBad: { seq, reason }, message: `entry ${seq}: ${reason}` };
}
