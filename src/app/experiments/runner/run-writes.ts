/**
 * Run writes of one runner, committed together (group commit, app/group-commit.ts): every run's
 * row changes and the ledger entries that record them go through one batcher, so runs going on
 * at once share one transaction, and one fsync, instead of one each. One run's writes stay in
 * order: its RunRecorder submits the next only after the previous one committed.
 *
 * A write the run waits on before it sends anything (its row, its start) is committed at the next
 * quiet turn of the event loop; the others are lazy: they wait up to `lazyWaitMs` for company, so
 * that many runs' progress shares a few commits even when the runs do not start together.
 *
 * A write applies only while its owner holds the run's lease: when `runs.update` answers false,
 * that write alone is answered `held: false` and its entries are left out; the rest of the batch
 * commits. When the transaction itself fails (a constraint, an entry the ledger refuses), the
 * batch's writes are tried again one by one, so that one bad write fails only its own waiter.
 *
 * The leases of a runner's active runs are renewed together too: one transaction per beat for
 * all of them (createLeaseKeeper), not one timer and one commit per run.
 */
import type { NewEntry } from '../../../core/ledger/entry.ts';
import type { Store } from '../../../store/store.ts';
import type { RunPatch, RunRecord } from '../../../store/experiments/port.ts';
import { iso, type Clock } from '../../deps.ts';
import { createBatcher } from '../../group-commit.ts';

/** One change of one run: its row inserted (the run's first write) or updated, and its ledger entries. */
export type RunWrite =
  | { runId: string; insert: RunRecord; entries: readonly NewEntry[] }
  | { runId: string; owner: string; patch: RunPatch; entries: readonly NewEntry[] };

export interface RunWriter {
  /**
   * Resolves once committed: false when the write was refused because `owner` no longer holds
   * the lease. `lazy`: nothing waits on it to go on at once; it may wait for others to join.
   */
  write(w: RunWrite, o?: { lazy?: boolean }): Promise<boolean>;
  /**
   * Extend the leases `owner` holds on these runs to `until`, in one transaction; per run,
   * whether it still held it.
   */
  renewLeases(owner: string, runIds: readonly string[], until: string): Promise<boolean[]>;
  /** Resolves when every write taken has been committed or has failed. */
  close(): Promise<void>;
}

export interface RunWriterOptions {
  /**
   * Writes per transaction at most (default 16). A commit blocks the event loop (better-sqlite3
   * is synchronous): measured on SQLite, about 1 ms plus 0.1–0.25 ms per write, fsync included,
   * so 16 writes take 3–4 ms and 64 took 8–16 ms, too long for a run waiting to start.
   */
  maxBatch?: number;
  /** How long a write may wait for others to join (default 2 ms). */
  maxWaitMs?: number;
  /** How long a lazy write may wait for others to join (default 10 ms). */
  lazyWaitMs?: number;
}

type Answer = { held: boolean } | { failed: unknown };

export function createRunWriter(deps: { store: Store; clock: Clock }, opts: RunWriterOptions = {}): RunWriter {
  const batcher = createBatcher<RunWrite, Answer>({
    maxBatch: opts.maxBatch ?? 16,
    maxWaitMs: opts.maxWaitMs ?? 2,
    lazyWaitMs: opts.lazyWaitMs ?? 10,
    what: 'run writes',
    run: async (writes) => {
      try {
        return (await commitRunWrites(deps, writes)).map((held) => ({ held }));
      } catch (e) {
        if (writes.length === 1) return [{ failed: e }];
        const answers: Answer[] = [];
        for (const w of writes) {
          try {
            answers.push({ held: (await commitRunWrites(deps, [w]))[0]! });
          } catch (err) {
            answers.push({ failed: err });
          }
        }
        return answers;
      }
    },
  });
  return {
    async write(w, o = {}) {
      const a = await batcher.submit(w, o);
      if ('failed' in a) throw a.failed;
      return a.held;
    },
    renewLeases: (owner, runIds, until) => renewLeases(deps.store, owner, runIds, until),
    close: () => batcher.close(),
  };
}

/** One transaction renewing every lease in `runIds` that `owner` holds. Exported for the write thread. */
export function renewLeases(store: Store, owner: string, runIds: readonly string[], until: string): Promise<boolean[]> {
  return store.transaction(async (tx) => {
    const out: boolean[] = [];
    for (const id of runIds) out.push(await tx.runs.renewLease(id, owner, until));
    return out;
  });
}

/**
 * Apply the writes in one transaction, in order, and append the entries of those that held
 * their lease (all of them, in the writes' order, in one append). Answers, per write, whether
 * it was applied. Exported for tests.
 */
export async function commitRunWrites(deps: { store: Store; clock: Clock }, writes: readonly RunWrite[]): Promise<boolean[]> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const held: boolean[] = [];
    const entries: NewEntry[] = [];
    for (const w of writes) {
      let ok = true;
      if ('insert' in w) await tx.runs.insert(w.insert);
      else ok = await tx.runs.update(w.runId, w.owner, w.patch);
      held.push(ok);
      if (ok) entries.push(...w.entries);
    }
    if (entries.length > 0) await tx.ledger.append(entries, now);
    return held;
  });
}

export interface LeaseKeeper {
  /** Renew the run's lease with the others until the returned function is called; `onLost` once it was taken over. */
  hold(runId: string, onLost: () => void): () => void;
}

/**
 * One timer per runner: every `heartbeatMs`, the leases of all its active runs are extended in
 * one transaction. A run whose lease is no longer held (another process took it over after it
 * expired) is told through its `onLost`. When the database is away, the next beat tries again.
 */
export function createLeaseKeeper(
  deps: { store: Store; clock: Clock; writer?: Pick<RunWriter, 'renewLeases'> },
  o: { owner: string; leaseMs: number; heartbeatMs: number },
): LeaseKeeper {
  // Through the runner's writer when it has one (on SQLite a thread of its own), so that the
  // beat's commit does not stop this event loop either.
  const renew = (ids: readonly string[], until: string) =>
    deps.writer ? deps.writer.renewLeases(o.owner, ids, until) : renewLeases(deps.store, o.owner, ids, until);
  const held = new Map<string, () => void>();
  let timer: NodeJS.Timeout | undefined;
  let beating = false;
  const beat = async () => {
    if (beating || held.size === 0) return;
    beating = true;
    const ids = [...held.keys()];
    const until = new Date(deps.clock.now().getTime() + o.leaseMs).toISOString();
    try {
      const kept = await renew(ids, until);
      ids.forEach((id, i) => {
        if (kept[i]) return;
        const lost = held.get(id);
        held.delete(id);
        lost?.();
      });
    } catch {
      // The database is away; the next beat tries again.
    } finally {
      beating = false;
      if (held.size === 0) stop();
    }
  };
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };
  return {
    hold(runId, onLost) {
      held.set(runId, onLost);
      if (timer === undefined) {
        timer = setInterval(() => void beat(), o.heartbeatMs);
        timer.unref();
      }
      return () => {
        if (held.get(runId) !== onLost) return;
        held.delete(runId);
        if (held.size === 0 && !beating) stop();
      };
    },
  };
}
