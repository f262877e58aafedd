/**
 * The Store over kysely. The same queries run on SQLite and PostgreSQL; the few differences
 * (connection setup, durability settings) live in sqlite/ and postgres/. Each area keeps its
 * repository in its own file here; this one wires them and owns transactions and backup.
 */
import { sql, type Kysely } from 'kysely';
import { conflict } from '../../core/errors.ts';
import { TABLES, type Database } from '../schema.ts';
import type {
  Dialect,
  DurabilitySettings,
  ExperimentRepo,
  LedgerRepo,
  MetaRepo,
  Repos,
  RunRepo,
  SignalRepo,
  Store,
  TargetSlotRepo,
  TokenRepo,
} from '../store.ts';
import { KyselyExperiments } from './experiment-repo.ts';
import { KyselyLedger } from './ledger-repo.ts';
import { KyselyMeta } from './meta-repo.ts';
import { KyselyRuns } from './run-repo.ts';
import { KyselySignals } from './signal-repo.ts';
import { KyselySlots } from './slot-repo.ts';
import { KyselyTokens } from './token-repo.ts';
import type { Db } from './util.ts';

/** Every repository over one executor: the database itself, or a transaction. */
export function reposOver(
  db: Db,
  dialect: Dialect,
  runInTransaction: <T>(fn: (tx: Repos) => Promise<T>) => Promise<T>,
  isTx: boolean,
): Repos {
  return {
    ledger: new KyselyLedger(db, runInTransaction, isTx, dialect),
    tokens: new KyselyTokens(db),
    meta: new KyselyMeta(db),
    signals: new KyselySignals(db),
    runs: new KyselyRuns(db),
    experiments: new KyselyExperiments(db),
    slots: new KyselySlots(db, dialect, runInTransaction, isTx),
  };
}

export interface KyselyStoreOptions {
  db: Kysely<Database>;
  dialect: Dialect;
  durability: () => Promise<Record<string, string>>;
  close: () => Promise<void>;
}

export class KyselyStore implements Store {
  readonly dialect: Dialect;
  readonly ledger: LedgerRepo;
  readonly tokens: TokenRepo;
  readonly meta: MetaRepo;
  readonly signals: SignalRepo;
  readonly runs: RunRepo;
  readonly experiments: ExperimentRepo;
  readonly slots: TargetSlotRepo;
  private readonly db: Kysely<Database>;
  private closed = false;

  constructor(private readonly opts: KyselyStoreOptions) {
    this.db = opts.db;
    this.dialect = opts.dialect;
    const repos = reposOver(this.db, this.dialect, (fn) => this.transaction(fn), false);
    this.ledger = repos.ledger;
    this.tokens = repos.tokens;
    this.meta = repos.meta;
    this.signals = repos.signals;
    this.runs = repos.runs;
    this.experiments = repos.experiments;
    this.slots = repos.slots;
  }

  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => {
      // Inside a transaction, "run in a transaction" means: in this one.
      const repos: Repos = reposOver(trx, this.dialect, (inner) => inner(repos), true);
      return fn(repos);
    });
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async durability(): Promise<DurabilitySettings> {
    return { dialect: this.dialect, settings: await this.opts.durability() };
  }

  async dump(sink: (rec: { table: string; row: Record<string, unknown> }) => Promise<void> | void): Promise<void> {
    // One transaction, so the backup is a snapshot: repeatable read on PostgreSQL; on SQLite
    // the BEGIN IMMEDIATE keeps writers out until it is done.
    await this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        for (const table of TABLES) {
          const rows = await trx.selectFrom(table).selectAll().execute();
          for (const row of rows) await sink({ table, row });
        }
      });
  }

  async restore(
    rows: AsyncIterable<{ table: string; row: Record<string, unknown> }>,
    check?: (tx: Repos) => Promise<void>,
  ): Promise<{ rows: number }> {
    const known = new Set<string>(TABLES);
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('ledger_entries')
        .select(sql<number>`count(*)`.as('n'))
        .executeTakeFirstOrThrow();
      if (Number(existing.n) > 0) throw conflict('restore needs an empty database; this one already has ledger entries');
      // The migration seeds the head; the backup carries the real one.
      await trx.deleteFrom('ledger_head').execute();
      await trx.deleteFrom('bulwark_meta').execute();
      let count = 0;
      for await (const { table, row } of rows) {
        if (!known.has(table)) throw new Error(`backup holds unknown table ${table}`);
        await trx
          .insertInto(table as keyof Database)
          .values(row)
          .execute();
        count += 1;
      }
      // A restore that does not verify is rolled back whole.
      if (check) {
        const repos: Repos = reposOver(trx, this.dialect, (inner) => inner(repos), true);
        await check(repos);
      }
      return { rows: count };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.opts.close();
  }
}
