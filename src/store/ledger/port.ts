/** The ledger's port: entries and the Merkle tree, checkpoints, signing keys; and the installation's settings (meta). */
import type { LedgerEntry, NewEntry, StoredEntry } from '../../core/ledger/entry.ts';
import type { Hash, NodeId } from '../../core/ledger/merkle.ts';

export interface LedgerHead {
  size: number;
  root: Hash;
  /** The compact range the next append extends: perfect-subtree hashes, largest first. */
  frontier: Hash[];
}

export interface CheckpointRecord {
  size: number;
  keyId: string;
  root: Hash;
  time: string;
  note: string;
}

export interface LedgerKeyRecord {
  keyId: string;
  name: string;
  /** Raw Ed25519 public key, base64. */
  publicKey: string;
  createdAt: string;
  retiredAt: string | null;
}

export interface EntryPage {
  from?: number;
  limit: number;
  order: 'asc' | 'desc';
  kind?: string;
}

/** A stored entry row as `LedgerRepo.scanRows` yields it. */
export interface ScannedRow extends StoredEntry {
  tree: Uint8Array;
}

export interface LedgerRepo {
  /**
   * Append entries at the end of the log and extend the Merkle tree, in the caller's
   * transaction when called on a transaction's repos. Appends are serialized across processes
   * by a row lock on the tree head. Entries without `time` get `now`.
   */
  append(entries: readonly NewEntry[], now: string): Promise<LedgerEntry[]>;
  head(): Promise<LedgerHead>;
  page(q: EntryPage): Promise<StoredEntry[]>;
  /**
   * Entries [from, to) in order, in batches, each with its stored leaf hash if there is one and
   * the interior nodes its append completed (32 bytes each, lowest level first).
   */
  scan(
    from: number,
    to: number | undefined,
    batch?: number,
  ): AsyncIterable<{ entry: StoredEntry; leaf: Hash | undefined; interior: Uint8Array }>;
  /**
   * The same rows a batch at a time, each the entry with its stored `tree` (leaf hash, then the
   * interior nodes, 32 bytes each): cheaper per entry, for full verification. Optional.
   */
  scanRows(from: number, to: number | undefined, batch?: number): AsyncIterable<ScannedRow[]>;
  /** Stored perfect-subtree hashes, in one query. Missing nodes are absent from the map. */
  nodes(ids: readonly NodeId[]): Promise<Map<string, Hash>>;
  addCheckpoint(c: CheckpointRecord): Promise<void>;
  latestCheckpoint(): Promise<CheckpointRecord | undefined>;
  checkpoints(): Promise<CheckpointRecord[]>;
  addKey(k: LedgerKeyRecord): Promise<void>;
  retireKey(keyId: string, at: string): Promise<void>;
  keys(): Promise<LedgerKeyRecord[]>;
}

export interface MetaRepo {
  get(key: string): Promise<string | undefined>;
  /** Insert when absent; returns the value now stored (the existing one if there was one). */
  putIfAbsent(key: string, value: string): Promise<string>;
  /** Insert or replace. */
  put(key: string, value: string): Promise<void>;
}

declare module '../store.ts' {
  interface Repos {
    ledger: LedgerRepo;
    meta: MetaRepo;
  }
}
