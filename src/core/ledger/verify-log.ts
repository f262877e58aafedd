/**
 * Full verification of a log from its entries: recompute every leaf, compare it with the stored
 * tree, recompute the root at every checkpoint size and at the head, and check checkpoint
 * signatures. Fed entries in order, so it runs in constant memory over any number of entries.
 */
import { leafText, type StoredEntry } from './entry.ts';
import { CompactRange, leafHashOfText, type Hash } from './merkle.ts';
import { verifyCheckpointSignature, type SignedCheckpoint, type TrustedKey } from './checkpoint.ts';

export interface BadEntry {
  seq: number;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  size: number;
  entriesChecked: number;
  checkpointsChecked: number;
  firstBad: BadEntry | null;
  message: string;
}

export interface LogVerifierOptions {
  /** Checkpoints to check against, any order. */
  checkpoints: readonly SignedCheckpoint[];
  trustedKeys: readonly TrustedKey[];
  /** Start after a known prefix (an export from seq N carries the compact range of [0, N)). */
  prefix?: { size: number; hashes: Hash[] };
  /** The head the store claims; its size, root and (when given) compact range must match what is recomputed. */
  head?: { size: number; root: Hash; frontier?: readonly Hash[] };
}

export class LogVerifier {
  private readonly range: CompactRange;
  private readonly pending: SignedCheckpoint[];
  private readonly start: number;
  private firstBad: BadEntry | null = null;
  private checkpointsChecked = 0;
  /** The largest size at which the recomputed tree matched a signed checkpoint. */
  private lastGood = 0;

  constructor(private readonly opts: LogVerifierOptions) {
    this.range = opts.prefix ? CompactRange.from(opts.prefix.hashes, opts.prefix.size) : new CompactRange();
    this.start = this.range.size;
    this.lastGood = this.start;
    this.pending = [...opts.checkpoints].sort((a, b) => a.size - b.size);
    for (const c of this.pending) {
      const sig = verifyCheckpointSignature(c, opts.trustedKeys);
      if (!sig.ok) this.fail({ seq: Math.max(0, c.size - 1), reason: `checkpoint at size ${c.size}: ${sig.reason}` });
    }
    // Checkpoints inside the prefix cannot be recomputed here; the last one can be matched.
    while (this.pending.length > 0 && this.pending[0]!.size < this.start) this.pending.shift();
    this.checkAt(this.start);
  }

  get ok(): boolean {
    return this.firstBad === null;
  }

  /**
   * Feed the next stored entry and, where the store has them, its stored leaf hash and the
   * interior nodes its append completed (checked against the recomputed tree: proofs are served
   * from them).
   */
  push(entry: StoredEntry, storedLeaf: Hash | undefined, storedInterior?: Uint8Array): void {
    if (this.firstBad) return;
    if (entry.seq !== this.range.size) this.outOfOrder(entry.seq);
    else this.accept(entry.seq, leafHashOfText(leafText(entry)), storedLeaf, storedInterior);
  }

  /**
   * `push` for a caller that hashed the entry itself: `leaf` must be SHA-256(0x00 ‖ UTF-8 of
   * leafText(entry)), i.e. what `push` computes. The checks and the report are the same.
   */
  pushLeaf(seq: number, leaf: Hash, storedLeaf: Hash | undefined, storedInterior?: Uint8Array): void {
    if (this.firstBad) return;
    if (seq !== this.range.size) this.outOfOrder(seq);
    else this.accept(seq, leaf, storedLeaf, storedInterior);
  }

  private outOfOrder(seq: number): void {
    const expected = this.range.size;
    this.fail(
      seq > expected
        ? { seq: expected, reason: `entry ${expected} is missing (the next stored entry is ${seq}): deleted` }
        : expected === 0
          ? { seq, reason: `entry ${seq} lies before the start of the log: inserted` }
          : { seq, reason: `entry ${seq} appears again after entry ${expected - 1}: inserted or reordered` },
    );
  }

