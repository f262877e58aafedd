/** Table types for kysely. One schema serves SQLite and PostgreSQL. */
export interface LedgerEntriesTable {
  seq: number;
  time: string;
  actor: string;
  kind: string;
  subject: string;
  /** Canonical JSON text: exactly the bytes hashed into the leaf. */
  data: string;
  /** The leaf hash, then the interior nodes this entry's append completed (kysely/tree-layout.ts). */
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

export interface SignalsTable {
  id: string;
  source: string;
  fingerprint: string;
  time: string;
  received_at: string;
  severity: string;
  /** JSON text of the label set. */
  labels: string;
  /** JSON text of the signal's body. */
  body: string;
  run_id: string | null;
  /** 0 or 1: one schema for both databases. */
  resolved: number;
  /** SHA-256 hex of the raw payload, the key of its signal_evidence row. */
  raw_digest: string;
}

export interface SignalEvidenceTable {
  digest: string;
  media_type: string;
  bytes: Buffer;
}

export interface SignalFileOffsetsTable {
  path: string;
  inode: string;
  offset: number;
  updated_at: string;
}

export interface ExperimentRunsTable {
  id: string;
  experiment: string;
  state: string;
  outcome: string | null;
  reason: string | null;
  started_at: string;
  ended_at: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  /** JSON text of the resolved rollback activities (may hold secrets; see RunRecord). */
  rollbacks: string;
  /** JSON text of the journal, secrets redacted. */
  journal: string;
  ttd_ms: number | null;
  /** 0 or 1: one schema for both databases. */
  dry_run: number;
}

export interface ExperimentsTable {
  name: string;
  title: string;
  description: string;
  /** JSON text of the ATT&CK technique ids. */
  techniques: string;
  /** The file as applied (it may hold inline secrets: never copy it to the ledger). */
  file: string;
  file_sha256: string;
  version: number;
  schedule_cron: string | null;
  schedule_jitter_ms: number | null;
  /** 0 or 1: the file uses process or file providers. */
  privileged: number;
  created_at: string;
  updated_at: string;
  applied_by: string;
  /**
   * Set when the experiment was deleted (migration 0006): the row stays as a tombstone, so that a
   * re-apply of the name continues its versions; `file` is then emptied.
   */
  deleted_at: string | null;
  /** Who deleted it, as the ledger writes actors (`token:ID`). */
  deleted_by: string | null;
}

export interface ExperimentScheduleClaimsTable {
  experiment: string;
  scheduled_at: string;
  claimed_by: string;
  claimed_at: string;
}

/** Per-target slots held in the database (migration 0007); not backed up: they only matter while their runs go on. */
export interface TargetSlotsTable {
  key: string;
  run_id: string;
  held_until: string;
}

export interface Database {
  ledger_entries: LedgerEntriesTable;
  ledger_head: LedgerHeadTable;
  ledger_checkpoints: LedgerCheckpointsTable;
  ledger_keys: LedgerKeysTable;
  tokens: TokensTable;
  bulwark_meta: MetaTable;
  signals: SignalsTable;
  signal_evidence: SignalEvidenceTable;
  signal_file_offsets: SignalFileOffsetsTable;
  experiment_runs: ExperimentRunsTable;
  experiments: ExperimentsTable;
  experiment_schedule_claims: ExperimentScheduleClaimsTable;
  target_slots: TargetSlotsTable;
}

/** Tables in dependency order, for backup and restore (not target_slots: held slots mean nothing once restored). */
export const TABLES: readonly (keyof Database)[] = [
  'bulwark_meta',
  'ledger_keys',
  'ledger_head',
  'ledger_entries',
  'ledger_checkpoints',
  'tokens',
  'signal_evidence',
  'signals',
  'signal_file_offsets',
  'experiment_runs',
  'experiments',
  'experiment_schedule_claims',
];
