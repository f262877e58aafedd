/** Playbooks' port: applied versions, runs with their leases, step executions, promotions, toil. */

export interface PlaybookRecord {
  name: string;
  /** The current version: 1 when first applied, one more at each change. */
  version: number;
  title: string;
  file: string;
  fileSha256: string;
  createdAt: string;
  updatedAt: string;
  appliedBy: string;
  /** The principal id of who applied the current version (null for versions from before it was kept). */
  appliedById: string | null;
}

export interface PlaybookVersionRecord {
  name: string;
  version: number;
  file: string;
  fileSha256: string;
  appliedAt: string;
  appliedBy: string;
  appliedById: string | null;
}

export const RUN_STATES = ['running', 'waiting', 'paused', 'succeeded', 'failed', 'cancelled'] as const;
export type RunState = (typeof RUN_STATES)[number];
export const FINAL_RUN_STATES: readonly RunState[] = ['succeeded', 'failed', 'cancelled'];

export interface PlaybookRunRecord {
  id: string;
  playbook: string;
  version: number;
  state: RunState;
  inputs: Record<string, unknown>;
  trigger: unknown;
  triggerKey: string | null;
  cursor: number;
  wakeAt: string | null;
  leaseOwner: string | null;
  leaseUntil: string | null;
  startedBy: string;
  /**
   * The principal id of who started it: the person (or service) for a manual start, who applied
   * the version for a signal's or schedule's run, the parent's starter for a called playbook.
   * An approval step's request names it as the requester, so that principal never approves it.
   */
  startedById: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  reason: string | null;
}

export const STEP_STATES = ['pending', 'running', 'waiting', 'confirmed', 'retrying', 'done', 'failed', 'skipped', 'cancelled'] as const;
export type StepState = (typeof STEP_STATES)[number];

export interface StepExecutionRecord {
  runId: string;
  idx: number;
  stepId: string;
  kind: string;
  mode: 'manual' | 'assisted' | 'auto';
  state: StepState;
  attempts: number;
  outputs: unknown;
  error: string | null;
  idempotencyKey: string | null;
  assignee: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  notes: string | null;
  timeSpentMs: number | null;
  doneBy: string | null;
  doneById: string | null;
  updatedAt: string;
}

export type RunPatch = Partial<
  Pick<PlaybookRunRecord, 'state' | 'cursor' | 'wakeAt' | 'leaseOwner' | 'leaseUntil' | 'finishedAt' | 'reason' | 'updatedAt'>
>;

/** Where a page of running waits ended: the last step's start, run and index. */
export interface WaitCursor {
  startedAt: string;
  runId: string;
  idx: number;
}

export interface PromotionRecord {
  id: string;
  playbook: string;
  stepId: string;
  fromVersion: number;
  fromMode: 'manual' | 'assisted';
  state: 'pending' | 'approved' | 'rejected';
  requestedBy: string;
  requestedById: string;
  requestedAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  newVersion: number | null;
}

/** Manual and assisted work on one step of one playbook, over all its runs. */
export interface ToilRow {
  playbook: string;
  stepId: string;
  mode: 'manual' | 'assisted';
  done: number;
  failed: number;
  timeSpentMs: number;
  lastAt: string | null;
}

export interface PlaybookRepo {
  /** Store the file as the name's next version (the current row and a kept version row). Call inside a transaction. */
  putVersion(
    p: { name: string; title: string; file: string; fileSha256: string; appliedBy: string; appliedById?: string },
    now: string,
  ): Promise<PlaybookRecord>;
  get(name: string): Promise<PlaybookRecord | undefined>;
  list(): Promise<PlaybookRecord[]>;
  getVersion(name: string, version: number): Promise<PlaybookVersionRecord | undefined>;
  /**
   * Inside a transaction: wait for, and hold until it ends, the one lock of applies whose file
   * calls playbooks, so their cycle checks see one another's versions (PostgreSQL: an advisory
   * transaction lock; SQLite serialises writing transactions already, so nothing to do).
   */
  lockCalls(): Promise<void>;
  /** Every version of a playbook, newest first (files included). */
  versions(name: string): Promise<PlaybookVersionRecord[]>;

  /** Insert a run with its step rows; false when a run of that playbook with that trigger key exists (nothing written). */
  createRun(run: PlaybookRunRecord, steps: StepExecutionRecord[]): Promise<boolean>;
  getRun(id: string): Promise<PlaybookRunRecord | undefined>;
  /** Newest first. */
  listRuns(q: { playbook?: string; state?: RunState; limit: number }): Promise<PlaybookRunRecord[]>;
  /**
   * Change a run; with `owner`, only while that owner holds its lease (compare and set), with
   * `from`, only from one of those states. Whether it changed.
   */
  updateRun(id: string, patch: RunPatch, cond?: { owner?: string; from?: readonly RunState[] }): Promise<boolean>;
  /**
   * Lease up to `limit` running runs that are due (wake_at null or past) and not leased (or whose
   * lease ended), in one statement; on PostgreSQL the candidates are locked FOR UPDATE SKIP
   * LOCKED, so replicas claiming at once each get different runs and none waits for another.
   */
  claimDue(owner: string, now: string, until: string, limit: number): Promise<PlaybookRunRecord[]>;
  /** The earliest wake time of a running run, for the engine's next look. */
  nextWake(): Promise<string | null>;

  steps(runId: string): Promise<StepExecutionRecord[]>;
  getStep(runId: string, idx: number): Promise<StepExecutionRecord | undefined>;
  /** Change a step execution; with `from`, only from one of those states (compare and set). Whether it changed. */
  updateStep(
    runId: string,
    idx: number,
    patch: Partial<Omit<StepExecutionRecord, 'runId' | 'idx' | 'stepId' | 'kind'>>,
    from?: readonly StepState[],
  ): Promise<boolean>;
  /** Steps waiting for a person in runs that wait for one, oldest first. */
  waitingSteps(limit: number): Promise<(StepExecutionRecord & { playbook: string; version: number })[]>;

  /**
   * `wait` steps under way (state running) in runs that are running or paused, oldest first (by
   * start, run, index): the steps a new signal may resume (those waiting for a duration are among
   * them; the model tells). With `after`, the page after that step (keyset paging).
   */
  runningWaits(limit: number, after?: WaitCursor): Promise<(StepExecutionRecord & { playbook: string; version: number })[]>;

  /** Manual and assisted step executions a person finished, per playbook, step and mode. */
  toil(playbook?: string): Promise<ToilRow[]>;

  createPromotion(p: PromotionRecord): Promise<void>;
  getPromotion(id: string): Promise<PromotionRecord | undefined>;
  listPromotions(playbook?: string): Promise<PromotionRecord[]>;
  /** Decide a pending promotion (compare and set); whether this call decided it. */
  decidePromotion(
    id: string,
    d: { state: 'approved' | 'rejected'; decidedBy: string; decidedAt: string; newVersion: number | null },
  ): Promise<boolean>;
}

declare module '../store.ts' {
  interface Repos {
    playbooks: PlaybookRepo;
  }
}
