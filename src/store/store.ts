/**
 * The persistence port: what the application needs from a database, nothing more. What is common
 * to every capability is here; each capability's repositories are in its own folder
 * (store/<capability>/port.ts), which adds them to `Repos` by declaration merging. One
 * implementation over kysely serves SQLite and PostgreSQL; `store.contract.ts` and the parts'
 * contract suites hold what every implementation must pass.
 */

export type Dialect = 'sqlite' | 'postgres';

/**
 * Every repository of the store, one property per repository. Empty here: each capability's
 * port.ts adds its own (`declare module '../store.ts' { interface Repos { … } }`).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Repos {}

export interface DurabilitySettings {
  dialect: Dialect;
  /** SQLite: journal_mode and synchronous; PostgreSQL: synchronous_commit and fsync. */
  settings: Record<string, string>;
}

export interface Store extends Repos {
  readonly dialect: Dialect;
  /** Everything `fn` does commits together or not at all. */
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  durability(): Promise<DurabilitySettings>;
  /** Every row of every table, read in one transaction (a consistent snapshot), for backup. */
  dump(sink: (rec: { table: string; row: Record<string, unknown> }) => Promise<void> | void): Promise<void>;
  /**
   * Load rows into an empty database; refuses a database that already has entries. `check`
   * runs before commit (verification): when it throws, nothing is restored.
   */
  restore(
    rows: AsyncIterable<{ table: string; row: Record<string, unknown> }>,
    check?: (tx: Repos) => Promise<void>,
  ): Promise<{ rows: number }>;
  close(): Promise<void>;
}
