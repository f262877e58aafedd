/** Playbooks' tables (migrations 0015, 0016, 0023 and 0028). */
export interface PlaybooksTable {
  name: string;
  /** The current version. */
  version: number;
  title: string;
  file: string;
  file_sha256: string;
  created_at: string;
  updated_at: string;
  applied_by: string;
  /** The principal id of who applied the current version (null before migration 0028). */
  applied_by_id: string | null;
}

/** Every applied version, kept. */
export interface PlaybookVersionsTable {
  name: string;
  version: number;
  file: string;
  file_sha256: string;
  applied_at: string;
  applied_by: string;
  applied_by_id: string | null;
}

export interface PlaybookRunsTable {
  id: string;
  playbook: string;
  /** The version it runs, fixed when it starts. */
  version: number;
  /** running | waiting | paused | succeeded | failed | cancelled */
  state: string;
  /** JSON: the inputs' values. */
  inputs: string;
  /** JSON: the signal that started it, or null. */
  trigger: string | null;
  /** One run per (playbook, trigger key): the signal id of a signal-started run. */
  trigger_key: string | null;
  /** The index of the step it is at. */
  cursor: number;
  /** When a running run is next due (a retry's backoff, a wait's end); null: now. */
  wake_at: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  started_by: string;
  /** The principal id of who started it; for a signal's or schedule's run, who applied its version. */
  started_by_id: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  reason: string | null;
}

export interface PlaybookStepsTable {
  run_id: string;
  idx: number;
  step_id: string;
  kind: string;
  mode: string;
  /** pending | running | waiting | confirmed | retrying | done | failed | skipped | cancelled */
  state: string;
  attempts: number;
  /** JSON outputs of a done step. */
  outputs: string | null;
  error: string | null;
  idempotency_key: string | null;
  assignee: string | null;
  started_at: string | null;
  finished_at: string | null;
  notes: string | null;
  time_spent_ms: number | null;
  done_by: string | null;
  done_by_id: string | null;
  updated_at: string;
}

export interface PlaybookPromotionsTable {
  id: string;
  playbook: string;
  step_id: string;
  from_version: number;
  from_mode: string;
  /** pending | approved | rejected */
  state: string;
  requested_by: string;
  requested_by_id: string;
  requested_at: string;
  decided_by: string | null;
  decided_at: string | null;
  new_version: number | null;
}

declare module '../schema.ts' {
  interface Database {
    playbooks: PlaybooksTable;
    playbook_versions: PlaybookVersionsTable;
    playbook_runs: PlaybookRunsTable;
    playbook_steps: PlaybookStepsTable;
    playbook_promotions: PlaybookPromotionsTable;
  }
}
