/** Waiting on real processes in tests: poll until a value shows up, bounded; a store opened for one look. */
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/store.ts';

/**
 * Poll `get` every `everyMs` until it answers a value (undefined and false mean "not yet"), or fail
 * after `timeoutMs` naming `what` (and `more()`).
 */
export async function until<T>(
  what: string,
  get: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  more = () => '',
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${more()}`);
    await sleep(everyMs);
  }
}

/** Open the store at `url`, run `fn` on it, close it. */
export async function withStore<R>(url: string, fn: (s: Store) => Promise<R>): Promise<R> {
  const s = await openStore(url);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}
