/**
 * The Store over kysely. The same queries run on SQLite and PostgreSQL; the few differences
 * (connection setup, durability settings) live in sqlite/ and postgres/. Each capability keeps
 * its repositories in its own folder (store/<capability>/); this file builds them from the store
 * parts of the registry (src/capabilities/) and owns transactions and backup.
 */
import { sql, type Kysely } from 'kysely';
import { LEDGER_EVENTS, STORE_PARTS } from '../../capabilities/index.ts';
import { conflict } from '../../core/errors.ts';
import type { EventCatalogue } from '../../core/ledger/event-catalogue.ts';
import type { Database } from '../schema.ts';
import type { StorePart } from '../store-part.ts';
import type { Dialect, DurabilitySettings, Repos, Store } from '../store.ts';
import type { Db } from './util.ts';

/** Every repository of every part over one executor: the database itself, or a transaction. */
export function reposOver(
  parts: readonly StorePart[],
  db: Db,
  dialect: Dialect,
  runInTransaction: <T>(fn: (tx: Repos) => Promise<T>) => Promise<T>,
  isTx: boolean,
  events: EventCatalogue,
  hints: Map<string, unknown>,
): Repos {
  const ctx = { db, dialect, runInTransaction, isTx, events, hints };
  const repos: Record<string, unknown> = {};
  for (const part of parts) {
    for (const [name, repo] of Object.entries(part.repos(ctx))) {
      if (name in repos) throw new Error(`two store parts give the repository ${name}`);
      repos[name] = repo;
    }
  }
  // Each part gives the repositories its port.ts adds to Repos.
  return repos as unknown as Repos;
}

/** The tables backup writes and restore reads, in the parts' order (a table after those it refers to). */
export function backupTables(parts: readonly StorePart[]): (keyof Database)[] {
  return parts.flatMap((p) => p.tables.filter((t) => t.backup).map((t) => t.name));
}

export interface KyselyStoreOptions {
  db: Kysely<Database>;
  dialect: Dialect;
  durability: () => Promise<Record<string, string>>;
  close: () => Promise<void>;
  /** The store parts; the registry's by default. */
  parts?: readonly StorePart[];
  /** The ledger's event catalogue; the registry's by default. */
  events?: EventCatalogue;
}

/** The repositories are properties of the store (`store.ledger`, `store.signals`, …): see the constructor. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface KyselyStore extends Repos {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class KyselyStore implements Store {
  readonly dialect: Dialect;
  private readonly db: Kysely<Database>;
  private readonly parts: readonly StorePart[];
  private readonly events: EventCatalogue;
  /** The repositories' hints between transactions (RepoContext.hints). */
  private readonly hints = new Map<string, unknown>();
  private closed = false;

  constructor(private readonly opts: KyselyStoreOptions) {
    this.db = opts.db;
    this.dialect = opts.dialect;
    this.parts = opts.parts ?? STORE_PARTS;
    this.events = opts.events ?? LEDGER_EVENTS;
    const repos = this.reposFor(this.db, (fn) => this.transaction(fn), false);
    for (const name of Object.keys(repos)) if (name in this) throw new Error(`a store part's repository ${name} hides the store's own`);
    Object.assign(this, repos);
  }

  private reposFor(db: Db, runInTransaction: <T>(fn: (tx: Repos) => Promise<T>) => Promise<T>, isTx: boolean): Repos {
    return reposOver(this.parts, db, this.dialect, runInTransaction, isTx, this.events, this.hints);
  }

  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => {
      // Inside a transaction, "run in a transaction" means: in this one.
      const repos: Repos = this.reposFor(trx, (inner) => inner(repos), true);
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
        for (const table of backupTables(this.parts)) {
          const rows = await trx.selectFrom(table).selectAll().execute();
          for (const row of rows) await sink({ table, row });
        }
      });
  }

  async restore(
    rows: AsyncIterable<{ table: string; row: Record<string, unknown> }>,
    check?: (tx: Repos) => Promise<void>,
  ): Promise<{ rows: number }> {
    const known = new Set<string>(backupTables(this.parts));
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('ledger_entries')
        .select(sql<number>`count(*)`.as('n'))
        .executeTakeFirstOrThrow();
      // The ledger is what a database holds first (bootstrap's origin line): no entries, nothing to lose.
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
        const repos: Repos = this.reposFor(trx, (inner) => inner(repos), true);
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
