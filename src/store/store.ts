/**
 * The persistence port: what the application needs from a database, nothing more. One
 * implementation over kysely serves SQLite and PostgreSQL; `store.contract.ts` holds the suite
 * every implementation must pass.
 */
import type { LedgerEntry, NewEntry, StoredEntry } from '../core/ledger/entry.ts';
import type { Hash, NodeId } from '../core/ledger/merkle.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface LedgerHead {
  size: number;
  root: Hash;
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

export interface LedgerRepo {
  /**
   * Append entries at the end of the log and extend the Merkle tree, in the caller's
   * transaction when called on a transaction's repos. Appends are serialized across processes
   * by a row lock on the tree head. Entries without `time` get `now`.
   */
  append(entries: readonly NewEntry[], now: string): Promise<LedgerEntry[]>;
  head(): Promise<LedgerHead>;
  page(q: EntryPage): Promise<StoredEntry[]>;
  /** Entries [from, to) in order, in batches, each with its stored leaf hash if there is one. */
  scan(from: number, to: number | undefined, batch?: number): AsyncIterable<{ entry: StoredEntry; leaf: Hash | undefined }>;
  /** Stored perfect-subtree hashes, in one query. Missing nodes are absent from the map. */
  nodes(ids: readonly NodeId[]): Promise<Map<string, Hash>>;
  addCheckpoint(c: CheckpointRecord): Promise<void>;
  latestCheckpoint(): Promise<CheckpointRecord | undefined>;
  checkpoints(): Promise<CheckpointRecord[]>;
  addKey(k: LedgerKeyRecord): Promise<void>;
  retireKey(keyId: string, at: string): Promise<void>;
  keys(): Promise<LedgerKeyRecord[]>;
}

export interface TokenRecord {
  id: string;
  name: string;
  /** SHA-256 of the whole token; the token itself is never stored. */
  hash: Buffer;
  principalId: string;
  principalKind: 'person' | 'service';
  scopes: string[];
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface TokenRepo {
  insert(t: TokenRecord): Promise<void>;
  get(id: string): Promise<TokenRecord | undefined>;
  list(): Promise<TokenRecord[]>;
  /** Sets revokedAt; false when no such unrevoked token. */
  revoke(id: string, at: string): Promise<boolean>;
}

export interface MetaRepo {
  get(key: string): Promise<string | undefined>;
  /** Insert when absent; returns the value now stored (the existing one if there was one). */
  putIfAbsent(key: string, value: string): Promise<string>;
}

export interface Repos {
  ledger: LedgerRepo;
  tokens: TokenRepo;
  meta: MetaRepo;
}

export interface DurabilitySettings {
  dialect: Dialect;
  /** SQLite: journal_mode and synchronous; PostgreSQL: synchronous_commit and fsync. */
  settings: Record<string, string>;
}

export interface Store extends Repos {
  readonly dialect: Dialect;
  /** Everything `fn` does commits together or not at all. */
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  durability(): Promise<DurabilitySettings>;
  /** Every row of every table, for backup. */
  dump(): AsyncIterable<{ table: string; row: Record<string, unknown> }>;
  /** Load rows into an empty database; refuses a database that already has entries. */
  restore(rows: AsyncIterable<{ table: string; row: Record<string, unknown> }>): Promise<{ rows: number }>;
  close(): Promise<void>;
}
