/** Table types for kysely. One schema serves SQLite and PostgreSQL. */
export interface LedgerEntriesTable {
  seq: number;
  time: string;
  actor: string;
  kind: string;
  subject: string;
  /** Canonical JSON text: exactly the bytes hashed into the leaf. */
  data: string;
}

export interface LedgerNodesTable {
  /** In-order position of node (level, index): index·2^(level+1) + 2^level − 1. */
  pos: number;
  hash: Buffer;
}

export interface LedgerHeadTable {
  id: number;
  size: number;
  root: Buffer;
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

export interface TokensTable {
  id: string;
  name: string;
  hash: Buffer;
  principal_id: string;
  principal_kind: string;
  scopes: string;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface Database {
  ledger_entries: LedgerEntriesTable;
  ledger_nodes: LedgerNodesTable;
  ledger_head: LedgerHeadTable;
  ledger_checkpoints: LedgerCheckpointsTable;
  ledger_keys: LedgerKeysTable;
  tokens: TokensTable;
  bulwark_meta: MetaTable;
}

/** Tables in dependency order, for backup and restore. */
export const TABLES: readonly (keyof Database)[] = [
  'bulwark_meta',
  'ledger_keys',
  'ledger_head',
  'ledger_entries',
  'ledger_nodes',
  'ledger_checkpoints',
  'tokens',
];
