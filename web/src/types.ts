// Shapes of the Bulwark HTTP API as the dashboard reads them.

export interface Principal {
  id: string;
  name: string;
  kind: 'person' | 'service';
}

export interface Session {
  principal: Principal;
  token: { id: string; name: string };
  permissions: string[];
}

export interface LedgerEntry {
  seq: number;
  time: string;
  actor: string;
  kind: string;
  subject: string;
  data: unknown;
  leafHash: string;
}

export interface EntriesPage {
  entries: LedgerEntry[];
  next: number | null;
  size: number;
}

export interface Checkpoint {
  size: number;
  root: string;
  time: string;
  keyId: string;
  keyName: string;
  origin: string;
  note: string;
}

export interface VerifyReport {
  ok: boolean;
  size: number;
  entriesChecked: number;
  checkpointsChecked: number;
  firstBad: null | { seq: number; reason: string };
  message: string;
}

export const OUTCOMES = ['prevented', 'detected', 'detected-late', 'missed', 'not-run', 'aborted', 'errored', 'rollback-failed'] as const;

export type Outcome = (typeof OUTCOMES)[number];

export type RunState = 'pending' | 'running' | 'rolling-back' | 'done';

export interface RunSummary {
  id: string;
  experiment: string;
  state: RunState;
  outcome: Outcome | null;
  reason: string | null;
  startedAt: string;
  endedAt: string | null;
  /** Bulwark's receipt time of the matching signal minus the injection time. */
  ttdMs: number | null;
  dryRun: boolean;
}

export interface Schedule {
  cron: string;
  /** A duration ("5s") or milliseconds; the dashboard shows either. */
  jitter: string | number | null;
}

export interface Experiment {
  name: string;
  title: string;
  description: string;
  /** MITRE ATT&CK technique ids, e.g. T1190 or T1110.001. */
  techniques: string[];
  schedule: Schedule | null;
  lastRun: RunSummary | null;
  /** Newest first, at most 20. */
  history: RunSummary[];
}

export interface ExperimentDetail extends Experiment {
  file: string;
}

/** What DELETE /v1/experiments/{name} answers. */
export interface DeletedExperiment {
  name: string;
  title: string;
  version: number;
  schedule: Schedule | null;
  deletedAt: string;
  deletedBy: string;
  /** Its runs not done when it was deleted: deleting does not stop them. */
  unfinished: RunSummary[];
}

export const TIMELINE_KINDS = ['started', 'gate', 'injection', 'probe', 'action', 'detection', 'abort', 'rollback', 'finished'] as const;

export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export interface TimelineEvent {
  at: string;
  kind: TimelineKind;
  label: string;
  ok?: boolean;
  detail?: unknown;
}

export interface RunDetail {
  run: RunSummary;
  timeline: TimelineEvent[];
  journal: unknown;
}

export interface ApiErrorBody {
  error: string;
  message?: string;
  details?: unknown;
}
