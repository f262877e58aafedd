/**
 * The per-target limit held in the database (`experiments.perTargetLimitScope: database`): every
 * process on the database together holds at most `perHost` slots of a host and one of a file.
 * A run's slots are rows tied to its run row (store.ts TargetSlotRepo): they count while the run
 * is not done and its lease is live, so the slots of a process that died free themselves when
 * its leases expire, and a done run's slots are free even before they are given back.
 *
 * A run takes all its keys at once or none (one transaction, keys locked in sorted order) and,
 * when one is full, tries again every `pollMs` until it gets them or its signal aborts. Unlike
 * the in-process TargetLimiter, waiting runs are not served first come, first served.
 */
import { sleep } from '../../sleep.ts';
import type { Clock } from '../../deps.ts';
import type { Store } from '../../../store/store.ts';

export interface StoreTargetLimiterOptions {
  /** Runs at once per host, across every process on the database (default 8). */
  perHost?: number;
  /** How long a slot taken before its run's row is stored counts without it: the runner's lease. */
  leaseMs: number;
  /** How often a waiting run tries again (default 200 ms). */
  pollMs?: number;
}

export class StoreTargetLimiter {
  private readonly perHost: number;
  private readonly pollMs: number;
  /** Slots this process holds, per key: what `busy` knows without asking the database. */
  private readonly local = new Map<string, number>();

  constructor(
    private readonly deps: { store: Store; clock: Clock },
    private readonly opts: StoreTargetLimiterOptions,
  ) {
    this.perHost = Math.max(1, opts.perHost ?? 8);
    this.pollMs = Math.max(1, opts.pollMs ?? 200);
  }

  private limitOf(key: string): number {
    return key.startsWith('file:') ? 1 : this.perHost;
  }

  /**
   * Best effort: whether this process alone already holds every slot of one of the keys. Other
   * processes' slots are not counted (that needs a database read); `acquire` is what decides.
   */
  busy(keys: readonly string[]): boolean {
    return keys.some((k) => (this.local.get(k) ?? 0) >= this.limitOf(k));
  }

  /**
   * Take a slot of every key for `runId`; the returned function gives them back. When the first
   * try finds a key full, `onWait` is awaited once before waiting (the runner stores the run as
   * pending then). Rejects when `signal` aborts first, or when a try or `onWait` fails.
   */
  async acquire(runId: string, keys: readonly string[], signal: AbortSignal, onWait?: () => Promise<void>): Promise<() => void> {
    const sorted = [...new Set(keys)].sort();
    const wants = sorted.map((key) => ({ key, limit: this.limitOf(key) }));
    let waited = false;
    for (;;) {
      if (signal.aborted) throw signal.reason as Error;
      const now = this.deps.clock.now().getTime();
      const got =
        sorted.length === 0 ||
        (await this.deps.store.slots.take(runId, wants, new Date(now).toISOString(), new Date(now + this.opts.leaseMs).toISOString()));
      if (got) {
        const release = this.holder(runId, sorted);
        // Aborted while the slots were being taken: nobody will use them.
        if (signal.aborted) {
          release();
          throw signal.reason as Error;
        }
        return release;
      }
      if (!waited) {
        waited = true;
        await onWait?.();
      }
      await sleep(this.pollMs, signal);
    }
  }

  private holder(runId: string, keys: readonly string[]): () => void {
    for (const k of keys) this.local.set(k, (this.local.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of keys) {
        const n = (this.local.get(k) ?? 1) - 1;
        if (n <= 0) this.local.delete(k);
        else this.local.set(k, n);
      }
      if (keys.length === 0) return;
      // A release that fails is harmless: the slots stop counting once the run is done.
      void this.deps.store.slots.release(runId, keys).catch(() => undefined);
    };
  }
}
