/**
 * Writes one run's progress: each change of the run row (state, journal) together with the
 * ledger entries that record it, in one transaction, one write at a time and in order, and only
 * while this process holds the run's lease. Ledger data is redacted like the journal; the
 * entries carry names, times and verdicts, never request contents.
 */
import { redactSecrets, type SecretValues } from '../../core/experiments/configuration.ts';
import type { Json } from '../../core/ledger/entry.ts';
import type { RunPatch, Store } from '../../store/store.ts';
import type { Clock } from '../deps.ts';
import type { RunJournal } from './journal.ts';

/** Another process took the run (its lease expired here): this one must stop touching it. */
export class LeaseLost extends Error {
  constructor(runId: string) {
    super(`run ${runId} was taken over by another process (its lease expired); that process runs its rollbacks`);
    this.name = 'LeaseLost';
  }
}

export interface LedgerEvent {
  kind: string;
  data: { [key: string]: Json };
}

export class RunRecorder {
  private chain: Promise<void> = Promise.resolve();
  /** Set when the lease was lost; every later write is refused. */
  lost = false;
  /** The first write that failed for another reason (the database), if any. */
  failure: unknown;

  constructor(
    private readonly deps: { store: Store; clock: Clock },
    readonly runId: string,
    readonly owner: string,
    private readonly actor: string,
    private readonly secrets: SecretValues,
    readonly journal: RunJournal,
  ) {}

  /** Queue a write of the run row (with the current journal) and `events`; resolves once committed. */
  write(patch: RunPatch, events: readonly LedgerEvent[] = []): Promise<void> {
    const next = this.chain.then(() => this.commit(patch, events));
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

  private async commit(patch: RunPatch, events: readonly LedgerEvent[]): Promise<void> {
    if (this.lost) throw new LeaseLost(this.runId);
    const now = this.deps.clock.now().toISOString();
    const journal = this.journal.toJson(this.secrets);
    await this.deps.store.transaction(async (tx) => {
      if (!(await tx.runs.update(this.runId, this.owner, { ...patch, journal }))) throw new LeaseLost(this.runId);
      if (events.length > 0) {
        await tx.ledger.append(
          events.map((e) => ({
            actor: this.actor,
            kind: e.kind,
            subject: `run:${this.runId}`,
            data: redactSecrets(e.data, this.secrets) as Json,
          })),
          now,
        );
      }
    });
  }
}
