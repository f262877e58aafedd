/** The ledger's tables, and the installation's settings (bulwark_meta). */
export interface LedgerEntriesTable {
  seq: number;
  time: string;
  actor: string;
  kind: string;
  subject: string;
  /** Canonical JSON text: exactly the bytes hashed into the leaf. */
  data: string;
  /** The leaf hash, then the interior nodes this entry's append completed (ledger/tree-layout.ts). */
  tree: Buffer;
}

export interface LedgerHeadTable {
  id: number;
  size: number;
  root: Buffer;
  /** The compact range: the perfect-subtree hashes of the tree, largest first, 32 bytes each. */
  frontier: Buffer;
}

export interface LedgerCheckpointsTable {
  size: number;
  key_id: string;
  root: Buffer;
  time: string;
  note: string;
}

export interface LedgerKeysTable {
  key_id: string;
  name: string;
  public_key: string;
  created_at: string;
  retired_at: string | null;
}

export interface MetaTable {
  key: string;
  value: string;
}

declare module '../schema.ts' {
  interface Database {
    ledger_entries: LedgerEntriesTable;
    ledger_head: LedgerHeadTable;
    ledger_checkpoints: LedgerCheckpointsTable;
    ledger_keys: LedgerKeysTable;
    bulwark_meta: MetaTable;
  }
}
