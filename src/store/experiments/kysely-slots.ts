/**
 * Per-target slots in the database (port.ts: TargetSlotRepo). One set of queries for both
 * databases; the only branch is the lock: SQLite transactions already hold the write lock from
 * their BEGIN IMMEDIATE, PostgreSQL takes pg_advisory_xact_lock per key, in sorted key order so
 * that two takers never wait on each other, released at commit. Every write of a key's rows
 * (take, its clean-up, release) is done under that key's lock.
 */
import { sql, type ExpressionBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import type { Dialect, Repos } from '../store.ts';
import type { SlotWant, TargetSlotRepo } from './port.ts';
import type { Db } from '../kysely/util.ts';

/** The first key of PostgreSQL's two-key advisory locks for slots ('BWKS'), apart from any other use. */
const LOCK_SPACE = 0x42574b53;

/** A slot that counts: its run not done with a live lease, or no row yet and its own time not up. */
function live(eb: ExpressionBuilder<Database, 'target_slots'>, now: string) {
  const run = () => eb.selectFrom('experiment_runs').whereRef('experiment_runs.id', '=', 'target_slots.run_id');
  return eb.or([
    eb.exists(
      run().select('experiment_runs.id').where('experiment_runs.state', '<>', 'done').where('experiment_runs.lease_until', '>=', now),
    ),
    eb.and([eb('target_slots.held_until', '>=', now), eb.not(eb.exists(run().select('experiment_runs.id')))]),
  ]);
}

export class KyselySlots implements TargetSlotRepo {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
    private readonly runInTransaction: <T>(fn: (tx: Repos) => Promise<T>) => Promise<T>,
    private readonly isTx: boolean,
  ) {}

  async take(runId: string, wants: readonly SlotWant[], now: string, heldUntil: string): Promise<boolean> {
    if (!this.isTx) return this.runInTransaction((tx) => tx.slots.take(runId, wants, now, heldUntil));
    const byKey = new Map<string, number>();
    for (const w of wants) byKey.set(w.key, Math.min(byKey.get(w.key) ?? Infinity, Math.max(1, w.limit)));
    const keys = [...byKey.keys()].sort();
    if (keys.length === 0) return true;
    for (const key of keys) {
      await this.lock(key);
      // Slots of done runs, and those whose run never came, are gone for good.
      await this.db
        .deleteFrom('target_slots')
        .where('key', '=', key)
        .where((eb) =>
          eb.or([
            eb.exists(
              eb
                .selectFrom('experiment_runs')
                .select('experiment_runs.id')
                .whereRef('experiment_runs.id', '=', 'target_slots.run_id')
                .where('experiment_runs.state', '=', 'done'),
            ),
            eb.and([
              eb('target_slots.held_until', '<', now),
              eb.not(
                eb.exists(
                  eb.selectFrom('experiment_runs').select('experiment_runs.id').whereRef('experiment_runs.id', '=', 'target_slots.run_id'),
                ),
              ),
            ]),
          ]),
        )
        .execute();
      const row = await this.db
        .selectFrom('target_slots')
        .select(sql<number>`count(*)`.as('n'))
        .where('key', '=', key)
        .where('run_id', '<>', runId)
        .where((eb) => live(eb, now))
        .executeTakeFirstOrThrow();
      if (Number(row.n) >= byKey.get(key)!) return false;
    }
    await this.db
      .insertInto('target_slots')
      .values(keys.map((key) => ({ key, run_id: runId, held_until: heldUntil })))
      .onConflict((oc) => oc.columns(['key', 'run_id']).doUpdateSet({ held_until: heldUntil }))
      .execute();
    return true;
  }

  async release(runId: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    if (!this.isTx) return this.runInTransaction((tx) => tx.slots.release(runId, keys));
    const sorted = [...new Set(keys)].sort();
    for (const key of sorted) await this.lock(key);
    await this.db.deleteFrom('target_slots').where('run_id', '=', runId).where('key', 'in', sorted).execute();
  }

  /** PostgreSQL: the key's transaction-scoped advisory lock. SQLite: the transaction holds the write lock already. */
  private async lock(key: string): Promise<void> {
    if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${sql.lit(LOCK_SPACE)}, hashtext(${key}))`.execute(this.db);
  }

  async held(key: string, now: string): Promise<number> {
    const row = await this.db
      .selectFrom('target_slots')
      .select(sql<number>`count(*)`.as('n'))
      .where('key', '=', key)
      .where((eb) => live(eb, now))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
