/**
 * The SQLite write thread (sqlite-write-thread.ts): its own connection to the file, and there the
 * group commit of run writes (app/experiments/runner/run-writes.ts) and the commit of signal batches
 * (app/signals/ingest.ts commitSignals), so their fsyncs block this thread's event loop instead of
 * the server's.
 *
 * In: `write` (a run write), `leases` (renew a runner's leases), `signals` (a batch of ingest
 * submissions), `close`. Out: `ready` (or
 * `failed` when the database cannot be opened), `done` per request (a result or an error),
 * `closed`.
 */
import { parentPort, workerData } from 'node:worker_threads';
// A structured clone turns Buffers into Uint8Arrays: `buf` views the same bytes as a Buffer again.
import { asBuffer as buf } from '../core/bytes.ts';
import { DomainError } from '../core/errors.ts';
import { systemClock } from '../app/deps.ts';
import { createRunWriter, renewLeases, type RunWrite, type RunWriterOptions } from '../app/experiments/runner/run-writes.ts';
import { commitSignals, type IngestResult, type IngestSubmission } from '../app/signals/ingest.ts';
import { openSqliteStore } from '../store/sqlite/open-sqlite.ts';

export type ToWriteThread =
  | { type: 'write'; id: number; write: RunWrite; lazy: boolean }
  | { type: 'signals'; id: number; subs: IngestSubmission[] }
  | { type: 'leases'; id: number; owner: string; runIds: string[]; until: string }
  | { type: 'close' };
export type SentError = { name: string; message: string; code?: string; details?: unknown };
export type FromWriteThread =
  | { type: 'ready' }
  | { type: 'failed'; error: SentError }
  | { type: 'done'; id: number; value: boolean | boolean[] | IngestResult[] }
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
  const post = (m: FromWriteThread) => port.postMessage(m);
  const answer = (id: number, p: Promise<boolean | boolean[] | IngestResult[]>) =>
    p.then(
      (value) => post({ type: 'done', id, value }),
      (e: unknown) => post({ type: 'done', id, error: sendable(e) }),
    );
  try {
    const store = await openSqliteStore(file, { mustExist: true });
    const deps = { store, clock: systemClock };
    const writer = createRunWriter(deps, options);
    port.on('message', (m: ToWriteThread) => {
      if (m.type === 'write') {
        void answer(m.id, writer.write(m.write, { lazy: m.lazy }));
      } else if (m.type === 'leases') {
        void answer(m.id, renewLeases(store, m.owner, m.runIds, m.until));
      } else if (m.type === 'signals') {
        const subs = m.subs.map((s) => ({ ...s, items: s.items.map((i) => ({ ...i, raw: { ...i.raw, bytes: buf(i.raw.bytes) } })) }));
        void answer(
          m.id,
          commitSignals(deps, subs).then((r) => r.results),
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
