/** Signals' port: normalised signals, the raw payloads kept as their evidence, the log tailer's read positions. */
import type { Signal } from '../../core/signals/signal.ts';

/** A signal as stored: the normalised signal and the digest of the raw payload it came in. */
export type SignalRecord = Signal & { rawDigest: string };

/** The raw bytes of a payload, kept once whatever number of signals it held. */
export interface EvidenceRecord {
  /** SHA-256 hex of `bytes`. */
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

/** Where a page of signals ended: newest first by receipt, then by id. */
export interface SignalCursor {
  receivedAt: string;
  id: string;
}

export interface SignalQuery {
  source?: string;
  runId?: string;
  /** Received at or after this RFC 3339 time. */
  since?: string;
  /** Received at or before this RFC 3339 time. */
  until?: string;
  limit: number;
  /** Continue after this position (exclusive). */
  cursor?: SignalCursor;
}

export interface FileOffset {
  inode: string;
  offset: number;
}

export interface SignalRepo {
  /**
   * Insert signals, skipping those whose fingerprint is already stored or appears earlier in the
   * same call; one answer per input, in order: true when it was written now.
   */
  insertMany(signals: readonly SignalRecord[]): Promise<boolean[]>;
  /** Store payloads; a digest already stored is left as it is. */
  putEvidence(items: readonly EvidenceRecord[]): Promise<void>;
  get(id: string): Promise<SignalRecord | undefined>;
  /** Newest first; `next` is set when there may be more after this page. */
  list(q: SignalQuery): Promise<{ signals: SignalRecord[]; next?: SignalCursor }>;
  getEvidence(digest: string): Promise<EvidenceRecord | undefined>;
  /** How far the log tailer has read a file (see adapters/log-tailer.ts). */
  fileOffset(path: string): Promise<FileOffset | undefined>;
  saveFileOffset(path: string, position: FileOffset, at: string): Promise<void>;
}

declare module '../store.ts' {
  interface Repos {
    signals: SignalRepo;
  }
}
