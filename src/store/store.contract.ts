/**
 * The contract every Store implementation passes, run against SQLite and a real PostgreSQL
 * (sqlite/sqlite-store.test.ts, postgres/postgres-store.test.ts): what is common to every
 * capability here (durable commits, backup and restore), then each capability's own suite, the
 * `contract` of its store part in the registry, so that a new capability's suite runs on both
 * databases without a line here.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STORE_PARTS } from '../capabilities/index.ts';
import type { NewEntry } from '../core/ledger/entry.ts';
import type { ContractSuite, StorePart } from './store-part.ts';
import type { Store } from './store.ts';
import { systemActor } from '../core/ledger/actor.ts';

export interface StoreFixture {
  store: Store;
  /**
   * Open a second, independent store on the same database. Absent for SQLite: its driver is
   * synchronous, so two handles in one thread would wait on each other's lock; processes
   * sharing one file are tested in test/process/multi-process.test.ts.
   */
  reopen?: () => Promise<Store>;
  /** A fresh, empty database of the same kind. */
  fresh(): Promise<Store>;
  cleanup(): Promise<void>;
}

const NOW = '2026-01-02T03:04:05.000Z';
const note = (i: number): NewEntry => ({
  actor: systemActor('test'),
  kind: 'note.observation',
  subject: `s${i}`,
  data: { text: `entry ${i}`, labels: { i: String(i) } },
});

/** The contract suites of the parts, in registry order (loaded here: production never imports vitest). */
export async function partContracts(parts: readonly StorePart[] = STORE_PARTS): Promise<ContractSuite[]> {
  return Promise.all(parts.flatMap((p) => (p.contract ? [p.contract()] : [])));
}

/** The common contract, with `suites` (partContracts()) run inside it against the same fixture. */
export function storeContract(name: string, setup: () => Promise<StoreFixture>, suites: readonly ContractSuite[]): void {
  describe(`${name} store contract`, () => {
    let fx: StoreFixture;
    let store: Store;
    beforeEach(async () => {
      fx = await setup();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('runs with durable commits', async () => {
      const d = await store.durability();
      if (d.dialect === 'sqlite') expect(d.settings).toEqual({ journal_mode: 'wal', synchronous: 'full' });
      else expect(d.settings.synchronous_commit).toBe('on');
    });

    // Each capability's suite (its store part's `contract`), inside this describe.
    for (const suite of suites) suite(() => ({ store, fx }));

    it('dumps every row and restores them into an empty database, and nowhere else', async () => {
      await store.ledger.append(
        Array.from({ length: 20 }, (_, i) => note(i)),
        NOW,
      );
      await store.meta.putIfAbsent('origin', 'x');
      const rows: { table: string; row: Record<string, unknown> }[] = [];
      await store.dump((r) => {
        rows.push(r);
      });
      const target = await fx.fresh();
      try {
        async function* replay() {
          yield* rows;
        }
        expect((await target.restore(replay())).rows).toBe(rows.length);
        expect((await target.ledger.head()).root.equals((await store.ledger.head()).root)).toBe(true);
        expect(await target.meta.get('origin')).toBe('x');
        await expect(target.restore(replay())).rejects.toThrow(/empty database/);
        const more = await target.ledger.append([note(20)], NOW);
        expect(more[0]!.seq).toBe(20);
      } finally {
        await target.close();
      }
    });
  });
}
