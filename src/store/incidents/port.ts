/**
 * Incidents' port: the settings document, cases and what they grouped, incidents with their
 * command roles, participants, timeline (ledger positions) and evidence. Evidence has no update
 * and no delete: content is stored once by its SHA-256 and only ever read.
 */
import type { StoredEntry } from '../../core/ledger/entry.ts';
import type { CaseState, IncidentStatus, Priority, Role, RoleInterval } from '../../core/incidents/model.ts';
import type { Severity } from '../../core/signals/severity.ts';
import type { TaskStatus } from '../../core/incidents/tasks.ts';
import type { ReportKind, ReportState } from '../../core/incidents/status-report.ts';

export interface CaseRecord {
  id: number;
  title: string;
  state: CaseState;
  severity: Severity;
  rule: string;
  groupKey: string;
  openedAt: string;
  lastSeenAt: string;
  /** Signals and runs it grouped, the one that opened it included. */
  items: number;
  assignee: string | null;
  assignedAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  closedAt: string | null;
  resolution: string | null;
  incidentId: number | null;
}

export interface CaseLink {
  kind: 'signal' | 'run';
  ref: string;
  at: string;
  resolved: boolean;
}

export interface IncidentRecord {
  id: number;
  title: string;
  severity: string;
  priority: Priority;
  status: IncidentStatus;
  restricted: boolean;
  impactStartedAt: string | null;
  declaredAt: string;
  declaredBy: string;
  mitigatedAt: string | null;
  resolvedAt: string | null;
  closedAt: string | null;
  caseId: number | null;
}

export interface EvidenceItem {
  incidentId: number;
  sha256: string;
  name: string;
  mediaType: string;
  size: number;
  /** Where it came from: `upload`, `signal:ID`, a path or URL the collector names. */
  origin: string;
  collectedBy: string;
  collectedAt: string;
}

export interface EvidenceBlob {
  sha256: string;
  mediaType: string;
  size: number;
  bytes: Buffer;
}

export interface TaskRecord {
  incidentId: number;
  /** Numbered within the incident, from 1. */
  id: number;
  title: string;
  owner: string | null;
  dueAt: string | null;
  status: TaskStatus;
  /** The checklist template it came from, or null for a task added by hand. */
  checklist: string | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  doneAt: string | null;
}

export type TaskPatch = Partial<Pick<TaskRecord, 'title' | 'owner' | 'dueAt' | 'status' | 'doneAt'>> & { updatedAt: string };

/** One version of a status report; a report is its versions, the newest is what it says now. */
export interface ReportVersion {
  incidentId: number;
  report: number;
  version: number;
  kind: ReportKind;
  state: ReportState;
  body: string;
  nextUpdateAt: string | null;
  at: string;
  by: string;
}

/** A notification waiting in the outbox, delivered, or given up on. */
export interface OutboxItem {
  id: number;
  webhook: string;
  /** `declared`, `severity`, `role`, `resolved`. */
  event: string;
  incidentId: number;
  /** The JSON body, exactly as it is signed and sent. */
  body: string;
  createdAt: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: string;
  deliveredAt: string | null;
  lastError: string | null;
}

/** What an incident is linked to: an SLO it affected (by name), an ATT&CK technique noted on it. */
export interface IncidentLink {
  kind: 'slo' | 'technique';
  ref: string;
  addedAt: string;
  addedBy: string;
}

/** One version of an incident's postmortem document; the newest is what it says now. */
export interface PostmortemVersion {
  incidentId: number;
  version: number;
  source: 'generated' | 'edited';
  body: string;
  sha256: string;
  at: string;
  by: string;
}

/** A task from a recovery checklist, as time to repair reads it. */
export interface RecoveryTask {
  incidentId: number;
  status: TaskStatus;
  doneAt: string | null;
}

export interface SettingsRecord {
  file: string;
  fileSha256: string;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** Who is looking: a principal id, and whether it may see restricted incidents it is not part of. */
export interface Viewer {
  id: string;
  seesRestricted: boolean;
}

export type CasePatch = Partial<
  Pick<CaseRecord, 'state' | 'assignee' | 'assignedAt' | 'acknowledgedAt' | 'acknowledgedBy' | 'closedAt' | 'resolution' | 'incidentId'>
>;
export type IncidentPatch = Partial<Pick<IncidentRecord, 'status' | 'severity' | 'mitigatedAt' | 'resolvedAt' | 'closedAt'>>;

export interface IncidentRepo {
  /** The next number of a sequence (`case`, `incident`), in the caller's transaction. */
  nextNumber(name: 'case' | 'incident' | 'outbox' | `task:${number}` | `report:${number}`): Promise<number>;
  /** A read position (triage's in the ledger); 0 before any. */
  position(name: string): Promise<number>;
  /** Move a read position from `from` to `to` (compare and set): false when someone else moved it. */
  advance(name: string, from: number, to: number): Promise<boolean>;

  getSettings(): Promise<SettingsRecord | undefined>;
  putSettings(file: string, sha256: string, by: string, now: string): Promise<SettingsRecord>;

