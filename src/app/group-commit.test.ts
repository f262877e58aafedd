import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { DomainError } from '../core/errors.ts';
import { createBatcher } from './group-commit.ts';

/** A run function that records its batches and can be held open. */
function recorder(opts: { fail?: (items: number[]) => Error | undefined } = {}) {
  const batches: number[][] = [];
  let release: (() => void) | undefined;
  let hold: Promise<void> | undefined;
  return {
    batches,
    holdNext() {
      hold = new Promise((r) => (release = r));
    },
    release: () => release?.(),
    run: async (items: number[]) => {
      batches.push(items);
      if (hold) {
        const h = hold;
        hold = undefined;
        await h;
      }
      const err = opts.fail?.(items);
      if (err) throw err;
      return items.map((i) => i * 10);
    },
  };
}

describe('group commit batcher', () => {
  it('commits concurrent submissions together and answers each waiter with its own result', async () => {
    const r = recorder();
    const b = createBatcher({ run: r.run, maxWaitMs: 5 });
    const results = await Promise.all([1, 2, 3, 4].map((i) => b.submit(i)));
    expect(results).toEqual([10, 20, 30, 40]);
    expect(r.batches).toEqual([[1, 2, 3, 4]]);
  });

  it('flushes at maxBatch without waiting, and never splits an item', async () => {
    const r = recorder();
    const b = createBatcher({ run: r.run, maxWaitMs: 10_000, maxBatch: 5, weight: (n: number) => n });
    const t0 = performance.now();
    await Promise.all([2, 2, 1, 4, 9].map((i) => b.submit(i)));
    expect(performance.now() - t0).toBeLessThan(1000);
    // 2+2+1 = 5 fills the first; 4 alone (4+9 > 5); 9 alone, heavier than a batch but taken.
    expect(r.batches).toEqual([[2, 2, 1], [4], [9]]);
  });

  it('forms the next batch from what arrived while a commit was running', async () => {
    const r = recorder();
    const b = createBatcher({ run: r.run, maxWaitMs: 1 });
    r.holdNext();
    const first = b.submit(1);
    await sleep(20);
    const later = [2, 3, 4].map((i) => b.submit(i));
    expect(b.pending).toBe(4);
    r.release();
    expect(await Promise.all([first, ...later])).toEqual([10, 20, 30, 40]);
    expect(r.batches).toEqual([[1], [2, 3, 4]]);
  });

  it('rejects every waiter of a failed batch with its error, and goes on with the next', async () => {
    const boom = new Error('disk full');
    const r = recorder({ fail: (items) => (items.includes(2) ? boom : undefined) });
    const b = createBatcher({ run: r.run, maxWaitMs: 1 });
    const failed = await Promise.allSettled([1, 2, 3].map((i) => b.submit(i)));
    expect(failed.map((f) => (f.status === 'rejected' ? f.reason : f.value))).toEqual([boom, boom, boom]);
    expect(await b.submit(5)).toBe(50);
  });

  it('commits the others again one at a time when one submission is refused as invalid, so only its sender sees the refusal', async () => {
    const refused = new DomainError('invalid', 'item 2 holds a lone surrogate');
    const r = recorder({ fail: (items) => (items.includes(2) ? refused : undefined) });
    const b = createBatcher({ run: r.run, maxWaitMs: 1 });
    const settled = await Promise.allSettled([1, 2, 3].map((i) => b.submit(i)));
    expect(settled.map((f) => (f.status === 'rejected' ? f.reason : f.value))).toEqual([10, refused, 30]);
    expect(r.batches).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it('rejects a batch whose commit answers the wrong number of results', async () => {
    const b = createBatcher({ run: async () => [1], maxWaitMs: 1 });
    const settled = await Promise.allSettled([b.submit(1), b.submit(2)]);
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
  });

  it('refuses with overloaded once the queue is full, and takes work again when it drains', async () => {
    const r = recorder();
    const b = createBatcher({ run: r.run, maxWaitMs: 1, maxQueue: 3, maxBatch: 1 });
    r.holdNext();
    const inFlight = b.submit(1);
    await sleep(10);
    const queued = [b.submit(2), b.submit(3), b.submit(4)];
    const refused = b.submit(5);
    await expect(refused).rejects.toBeInstanceOf(DomainError);
    await expect(refused).rejects.toMatchObject({ code: 'overloaded' });
    r.release();
    expect(await Promise.all([inFlight, ...queued])).toEqual([10, 20, 30, 40]);
    expect(await b.submit(6)).toBe(60);
  });

  it('lets lazy items wait for company, and commits them together once the oldest is due', async () => {
    // Fake timers: the wait is the batcher's own time math, nothing real is waited on.
    vi.useFakeTimers();
    try {
      const r = recorder();
      const b = createBatcher({ run: r.run, lazyWaitMs: 40 });
      const first = b.submit(1, { lazy: true });
      await vi.advanceTimersByTimeAsync(10);
      expect(r.batches).toEqual([]);
      const second = b.submit(2, { lazy: true });
      await vi.advanceTimersByTimeAsync(29);
      expect(r.batches).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(r.batches).toEqual([[1, 2]]);
      expect(await Promise.all([first, second])).toEqual([10, 20]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('takes the lazy items waiting along with the next commit that starts', async () => {
    const r = recorder();
    const b = createBatcher({ run: r.run, lazyWaitMs: 10_000 });
    const lazy = [b.submit(1, { lazy: true }), b.submit(2, { lazy: true })];
    await sleep(10);
    const t0 = performance.now();
    expect(await Promise.all([...lazy, b.submit(3)])).toEqual([10, 20, 30]);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.batches).toEqual([[1, 2, 3]]);
  });

  it('leaves lazy items that arrive during a commit for later, and commits them at close', async () => {
    const r = recorder();
    const b = createBatcher({ run: r.run, lazyWaitMs: 10_000 });
    r.holdNext();
    const eager = b.submit(1);
    await sleep(10);
    const lazy = b.submit(2, { lazy: true });
    r.release();
    expect(await eager).toBe(10);
    await sleep(10);
    expect(r.batches).toEqual([[1]]);
    await b.close();
    expect(await lazy).toBe(20);
    expect(r.batches).toEqual([[1], [2]]);
  });

  it('commits everything taken before close resolves, and takes nothing after', async () => {
    const r = recorder();
    const b = createBatcher({ run: r.run, maxWaitMs: 50 });
    const taken = [b.submit(1), b.submit(2)];
    await b.close();
    expect(r.batches.flat()).toEqual([1, 2]);
    expect(await Promise.all(taken)).toEqual([10, 20]);
    await expect(b.submit(3)).rejects.toMatchObject({ code: 'unavailable' });
  });
});
