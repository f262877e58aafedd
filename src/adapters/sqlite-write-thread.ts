/**
 * Commits on a thread of their own, for SQLite. better-sqlite3 is synchronous: every commit's
 * fsync (synchronous=FULL) blocks the event loop it runs on, and on the server's loop that delays
 * run starts and the receipt stamps of signals. Here the two busiest writers — the group commit of
 * run writes and the commit of signal batches — run on a worker thread with its own connection to
 * the same file. The connections take SQLite's write lock in turn (BEGIN IMMEDIATE, busy_timeout),
 * so the ledger stays one sequence. Durability is unchanged: a write resolves once its transaction
 * has committed.
 *
 * On PostgreSQL commits are already asynchronous; the in-process writers serve there.
 */
import { DomainError, type ErrorCode } from '../core/errors.ts';
import type { RunWrite, RunWriter, RunWriterOptions } from '../app/experiments/runner/run-writes.ts';
import type { IngestResult, IngestSubmission } from '../app/signals/ingest.ts';
import { startTsWorker } from '../app/ts-worker.ts';
import type { FromWriteThread, SentError, ToWriteThread } from './sqlite-write-thread.worker.ts';

export interface SqliteWriteThread {
  /** Run writes and lease renewals, committed on the thread (a RunWriter for ExperimentDeps.runWriter). */
  runWriter: RunWriter;
  /** Commit a batch of signal submissions on the thread (SignalIngestOptions.commit). */
  commitSignals(subs: readonly IngestSubmission[]): Promise<IngestResult[]>;
  /** Finish what was taken, then stop the thread. */
  close(): Promise<void>;
}

function revive(e: SentError): Error {
  if (e.code) return new DomainError(e.code as ErrorCode, e.message, e.details);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/** Start the thread; resolves once its connection is open, rejects when it cannot start. */
export async function startSqliteWriteThread(file: string, options: RunWriterOptions = {}): Promise<SqliteWriteThread> {
  const worker = startTsWorker(new URL('./sqlite-write-thread.worker.ts', import.meta.url), { workerData: { file, options } });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  let nextId = 0;
  let dead: Error | undefined;
  let closing: Promise<void> | undefined;
  let closed: (() => void) | undefined;

  const die = (e: Error) => {
    dead ??= e;
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
    closed?.();
  };

  await new Promise<void>((resolve, reject) => {
    const onStartError = (e: Error) => reject(e);
    worker.once('error', onStartError);
    worker.on('message', (m: FromWriteThread) => {
      if (m.type === 'ready') {
        worker.off('error', onStartError);
        resolve();
      } else if (m.type === 'failed') {
        worker.off('error', onStartError);
        void worker.terminate();
        reject(revive(m.error));
      }
    });
  });

  // The thread keeps the process alive only while requests are pending.
  worker.unref();
  worker.on('message', (m: FromWriteThread) => {
    if (m.type === 'done') {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (pending.size === 0) worker.unref();
      if (!p) return;
      if ('error' in m) p.reject(revive(m.error));
      else p.resolve(m.value);
    } else if (m.type === 'closed') {
      closed?.();
    }
  });
  worker.on('error', (e) => die(new Error(`the database write thread failed: ${e.message}`, { cause: e })));
  worker.on('exit', (code) => die(new Error(`the database write thread stopped (exit ${code})`)));

  const request = <T>(
    m:
      | { type: 'write'; write: RunWrite; lazy: boolean }
      | { type: 'leases'; owner: string; runIds: string[]; until: string }
      | { type: 'signals'; subs: IngestSubmission[] },
  ): Promise<T> => {
    if (closing)
      return Promise.reject(new DomainError('unavailable', 'the server is shutting down and takes no more writes; retry shortly'));
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve: resolve, reject });
      try {
        worker.postMessage({ ...m, id });
      } catch (e) {
        // The structured clone recurses per level: a value nested thousands deep overflows the
        // stack here. Input is bounded far below that (INPUT_LIMITS), so this is data the product
        // built; it is refused as what it is, not as an internal error.
        pending.delete(id);
        if (pending.size === 0) worker.unref();
        reject(
          e instanceof RangeError
            ? new DomainError('invalid', 'the write nests too deeply to be handed to the database write thread; flatten it')
            : (e as Error),
        );
      }
    });
  };

  const close = (): Promise<void> => {
    closing ??= dead
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          closed = resolve;
          worker.ref();
          worker.postMessage({ type: 'close' } satisfies ToWriteThread);
        }).then(() => worker.terminate().then(() => undefined));
    return closing;
  };

  return {
    runWriter: {
      write: (w: RunWrite, o: { lazy?: boolean } = {}) => request<boolean>({ type: 'write', write: w, lazy: o.lazy ?? false }),
      renewLeases: (owner, runIds, until) => request<boolean[]>({ type: 'leases', owner, runIds: [...runIds], until }),
      close,
    },
    commitSignals: (subs) => request<IngestResult[]>({ type: 'signals', subs: [...subs] }),
    close,
  };
}
