import { describe, expect, it } from 'vitest';
import { repairOf } from './repair.ts';

describe('repairOf (time to repair’s end)', () => {
  it('is the last recovery task done, once none is open; cancelled tasks do not count', () => {
    expect(repairOf([])).toEqual({ state: 'none' });
    expect(repairOf([{ status: 'cancelled', doneAt: null }])).toEqual({ state: 'none' });
    expect(
      repairOf([
        { status: 'open', doneAt: null },
        { status: 'done', doneAt: '2026-03-01T10:00:00.000Z' },
      ]),
    ).toEqual({
      state: 'open',
      open: 1,
      done: 1,
    });
    expect(
      repairOf([
        { status: 'done', doneAt: '2026-03-01T11:00:00.000Z' },
        { status: 'cancelled', doneAt: null },
        { status: 'done', doneAt: '2026-03-01T10:00:00.000Z' },
      ]),
    ).toEqual({ state: 'repaired', at: '2026-03-01T11:00:00.000Z', done: 2 });
  });
});
