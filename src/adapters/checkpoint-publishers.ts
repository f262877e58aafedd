/**
 * Publishing checkpoints outside Bulwark's database, so that whoever can rewrite the database
 * (and re-sign with the key beside it) cannot also rewrite what was published.
 */
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Publisher } from '../app/ledger/checkpoints.ts';

/** Writes the latest checkpoint to FILE (atomically) and appends it to FILE.log. */
export function filePublisher(file: string): Publisher {
  return async (c) => {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, c.note);
    renameSync(tmp, file);
    appendFileSync(`${file}.log`, c.note + '\n');
  };
}

/** POSTs the signed note as text/plain; a non-2xx answer is an error the caller logs. */
export function webhookPublisher(url: string, timeoutMs = 5000): Publisher {
  return async (c) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8', 'x-bulwark-checkpoint-size': String(c.size) },
      body: c.note,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new Error(`checkpoint webhook ${url} answered ${res.status}`);
  };
}
