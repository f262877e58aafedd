/**
 * Writes one run's progress: the run row (inserted by the first write, then each change of state
 * and journal) together with the ledger entries that record it, one write at a time and in order,
 * and only while this process holds the run's lease. Writes go through the runner's RunWriter
 * (run-writes.ts), which commits the writes of concurrent runs in one transaction. Ledger data
 * is redacted like the journal; the entries carry names, times and verdicts, never request
 * contents.
 */
import { redactSecrets, type SecretValues } from '../../../core/experiments/configuration.ts';
import type { Json, NewEntry } from '../../../core/ledger/entry.ts';
import type { RunPatch, RunRecord } from '../../../store/experiments/port.ts';
import type { RunJournal } from './journal.ts';
import type { RunWriter } from './run-writes.ts';
import type { Actor } from '../../../core/ledger/actor.ts';

/** Another process took the run (its lease expired here): this one must stop touching it. */
export class LeaseLost extends Error {
  constructor(runId: string) {
    super(`run ${runId} was taken over by another process (its lease expired); that process runs its rollbacks`);
    this.name = 'LeaseLost';
  }
}

/** Resolves after the event loop's I/O of this turn (setImmediate runs after the poll phase). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface LedgerEvent {
  kind: string;
  data: { [key: string]: Json };
}

export class RunRecorder {
  private chain: Promise<void> = Promise.resolve();
  /** Set when the lease was lost; every later write is refused. */
  lost = false;
  /** Set once the run's row is stored. */
  inserted = false;
  /** The first write that failed for another reason (the database), if any. */
  failure: unknown;

  constructor(
    private readonly writer: RunWriter,
    readonly runId: string,
    readonly owner: string,
    private readonly actor: Actor,
    private readonly secrets: SecretValues,
    readonly journal: RunJournal,
  ) {}

  /**
   * The run's first write: its row (with the current journal) and `events`; resolves once
   * committed. Not kept in `failure`: a run whose row could not be stored does not go on.
   */
  insert(row: Omit<RunRecord, 'journal'>, events: readonly LedgerEvent[] = []): Promise<void> {
    const next = this.chain.then(async () => {
      await this.writer.write({
        runId: this.runId,
        insert: { ...row, journal: this.journal.toJson(this.secrets) },
        entries: this.entries(events),
      });
      this.inserted = true;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * Queue a write of the run row (with the current journal) and `events`; resolves once
   * committed. `soon`: the run waits on it before it sends anything, so it does not wait for
   * other runs' writes to join its commit (see run-writes.ts). `behind`: the run goes on without
   * it (it sends at once), so even its preparation (the journal copied, the write handed to the
   * writer) waits for the event loop's next turn, after the I/O the run has started; later
   * writes still queue behind it.
   */
  write(patch: RunPatch, events: readonly LedgerEvent[] = [], o: { soon?: boolean; behind?: boolean } = {}): Promise<void> {
    const prior = o.behind ? this.chain.then(nextTurn) : this.chain;
    const next = prior.then(() => this.commit(patch, events, o.soon === true));
    this.chain = next.catch((e: unknown) => {
      if (e instanceof LeaseLost) this.lost = true;
      else this.failure ??= e;
    });
    return next;
  }

  /** The same, for callers that cannot wait (a bus listener): failures are kept in `failure`. */
  writeLater(patch: RunPatch, events: readonly LedgerEvent[] = []): void {
    void this.write(patch, events).catch(() => undefined);
  }

  /** Resolves when every queued write has been attempted. */
  flush(): Promise<void> {
    return this.chain;
  }

  private async commit(patch: RunPatch, events: readonly LedgerEvent[], soon: boolean): Promise<void> {
    if (this.lost) throw new LeaseLost(this.runId);
    const journal = this.journal.toJson(this.secrets);
    const held = await this.writer.write(
      { runId: this.runId, owner: this.owner, patch: { ...patch, journal }, entries: this.entries(events) },
      { lazy: !soon },
    );
    if (!held) throw new LeaseLost(this.runId);
  }

  private entries(events: readonly LedgerEvent[]): NewEntry[] {
    return events.map((e) => ({
      actor: this.actor,
      kind: e.kind,
      subject: `run:${this.runId}`,
      data: redactSecrets(e.data, this.secrets) as Json,
    }));
  }
}
