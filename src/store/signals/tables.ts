/** Signals' tables. */
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

declare module '../schema.ts' {
  interface Database {
    signals: SignalsTable;
    signal_evidence: SignalEvidenceTable;
    signal_file_offsets: SignalFileOffsetsTable;
  }
}
