/** Experiments' port: runs, applied experiments and the scheduler's claims of occurrences, per-target slots. */
import type { Json } from '../../core/ledger/entry.ts';

/** pending → running → rolling-back → done; a crash leaves the run in one of the first three. */
export type RunState = 'pending' | 'running' | 'rolling-back' | 'done';

/** One experiment run (see app/experiments/run-experiment.ts). */
export interface RunRecord {
  /** The run id, `[a-z0-9]{16}`: the correlation id carried into what the run injects. */
  id: string;
  /** The experiment's title. */
  experiment: string;
  state: RunState;
  /** One of core/experiments/outcome.ts OUTCOMES once decided; null while running and for dry runs. */
  outcome: string | null;
  reason: string | null;
  startedAt: string;
  endedAt: string | null;
  /** Who runs it (`host:pid:nonce`) and until when that claim holds unless renewed. */
  leaseOwner: string | null;
  leaseUntil: string | null;
  /**
   * The resolved rollback activities, so that another process can run them after a crash. They
   * may hold secret values (a header, an argument): never copy them to the ledger or a journal.
   */
  rollbacks: Json;
  /** The journal (Chaos Toolkit's fields and Bulwark's), secrets redacted. */
  journal: Json;
  /** Time to detect of the run's first matched detection, in milliseconds. */
  ttdMs: number | null;
  dryRun: boolean;
}

export type RunPatch = Partial<
  Pick<RunRecord, 'state' | 'outcome' | 'reason' | 'endedAt' | 'leaseOwner' | 'leaseUntil' | 'journal' | 'ttdMs'>
>;

/** Where a page of runs ended: newest first by start, then by id. */
export interface RunCursor {
  startedAt: string;
  id: string;
}

export interface RunQuery {
  experiment?: string;
  state?: RunState;
  limit: number;
  /** Continue after this position (exclusive). */
  cursor?: RunCursor;
}

export interface RunRepo {
  insert(run: RunRecord): Promise<void>;
  get(id: string): Promise<RunRecord | undefined>;
  /** Newest first; `next` is set when there may be more after this page. */
  list(q: RunQuery): Promise<{ runs: RunRecord[]; next?: RunCursor }>;
  /** Every run not yet done, oldest first. */
  unfinished(): Promise<RunRecord[]>;
  /** Apply `patch` if `owner` still holds the run's lease; false when it does not (another process took it). */
  update(id: string, owner: string, patch: RunPatch): Promise<boolean>;
  /** Extend the lease of a run `owner` holds and that is not done; false when the lease was lost. */
  renewLease(id: string, owner: string, until: string): Promise<boolean>;
  /**
   * Atomically take every unfinished run whose lease expired before `now` (or that has none):
   * one UPDATE … RETURNING, so that of two processes claiming at once each run goes to one.
   * Claimed runs are moved to rolling-back with `owner` holding them until `until`. With `only`,
   * just those of these ids (the others are left for someone else).
   */
  claimAbandoned(owner: string, now: string, until: string, only?: readonly string[]): Promise<RunRecord[]>;
  /** Take one unfinished run from `from` (an owner known to be dead), as claimAbandoned does. */
  claimFrom(id: string, from: string, owner: string, until: string): Promise<RunRecord | undefined>;
}

/** An applied experiment: the file as applied, what the list shows of it, and its schedule. */
export interface ExperimentRecord {
  /** `[a-z0-9-]{1,64}`: the key runs are recorded under. */
  name: string;
  title: string;
  description: string;
  techniques: string[];
  /** The text as applied; it may hold inline secrets, so it never reaches the ledger. */
  file: string;
  /** SHA-256 hex of the file's UTF-8 bytes. */
  fileSha256: string;
  /** 1 when first applied, one more at each change. */
  version: number;
  schedule: { cron: string; jitterMs: number } | null;
  /** Whether the file uses process or file providers (experiments:privileged to apply and run). */
  privileged: boolean;
  createdAt: string;
  updatedAt: string;
  appliedBy: string;
}

export type ExperimentInput = Omit<ExperimentRecord, 'version' | 'createdAt' | 'updatedAt'>;

/**
 * A deleted experiment as its tombstone keeps it: everything but the file (which may hold inline
 * secrets and is not kept), and who deleted it when.
 */
export interface DeletedExperimentRecord extends Omit<ExperimentRecord, 'file'> {
  deletedAt: string;
  deletedBy: string;
}

export interface ExperimentRepo {
  /**
   * Insert the experiment, or replace the one of that name as its next version, in one
   * statement (INSERT … ON CONFLICT DO UPDATE … RETURNING), so concurrent applies of one name
   * each get their own version. A deleted name comes back as the version after its last one,
   * with `createdAt` set anew.
   */
  put(e: ExperimentInput, now: string): Promise<ExperimentRecord>;
  /** The experiment of that name; undefined when there is none or it was deleted. */
  get(name: string): Promise<ExperimentRecord | undefined>;
  /** Every applied experiment (deleted ones left out), by name. */
  list(): Promise<ExperimentRecord[]>;
  /** Those with a schedule (deleted ones left out), by name. */
  scheduled(): Promise<ExperimentRecord[]>;
  /**
   * Delete the experiment of that name, in one statement (UPDATE … RETURNING): its row stays as
   * a tombstone without the file, so that its version number is never given twice; get, list
   * and scheduled no longer return it. Its runs and ledger entries are left as they are.
   * Undefined when there is no such experiment, or it is already deleted.
   */
  delete(name: string, by: string, now: string): Promise<DeletedExperimentRecord | undefined>;
  /**
   * Claim one scheduled occurrence: a unique (experiment, scheduledAt) row inserted with ON CONFLICT
   * DO NOTHING; true for the one caller whose insert wrote it.
   */
  claimOccurrence(experiment: string, scheduledAt: string, claimedBy: string, now: string): Promise<boolean>;
}

/** One key a run wants a slot of, and how many runs may hold it at once. */
export interface SlotWant {
  key: string;
  limit: number;
}

/**
 * Per-target slots shared by every process on the database (`experiments.perTargetLimitScope:
 * database`). A slot is a row (key, run) that counts only while its run is not done and the
 * run's lease is live, or, before the run's row is stored, until the slot's own `heldUntil`:
 * a crashed process's slots free themselves when its leases expire.
 */
export interface TargetSlotRepo {
  /**
   * Take a slot of every key for `runId`, all or none: false, and nothing taken, when a key
   * already has `limit` live slots of other runs. Atomic across processes: it runs in a
   * transaction of its own (or the caller's), on SQLite under BEGIN IMMEDIATE, on PostgreSQL
   * under a transaction-scoped advisory lock per key taken in sorted order. Slots of done runs
   * and expired slots without a run are deleted on the way.
   */
  take(runId: string, wants: readonly SlotWant[], now: string, heldUntil: string): Promise<boolean>;
  /**
   * Give back the run's slots of `keys`: in a transaction of its own (or the caller's) that on
   * PostgreSQL takes the keys' advisory locks in sorted order first, as `take` does, so that the
   * two never wait on each other's row locks in opposite orders.
   */
  release(runId: string, keys: readonly string[]): Promise<void>;
  /** Live slots of `key` at `now`, of every process. */
  held(key: string, now: string): Promise<number>;
}

declare module '../store.ts' {
  interface Repos {
    runs: RunRepo;
    experiments: ExperimentRepo;
    slots: TargetSlotRepo;
  }
}
