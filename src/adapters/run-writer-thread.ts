/**
 * A RunWriter whose commits run on a thread of their own, for SQLite. better-sqlite3 is
 * synchronous: every commit's fsync (synchronous=FULL) blocks the event loop it runs on, and on
 * the server's loop that delays run starts and the receipt stamps of signals. Here the group
 * commit of run writes runs on a worker thread with its own connection to the same file; the two
 * connections take SQLite's write lock in turn (BEGIN IMMEDIATE, busy_timeout), so the ledger
 * stays one sequence. Durability is unchanged: a write resolves once its transaction committed.
 *
 * On PostgreSQL commits are already asynchronous; use the in-process writer there.
 */
import { DomainError, type ErrorCode } from '../core/errors.ts';
import type { RunWrite, RunWriter, RunWriterOptions } from '../app/experiments/run-writes.ts';
import { startTsWorker } from '../app/ts-worker.ts';
import type { FromRunWriter, SentError, ToRunWriter } from './run-writer-thread.worker.ts';

function revive(e: SentError): Error {
  if (e.code) return new DomainError(e.code as ErrorCode, e.message, e.details);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/** Start the thread; resolves once its connection is open, rejects when it cannot start. */
export async function startRunWriterThread(file: string, options: RunWriterOptions = {}): Promise<RunWriter> {
  const worker = startTsWorker(new URL('./run-writer-thread.worker.ts', import.meta.url), { workerData: { file, options } });
  const pending = new Map<number, { resolve(held: boolean): void; reject(e: unknown): void }>();
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
    const onStartMessage = (m: FromRunWriter) => {
      if (m.type === 'ready') {
        worker.off('error', onStartError);
        resolve();
      } else if (m.type === 'failed') {
        worker.off('error', onStartError);
        void worker.terminate();
        reject(revive(m.error));
      }
    };
    const onStartError = (e: Error) => reject(e);
    worker.once('error', onStartError);
    worker.on('message', onStartMessage);
  });

  worker.on('message', (m: FromRunWriter) => {
    if (m.type === 'done') {
      const p = pending.get(m.id);
      settle(m.id);
      if (!p) return;
      if ('error' in m) p.reject(revive(m.error));
      else p.resolve(m.held);
    } else if (m.type === 'closed') {
      closed?.();
    }
  });
  worker.on('error', (e) => die(new Error(`the run writer thread failed: ${e.message}`, { cause: e })));
  worker.on('exit', (code) => die(new Error(`the run writer thread stopped (exit ${code})`)));
  // The thread keeps the process alive only while writes are pending.
  worker.unref();
  const settle = (id: number) => {
    pending.delete(id);
    if (pending.size === 0) worker.unref();
  };

  return {
    write(w: RunWrite, o: { lazy?: boolean } = {}): Promise<boolean> {
      if (closing) return Promise.reject(new DomainError('unavailable', 'the server is shutting down and takes no more run writes'));
      if (dead) return Promise.reject(dead);
      const id = nextId++;
      return new Promise<boolean>((resolve, reject) => {
        if (pending.size === 0) worker.ref();
        pending.set(id, { resolve, reject });
        worker.postMessage({ type: 'write', id, write: w, lazy: o.lazy ?? false } satisfies ToRunWriter);
      });
    },
    close(): Promise<void> {
      closing ??= dead
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            closed = resolve;
            worker.ref();
            worker.postMessage({ type: 'close' } satisfies ToRunWriter);
          }).then(() => worker.terminate().then(() => undefined));
      return closing;
    },
  };
}
