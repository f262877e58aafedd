/** Experiments' tables. */
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

declare module '../schema.ts' {
  interface Database {
    experiment_runs: ExperimentRunsTable;
    experiments: ExperimentsTable;
    experiment_schedule_claims: ExperimentScheduleClaimsTable;
    target_slots: TargetSlotsTable;
  }
}
