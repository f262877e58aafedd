/**
 * Group commit: items submitted concurrently are written by one transaction, so the cost of a
 * durable commit (an fsync on SQLite, a WAL flush on PostgreSQL) is shared by every waiter.
 *
 * An idle batcher collects until submissions stop arriving (an event-loop turn without a new
 * one: whatever the same burst of requests or reads brought has joined), at most `maxWaitMs`
 * after the first item, or until `maxBatch` is reached. A fixed window alone would leave the
 * database idle for its whole length after every commit. One batch commits at a time; what
 * arrives meanwhile has already waited and forms the next batch as soon as the commit returns.
 * Every waiter of a batch gets its own answer, or all get the batch's error. The queue is
 * bounded: past `maxQueue`, submit refuses with `overloaded` (503 with Retry-After) instead of
 * letting memory and latency grow.
 *
 * Items nobody is waiting on to go on at once can be submitted as lazy: they wait up to
 * `lazyWaitMs` for company and never start a commit before then, but go along with any commit
 * that starts meanwhile. When commits cost more than the gaps between submissions (an fsync on a
 * busy disk), this is what keeps their number down.
 */
import { DomainError } from '../core/errors.ts';
import { systemMonotonic, type Monotonic } from './deps.ts';

export interface BatcherOptions<T, R> {
  /** Commit one batch; answers one result per item, in order. */
  run: (items: T[]) => Promise<R[]>;
  /** How much one item weighs against maxBatch and maxQueue (default 1). */
  weight?: (item: T) => number;
  /** Flush as soon as this much is waiting (default 512). */
  maxBatch?: number;
  /** Flush at the latest this long after an item reaches an idle batcher, however busy (default 2 ms). */
  maxWaitMs?: number;
  /** Refuse new items while this much is waiting (default 20,000). */
  maxQueue?: number;
  /** What the items are, plural, for refusals (default "items"): "signals", "run writes". */
  what?: string;
  /** How long a lazy item may wait for company (default 10 ms). */
  lazyWaitMs?: number;
  /** The reading lazy items' deadlines are kept in, against real timers (default systemMonotonic). */
  monotonic?: Monotonic;
}

export interface Batcher<T, R> {
  /** Resolves once the item's batch has committed, with its result. A lazy item may wait up to lazyWaitMs for others. */
  submit(item: T, o?: { lazy?: boolean }): Promise<R>;
  /** Take no more items; resolves when every item taken has been committed or has failed. */
  close(): Promise<void>;
  /** Weight waiting or being committed. */
  readonly pending: number;
}

interface Waiter<T, R> {
  item: T;
  weight: number;
  /** For a lazy item: when it must be committed (a monotonic reading); undefined for the others. */
  due: number | undefined;
  resolve(r: R): void;
  reject(e: unknown): void;
}

export const BATCH_DEFAULTS = { maxBatch: 512, maxWaitMs: 2, maxQueue: 20_000 } as const;

