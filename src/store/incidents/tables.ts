/** Incidents' tables (migrations 0013, 0014, 0024, 0025, 0029 and 0033). Times are RFC 3339 text; flags are 0 or 1. */
export interface IncidentSettingsTable {
  /** Always 1: one settings document. */
  id: number;
  file: string;
  file_sha256: string;
  version: number;
  updated_at: string;
  updated_by: string;
}

/** Counters: the next case and incident numbers, and triage's read positions in the ledger. */
export interface IncidentCountersTable {
  name: string;
  value: number;
}

export interface IncidentCasesTable {
  id: number;
  title: string;
  state: string;
  severity: string;
  rule: string;
  group_key: string;
  opened_at: string;
  last_seen_at: string;
  items: number;
  assignee: string | null;
  assigned_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  closed_at: string | null;
  resolution: string | null;
  incident_id: number | null;
}

/** What a case came from and grouped: signals (by id) and runs (by id). */
export interface IncidentCaseLinksTable {
  case_id: number;
  kind: string;
  ref: string;
  at: string;
  resolved: number;
}

export interface IncidentsTable {
  id: number;
  title: string;
  severity: string;
  priority: string;
  status: string;
  restricted: number;
  impact_started_at: string | null;
  declared_at: string;
  declared_by: string;
  mitigated_at: string | null;
  resolved_at: string | null;
  closed_at: string | null;
  case_id: number | null;
}

export interface IncidentRolesTable {
  incident_id: number;
  role: string;
  holder: string;
  from_at: string;
  to_at: string | null;
}

export interface IncidentParticipantsTable {
  incident_id: number;
  participant: string;
  added_at: string;
}

/** The ledger entries of a case or an incident (`case:ID`, `incident:ID`), by their position. */
export interface IncidentTimelineTable {
  subject: string;
  seq: number;
}

/** Evidence content, by the SHA-256 of its bytes: written once, never updated. */
export interface IncidentEvidenceBlobsTable {
  sha256: string;
  media_type: string;
  size: number;
  bytes: Uint8Array;
}

export interface IncidentEvidenceTable {
  incident_id: number;
  sha256: string;
  name: string;
  origin: string;
  collected_by: string;
  collected_at: string;
}

export interface IncidentTasksTable {
  incident_id: number;
  id: number;
  title: string;
  owner: string | null;
  due_at: string | null;
  status: string;
  checklist: string | null;
  created_at: string;
  created_by: string;
  updated_at: string;
  done_at: string | null;
}

/** Every version of every status report: never updated, a new version is a new row. */
export interface IncidentStatusReportsTable {
  incident_id: number;
  report: number;
  version: number;
  kind: string;
  state: string;
  body: string;
  next_update_at: string | null;
  at: string;
  by: string;
}

export interface IncidentOutboxTable {
  id: number;
  webhook: string;
  event: string;
  incident_id: number;
  body: string;
  created_at: string;
  state: string;
  attempts: number;
  next_attempt_at: string;
  delivered_at: string | null;
  last_error: string | null;
}

export interface IncidentExercisesTable {
  incident_id: number;
  state: 'running' | 'ended';
}

/** An incident's links: `slo` (an SLO it affected, by name) and `technique` (an ATT&CK technique noted on it). */
export interface IncidentLinksTable {
  incident_id: number;
  kind: string;
  ref: string;
  added_at: string;
  added_by: string;
}

/** Every version of every postmortem document: never updated, a new version is a new row. */
export interface IncidentPostmortemsTable {
  incident_id: number;
  version: number;
  /** `generated` (from the record) or `edited` (by a person). */
  source: string;
  body: string;
  sha256: string;
  at: string;
  by: string;
}

declare module '../schema.ts' {
  interface Database {
    incident_settings: IncidentSettingsTable;
    incident_counters: IncidentCountersTable;
    incident_cases: IncidentCasesTable;
    incident_case_links: IncidentCaseLinksTable;
    incidents: IncidentsTable;
    incident_roles: IncidentRolesTable;
    incident_participants: IncidentParticipantsTable;
    incident_timeline: IncidentTimelineTable;
    incident_evidence_blobs: IncidentEvidenceBlobsTable;
    incident_evidence: IncidentEvidenceTable;
    incident_tasks: IncidentTasksTable;
    incident_status_reports: IncidentStatusReportsTable;
    incident_outbox: IncidentOutboxTable;
    incident_exercises: IncidentExercisesTable;
    incident_links: IncidentLinksTable;
    incident_postmortems: IncidentPostmortemsTable;
  }
}
