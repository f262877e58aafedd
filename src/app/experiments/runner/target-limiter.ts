/**
 * Per-target concurrency: how many runs may touch one host at once, and one run at a time per
 * file (two runs changing one file would each back up the other's change). A run takes every
 * slot it needs before it starts, in sorted order so that two runs never wait on each other,
 * and waits its turn (first come, first served) or until it is aborted.
 */

export interface TargetLimiterOptions {
  /** Runs at once per host (default 8). */
  perHost?: number;
}

interface Slot {
  held: number;
  waiters: (() => void)[];
}

export class TargetLimiter {
  private readonly slots = new Map<string, Slot>();
  private readonly perHost: number;

  constructor(opts: TargetLimiterOptions = {}) {
    this.perHost = Math.max(1, opts.perHost ?? 8);
  }

  private limitOf(key: string): number {
    return key.startsWith('file:') ? 1 : this.perHost;
  }

  /** Whether acquiring `keys` now would have to wait. */
  busy(keys: readonly string[]): boolean {
    return keys.some((k) => (this.slots.get(k)?.held ?? 0) >= this.limitOf(k));
  }

  /** Take a slot of every key; the returned function gives them back. Rejects when `signal` aborts first. */
  async acquire(keys: readonly string[], signal: AbortSignal): Promise<() => void> {
    const sorted = [...new Set(keys)].sort();
    const taken: string[] = [];
    try {
      for (const k of sorted) {
        await this.take(k, signal);
        taken.push(k);
      }
    } catch (e) {
      for (const k of taken) this.give(k);
      throw e;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of taken) this.give(k);
    };
  }

  private take(key: string, signal: AbortSignal): Promise<void> {
    const slot = this.slots.get(key) ?? { held: 0, waiters: [] };
    this.slots.set(key, slot);
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    if (slot.held < this.limitOf(key)) {
      slot.held += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        slot.held += 1;
        resolve();
      };
      const onAbort = () => {
        slot.waiters = slot.waiters.filter((w) => w !== wake);
        reject(signal.reason as Error);
      };
      slot.waiters.push(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private give(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    slot.held -= 1;
    const next = slot.waiters.shift();
    if (next) next();
    else if (slot.held === 0) this.slots.delete(key);
  }
}
