/**
 * What a capability adds to the store: its tables (in the order backup writes and restore reads
 * them), its migrations, its repositories over kysely, and its contract suite. The store iterates
 * the parts of every capability in the registry (src/capabilities/); nothing here names one.
 *
 * A capability's port file adds its repositories to `Repos` (store.ts) and its tables to
 * `Database` (schema.ts) by declaration merging, so the types follow the parts without a list.
 */
import type { Migration } from 'kysely';
import type { EventCatalogue } from '../core/ledger/event-catalogue.ts';
import type { Database } from './schema.ts';
import type { Db } from './kysely/util.ts';
import type { StoreFixture } from './store.contract.ts';
import type { Dialect, Repos, Store } from './store.ts';

/** What a repository is built over: the database or a transaction, and how to open a nested one. */
export interface RepoContext {
  db: Db;
  dialect: Dialect;
  /** Run `fn` in a transaction: a new one, or (inside a transaction) the current one. */
  runInTransaction: <T>(fn: (tx: Repos) => Promise<T>) => Promise<T>;
  /** Whether `db` is already a transaction. */
  isTx: boolean;
  /** Every ledger entry kind with the schema of its data (the registry's LEDGER_EVENTS): the append checks each entry against it. */
  events: EventCatalogue;
  /**
   * What a repository remembers between transactions of one store, by key: hints it checks
   * before it relies on them (another process may have moved on), never a source of truth.
   */
  hints: Map<string, unknown>;
}

export interface TableSpec {
  name: keyof Database;
  /** Whether backup keeps its rows (not for rows that only matter while a process lives). */
  backup: boolean;
}

/** A contract suite: called inside the store contract's describe, with the store under test. */
export type ContractSuite = (current: () => { store: Store; fx: StoreFixture }) => void;

export interface StorePart {
  /** Its tables, in dependency order (a table after those it refers to). */
  tables: readonly TableSpec[];
  /**
   * Its migrations by name. Names are ordered across capabilities (`NNNN_what`, the next free
   * number): the history of one database, which kysely applies in name order.
   */
  migrations: Readonly<Record<string, (dialect: Dialect) => Migration>>;
  /** Its repositories over one executor. */
  repos(ctx: RepoContext): Partial<Repos>;
  /**
   * The suite every implementation of its ports passes, on SQLite and PostgreSQL. Loaded only by
   * the contract runner (a dynamic import), so that vitest never enters the product's imports.
   */
  contract?: () => Promise<ContractSuite>;
}
