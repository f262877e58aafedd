/**
 * The run writer's thread (run-writer-thread.ts): its own connection to the SQLite file, the same
 * group commit (app/experiments/run-writes.ts), so the commits' fsyncs block this thread's event
 * loop instead of the server's.
 *
 * In: `{ type: 'write', id, write, lazy }`, `{ type: 'close' }`. Out: `ready` (or `failed` when the
 * database cannot be opened), `{ type: 'done', id, held }` or `{ type: 'done', id, error }`, `closed`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DomainError } from '../core/errors.ts';
import { systemClock } from '../app/deps.ts';
import { createRunWriter, type RunWrite, type RunWriterOptions } from '../app/experiments/run-writes.ts';
import { openSqliteStore } from '../store/sqlite/open-sqlite.ts';

export type ToRunWriter = { type: 'write'; id: number; write: RunWrite; lazy: boolean } | { type: 'close' };
export type SentError = { name: string; message: string; code?: string; details?: unknown };
export type FromRunWriter =
  | { type: 'ready' }
  | { type: 'failed'; error: SentError }
  | { type: 'done'; id: number; held: boolean }
  | { type: 'done'; id: number; error: SentError }
  | { type: 'closed' };

export function sendable(e: unknown): SentError {
  if (e instanceof DomainError) return { name: e.name, message: e.message, code: e.code, details: e.details };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

const port = parentPort;
if (port) {
  const { file, options } = workerData as { file: string; options: RunWriterOptions };
  const post = (m: FromRunWriter) => port.postMessage(m);
  try {
    const store = await openSqliteStore(file, { mustExist: true });
    const writer = createRunWriter({ store, clock: systemClock }, options);
    port.on('message', (m: ToRunWriter) => {
      if (m.type === 'write') {
        writer.write(m.write, { lazy: m.lazy }).then(
          (held) => post({ type: 'done', id: m.id, held }),
          (e: unknown) => post({ type: 'done', id: m.id, error: sendable(e) }),
        );
      } else {
        void writer
          .close()
          .finally(() => store.close())
          .finally(() => post({ type: 'closed' }));
      }
    });
    post({ type: 'ready' });
  } catch (e) {
    post({ type: 'failed', error: sendable(e) });
  }
}