  insertCase(c: CaseRecord): Promise<void>;
  getCase(id: number): Promise<CaseRecord | undefined>;
  /** Newest first; by state when given. */
  listCases(q: { state?: CaseState; limit: number }): Promise<CaseRecord[]>;
  /** Cases open to new items (new or in triage). */
  openCases(): Promise<CaseRecord[]>;
  /** Apply the patch when the case is in `expect` (compare and set): false when it was not. */
  updateCase(id: number, expect: CaseState, patch: CasePatch): Promise<boolean>;
  /** Record an item of a case and count it; false when that item was linked already (nothing changes). */
  linkCase(caseId: number, link: CaseLink): Promise<boolean>;
  caseLinks(caseId: number): Promise<CaseLink[]>;

  insertIncident(i: IncidentRecord): Promise<void>;
  /** The incident when `viewer` may see it (undefined also when it does not exist); without a viewer, always. */
  getIncident(id: number, viewer?: Viewer): Promise<IncidentRecord | undefined>;
  /** Newest first, those the viewer may see, with their count. */
  listIncidents(q: { viewer: Viewer; status?: IncidentStatus; limit: number }): Promise<{ incidents: IncidentRecord[]; total: number }>;
  /** The ids of the restricted incidents `viewer` may not see (none when it sees all), ascending. */
  hiddenIncidents(viewer: Viewer): Promise<number[]>;
  updateIncident(id: number, expect: IncidentStatus, patch: IncidentPatch): Promise<boolean>;

  roles(incidentId: number): Promise<RoleInterval[]>;
  /** Open an interval; false when the role is held (the partial unique index refuses a second open interval). */
  openRole(incidentId: number, role: Role, holder: string, from: string): Promise<boolean>;
  /** Close the open interval of `holder` at `to`; false when it is not open. */
  closeRole(incidentId: number, role: Role, holder: string, to: string): Promise<boolean>;

  /** False when already a participant. */
  addParticipant(incidentId: number, participant: string, now: string): Promise<boolean>;
  participants(incidentId: number): Promise<string[]>;

  /** Add ledger positions to a subject's timeline (`incident:ID`, `case:ID`); repeats are ignored. */
  addTimeline(subject: string, seqs: readonly number[]): Promise<void>;
  /** The ledger entries of a subject's timeline, in ledger order, after `after` (exclusive). */
  timeline(subject: string, q: { after?: number; limit: number }): Promise<StoredEntry[]>;

  /** Store content by its digest; content already stored is left as it is. */
  putBlob(b: EvidenceBlob): Promise<void>;
  getBlob(sha256: string): Promise<EvidenceBlob | undefined>;
  /** False when this content is already evidence of this incident. */
  addEvidence(e: Omit<EvidenceItem, 'mediaType' | 'size'>): Promise<boolean>;
  evidence(incidentId: number): Promise<EvidenceItem[]>;

  insertTask(t: TaskRecord): Promise<void>;
  getTask(incidentId: number, id: number): Promise<TaskRecord | undefined>;
  /** An incident's tasks by number; by status when given. */
  tasks(incidentId: number, q?: { status?: TaskStatus }): Promise<TaskRecord[]>;
  /** Apply the patch when the task is in `expect` (compare and set): false when it was not. */
  updateTask(incidentId: number, id: number, expect: TaskStatus, patch: TaskPatch): Promise<boolean>;

  /** Add a version; false when that version exists already (someone else edited first). */
  addReportVersion(v: ReportVersion): Promise<boolean>;
  /** The newest version of each of an incident's reports, newest report first. */
  reports(incidentId: number): Promise<ReportVersion[]>;
  /** Every version of one report, oldest first (empty when there is no such report). */
  reportVersions(incidentId: number, report: number): Promise<ReportVersion[]>;

  /** Mark an incident as a tabletop exercise (its times stay out of production KPIs). */
  markExercise(incidentId: number): Promise<void>;
  /** Mark an exercise as ended (its injects stop). */
  markExerciseEnded(incidentId: number): Promise<void>;
  /** The ids of the incidents that are exercises (only those still running when asked), ascending. */
  exerciseIds(q?: { running?: boolean }): Promise<number[]>;

  /** Every task added from a recovery checklist, of every incident. */
  recoveryTasks(): Promise<RecoveryTask[]>;

  /** False when the incident has that link already. */
  addLink(incidentId: number, link: IncidentLink): Promise<boolean>;
  /** An incident's links, by kind then ref. */
  links(incidentId: number): Promise<IncidentLink[]>;

  /** Add a postmortem version; false when that version exists already (someone else saved first). */
  addPostmortemVersion(v: PostmortemVersion): Promise<boolean>;
  /** Every version of an incident's postmortem, oldest first (empty before the first). */
  postmortemVersions(incidentId: number): Promise<PostmortemVersion[]>;

  /** Put a notification in the outbox (in the caller's transaction). */
  enqueue(item: Omit<OutboxItem, 'id'>): Promise<number>;
  /** Pending notifications due at `now`, oldest first. */
  dueNotifications(now: string, limit: number): Promise<OutboxItem[]>;
  /** Record an attempt on a pending item (compare and set on its attempts): false when another sender got there first. */
  settleNotification(
    id: number,
    attemptsBefore: number,
    patch: Pick<OutboxItem, 'state' | 'attempts' | 'nextAttemptAt' | 'deliveredAt' | 'lastError'>,
  ): Promise<boolean>;
  /** The outbox, newest first; by incident when given. */
  notifications(q: { incidentId?: number; limit: number }): Promise<OutboxItem[]>;
}

declare module '../store.ts' {
  interface Repos {
    incidents: IncidentRepo;
  }
}