  /** The next entry in order, with its recomputed leaf hash. */
  private accept(seq: number, leaf: Hash, storedLeaf: Hash | undefined, storedInterior: Uint8Array | undefined): void {
    if (storedLeaf === undefined && this.opts.head && seq >= this.opts.head.size) {
      this.fail({ seq, reason: `entry ${seq} lies beyond the tree head (${this.opts.head.size}): inserted` });
      return;
    }
    if (storedLeaf !== undefined && !storedLeaf.equals(leaf)) {
      this.fail({
        seq,
        reason: `entry ${seq} does not match its leaf hash in the tree: altered, or moved from another position`,
      });
      return;
    }
    if (storedInterior === undefined) {
      this.range.push(leaf);
    } else {
      const level = this.range.pushChecked(leaf, storedInterior);
      if (level !== 0) {
        this.fail({
          seq,
          reason: `entry ${seq} holds a wrong tree node at level ${level}: the tree was altered, so proofs served from it would fail`,
        });
        return;
      }
    }
    this.checkAt(this.range.size);
  }

  private checkAt(size: number): void {
    while (this.pending.length > 0 && this.pending[0]!.size === size) {
      const c = this.pending.shift()!;
      this.checkpointsChecked += 1;
      if (this.firstBad) continue;
      if (!this.range.root().equals(c.root)) {
        this.fail(
          this.lastGood >= size
            ? {
                seq: size - 1,
                reason: `two signed checkpoints at size ${size} disagree and the log matches the other one: one of them was forged, or the log rewritten and re-signed`,
              }
            : {
                seq: this.lastGood,
                reason: `entries ${this.lastGood}..${size - 1} do not match the signed checkpoint at size ${size}: rewritten`,
              },
        );
      } else {
        this.lastGood = size;
      }
    }
  }

  private fail(bad: BadEntry): void {
    if (!this.firstBad) this.firstBad = bad;
  }

  /** Close the run: checkpoints beyond the log and the head are checked here. */
  finish(): VerifyReport {
    const size = this.range.size;
    for (const c of this.pending) {
      this.checkpointsChecked += 1;
      this.fail({
        seq: size,
        reason: `a signed checkpoint covers ${c.size} entries but only ${size} exist: entries ${size}..${c.size - 1} were deleted`,
      });
    }
    this.pending.length = 0;
    const head = this.opts.head;
    if (head && !this.firstBad) {
      if (head.size > size) this.fail({ seq: size, reason: `the tree head covers ${head.size} entries but only ${size} exist: deleted` });
      else if (!head.root.equals(this.range.root()))
        this.fail({ seq: this.lastGood, reason: `the stored tree head does not match entries ${this.lastGood}..${size - 1}: rewritten` });
      else if (head.frontier && !sameHashes(head.frontier, this.range.hashes()))
        this.fail({
          seq: Math.max(0, size - 1),
          reason: `the stored compact range of the tree head does not match the entries: the next append would extend a wrong tree`,
        });
    }
    const entriesChecked = size - this.start;
    const ok = this.firstBad === null;
    const bad = this.firstBad;
    const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
    return {
      ok,
      // The size of the log as stored, not how far verification got before a failure.
      size: Math.max(size, head?.size ?? 0),
      entriesChecked,
      checkpointsChecked: this.checkpointsChecked,
      firstBad: bad,
      message: !bad
        ? `intact: ${count(entriesChecked, 'entry', 'entries')} and ${count(this.checkpointsChecked, 'checkpoint', 'checkpoints')} verified`
        : bad.reason.startsWith(`entry ${bad.seq} `)
          ? bad.reason
          : `entry ${bad.seq}: ${bad.reason}`,
    };
  }

  root(): Hash {
    return this.range.root();
  }

  get size(): number {
    return this.range.size;
  }
}

function sameHashes(a: readonly Hash[], b: readonly Hash[]): boolean {
  return a.length === b.length && a.every((h, i) => h.equals(b[i]!));
}