export function createBatcher<T, R>(opts: BatcherOptions<T, R>): Batcher<T, R> {
  const maxBatch = opts.maxBatch ?? BATCH_DEFAULTS.maxBatch;
  const maxWaitMs = opts.maxWaitMs ?? BATCH_DEFAULTS.maxWaitMs;
  const maxQueue = opts.maxQueue ?? BATCH_DEFAULTS.maxQueue;
  const weigh = opts.weight ?? (() => 1);
  const what = opts.what ?? 'items';
  const lazyWaitMs = opts.lazyWaitMs ?? 10;
  const monotonic = opts.monotonic ?? systemMonotonic;
  const queue: Waiter<T, R>[] = [];
  let queued = 0;
  /** Waiting items that are not lazy. */
  let eager = 0;
  let inFlight = 0;
  let busy = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let turn: NodeJS.Immediate | undefined;
  let lazyTimer: NodeJS.Timeout | undefined;
  /** Counts submissions, to see whether an event-loop turn brought any. */
  let arrivals = 0;
  let idle: (() => void)[] = [];

  const kick = () => {
    if (timer !== undefined) clearTimeout(timer);
    if (turn !== undefined) clearImmediate(turn);
    if (lazyTimer !== undefined) clearTimeout(lazyTimer);
    timer = undefined;
    turn = undefined;
    lazyTimer = undefined;
    if (busy || queue.length === 0) return;
    busy = true;
    void loop();
  };

  /** Flush after the first event-loop turn in which nothing new arrived. */
  const flushWhenQuiet = (seen: number) => {
    turn = setImmediate(() => {
      turn = undefined;
      if (busy) return;
      if (arrivals === seen) kick();
      else flushWhenQuiet(arrivals);
    });
  };

  /** Only lazy items wait, none of them due yet, and nothing forces a commit. */
  const canWait = () => !closed && eager === 0 && queued < maxBatch && queue[0]!.due! > monotonic() + 1;

  /** Commit the lazy items waiting when the oldest of them is due. */
  const wakeForLazy = () => {
    if (lazyTimer === undefined && queue.length > 0) lazyTimer = setTimeout(kick, Math.max(0, queue[0]!.due! - monotonic()));
  };

  async function runAlone(batch: readonly Waiter<T, R>[]): Promise<void> {
    for (const w of batch) {
      try {
        const [result] = await opts.run([w.item]);
        if (result === undefined) throw new Error('batch commit answered no result for one item');
        w.resolve(result);
      } catch (e) {
        w.reject(e);
      }
    }
  }

  async function loop(): Promise<void> {
    while (queue.length > 0 && !canWait()) {
      // At least one item, however heavy; then as many as fit in maxBatch.
      let weight = 0;
      let n = 0;
      while (n < queue.length && (n === 0 || weight + queue[n]!.weight <= maxBatch)) weight += queue[n++]!.weight;
      const batch = queue.splice(0, n);
      queued -= weight;
      for (const w of batch) if (w.due === undefined) eager -= 1;
      inFlight = weight;
      try {
        const results = await opts.run(batch.map((w) => w.item));
        if (results.length !== batch.length) throw new Error(`batch commit answered ${results.length} results for ${batch.length} items`);
        batch.forEach((w, i) => w.resolve(results[i]!));
      } catch (e) {
        // One submission the store refuses must not fail the others it shared a transaction
        // with: commit them again one at a time, so the refusal reaches only its sender.
        if (batch.length > 1 && e instanceof DomainError && e.code === 'invalid') await runAlone(batch);
        else for (const w of batch) w.reject(e);
      }
      inFlight = 0;
    }
    busy = false;
    if (queue.length > 0) return wakeForLazy();
    const waiting = idle;
    idle = [];
    for (const f of waiting) f();
  }

  return {
    submit(item: T, o: { lazy?: boolean } = {}): Promise<R> {
      if (closed)
        return Promise.reject(new DomainError('unavailable', `the server is shutting down and takes no more ${what}; retry shortly`));
      const weight = Math.max(1, weigh(item));
      // An item heavier than the whole queue is still taken when nothing else waits.
      if (queued > 0 && queued + weight > maxQueue) {
        return Promise.reject(
          new DomainError(
            'overloaded',
            `too many ${what} are waiting to be written (${queued}, at most ${maxQueue}); retry after the Retry-After delay`,
          ),
        );
      }
      return new Promise<R>((resolve, reject) => {
        const due = o.lazy ? monotonic() + lazyWaitMs : undefined;
        queue.push({ item, weight, due, resolve, reject });
        queued += weight;
        if (due === undefined) eager += 1;
        arrivals += 1;
        if (busy) return;
        if (queued >= maxBatch) return kick();
        if (due !== undefined) return wakeForLazy();
        timer ??= setTimeout(kick, maxWaitMs);
        if (turn === undefined) flushWhenQuiet(arrivals);
      });
    },

    close(): Promise<void> {
      closed = true;
      if (!busy && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        idle.push(resolve);
        kick();
      });
    },

    get pending() {
      return queued + inFlight;
    },
  };
}
