/**
 * A second (third, …) process appending to one ledger, for test/process/multi-process.test.ts.
 *
 *   node --import tsx test/support/append-worker.ts DB_URL COUNT BATCH TAG [open-after-go]
 *
 * Env APPEND_PAUSE_MS: a pause between batches, as a server has between requests (default 0).
 *
 * Prints "ready" once it can start (the store is open, unless open-after-go), waits for a line
 * "go" on stdin so that the workers of a test start together, appends COUNT entries in batches
 * of BATCH through store.ledger.append, and prints one JSON line {tag, seqs}. Exit 1 on error.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/store.ts';
import { systemActor } from '../../src/core/ledger/actor.ts';

const [url, countArg, batchArg, tag, mode] = process.argv.slice(2);
if (!url || !countArg || !batchArg || !tag) {
  process.stderr.write('usage: append-worker.ts DB_URL COUNT BATCH TAG [open-after-go]\n');
  process.exit(2);
}
const count = Number(countArg);
const batch = Number(batchArg);
const openAfterGo = mode === 'open-after-go';
const pauseMs = Number(process.env.APPEND_PAUSE_MS ?? 0);

const go = new Promise<void>((resolve, reject) => {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === 'go') {
      resolve();
      rl.close();
    }
  });
  rl.on('close', () => reject(new Error('stdin closed before "go"')));
});
go.catch(() => undefined);

let store: Store | undefined;
try {
  if (!openAfterGo) store = await openStore(url);
  process.stdout.write('ready\n');
  await go;
  store ??= await openStore(url);
  const seqs: number[] = [];
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    const entries = Array.from({ length: n }, (_, j) => ({
      actor: systemActor(`worker:${tag}`),
      kind: 'note.observation',
      subject: `worker:${tag}`,
      data: { text: `${tag} ${i + j}`, labels: { tag, i: String(i + j), pid: String(process.pid) } },
    }));
    const appended = await store.ledger.append(entries, new Date().toISOString());
    seqs.push(...appended.map((e) => e.seq));
    if (pauseMs > 0) await sleep(pauseMs);
  }
  await store.close();
  process.stdout.write(JSON.stringify({ tag, seqs }) + '\n');
  process.exit(0);
} catch (e) {
  process.stderr.write(`append-worker ${tag} failed: ${(e as Error)?.stack ?? String(e)}\n`);
  await store?.close().catch(() => undefined);
  process.exit(1);
}
