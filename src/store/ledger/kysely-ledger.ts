/** The ledger repository: entries, the Merkle nodes, the head, checkpoints and keys. */
import { CompiledQuery } from 'kysely';
import { assertStorable, encodeData, leafText, type LedgerEntry, type NewEntry, type StoredEntry } from '../../core/ledger/entry.ts';
import { appendLeaves, frontierNodes, leafHashOfText, type Hash, type NodeId } from '../../core/ledger/merkle.ts';
import type { Database } from '../schema.ts';
import type { EventCatalogue } from '../../core/ledger/event-catalogue.ts';
import type { Dialect, Repos } from '../store.ts';
import type { CheckpointRecord, EntryPage, LedgerHead, LedgerKeyRecord, LedgerRepo } from './port.ts';
import { HASH_BYTES, homeOf, packTrees, slotOf, splitHashes } from './tree-layout.ts';
import { toBuf, type Db } from '../kysely/util.ts';
import { invalid } from '../../core/errors.ts';
import { encodeActor } from '../../core/ledger/actor.ts';
import { preparedSql } from '../postgres/prepared-pool.ts';

/** Rows per INSERT: 7 parameters each, well under SQLite's 32,766 and PostgreSQL's 65,535. */
const ROWS_PER_INSERT = 1000;

/**
 * The append's SQL depends only on the dialect (and an INSERT's row count): compile it once with
 * kysely and run it with fresh parameters, instead of building and compiling the queries (a
 * thousand-row one among them) at every append. Bounded: the sizes seen in practice are few.
 */
const compiledSql = new Map<string, string>();
const COMPILED_SQL_CACHE = 256;

/** The head an append of this store wrote last: a guess at the current head, checked by the write itself. */
interface HeadHint {
  size: number;
  root: Buffer;
  frontier: Hash[];
}
const HEAD_HINT = 'ledger.head';

interface StoredRow {
  seq: number | string;
  time: string;
  actor: string;
  kind: string;
  subject: string;
  data: string;
}

/**
 * What the database answered it stored must be what was hashed, field for field: verification
 * re-reads those columns. A difference (an encoding the database changes on the way in) refuses
 * the append, and the transaction rolls back, instead of committing an entry that never verifies.
 *
 * Checked on PostgreSQL, whose server and client encodings are settings outside Bulwark's hands.
 * On SQLite it is not needed and not paid for (about a fifth of a large append): better-sqlite3
 * binds a JavaScript string as its UTF-8 bytes and SQLite keeps TEXT as bound, so the only text
 * that changes on the way is what assertStorable already refuses (lone surrogates, NUL). The
 * ledger contract's round-trip test holds both databases to that.
 */
function assertReadsBack(stored: readonly StoredEntry[], from: number, n: number, rows: readonly StoredRow[]): void {
  if (rows.length !== n) throw new Error(`the ledger insert answered ${rows.length} rows for ${n} entries`);
  for (const r of rows) {
    const i = Number(r.seq) - stored[0]!.seq;
    const e = stored[i];
    if (!e || i < from || i >= from + n) throw new Error(`the ledger insert answered an unexpected row, seq ${r.seq}`);
    for (const [field, value] of [
      ['time', e.time],
      ['actor', e.actor],
      ['kind', e.kind],
      ['subject', e.subject],
      ['data', e.dataJson],
    ] as const) {
      if (r[field] !== value) {
        throw invalid(
          `the ledger entry's ${field} would not read back as it was hashed (the database changed it on the way in); refused so the ledger keeps verifying`,
        );
      }
    }
  }
}

export class KyselyLedger implements LedgerRepo {
  constructor(
    private readonly db: Db,
    private readonly inTransaction: <T>(fn: (tx: Repos) => Promise<T>) => Promise<T>,
    private readonly isTx: boolean,
    private readonly dialect: Dialect,
    /** Every entry kind the append accepts, with its data's schema (the registry's LEDGER_EVENTS). */
    private readonly events: EventCatalogue,
    /** The store's hints between transactions: here, the head this store last wrote (PostgreSQL). */
    private readonly hints: Map<string, unknown> = new Map(),
  ) {}

  async append(entries: readonly NewEntry[], now: string): Promise<LedgerEntry[]> {
    if (!this.isTx) return this.inTransaction((tx) => tx.ledger.append(entries, now));
    if (entries.length === 0) return [];
    if (this.dialect === 'postgres') {
      const appended = await this.appendOnHint(entries, now);
      if (appended) return appended;
    }
    // Take the write lock first, reading the head: a row lock on PostgreSQL (FOR UPDATE); on
    // SQLite the transaction's BEGIN IMMEDIATE already holds the database write lock. Appends
    // from every process are serialized here, so seq has no gaps or forks.
    const locked = await this.db.executeQuery<{ size: number | string; root: Uint8Array; frontier: Uint8Array }>(
      CompiledQuery.raw(
        this.compiledOnce('lock-head', () => {
          const q = this.db.selectFrom('ledger_head').select(['size', 'root', 'frontier']).where('id', '=', 1);
          return (this.dialect === 'postgres' ? q.forUpdate() : q).compile().sql;
        }),
        [1],
      ),
    );
    const head = locked.rows[0];
    if (!head) throw new Error('ledger head row is missing; run "bulwark ledger verify"');
    const size = Number(head.size);
    const frontier = splitHashes(head.frontier);
    if (frontier.length !== frontierNodes(size).length) {
      throw new Error(`ledger head is inconsistent: ${frontier.length} frontier hashes for size ${size}; run "bulwark ledger verify"`);
    }
    const plan = this.plan(entries, now, size, frontier);
    const { stored, params } = plan;
    for (let from = 0; from < stored.length; from += ROWS_PER_INSERT) {
      const n = Math.min(ROWS_PER_INSERT, stored.length - from);
      const last = from + n === stored.length;
      // On PostgreSQL the last INSERT and the head update are one statement (a data-modifying
      // CTE): one round trip fewer per append.
      const withHead = last && this.dialect === 'postgres';
      const readBack = this.dialect === 'postgres';
      const chunk = params.slice(from * 7, (from + n) * 7);
      const written = await this.db.executeQuery<StoredRow>(
        CompiledQuery.raw(this.entryInsertSql(n, withHead, readBack), withHead ? [...chunk, ...plan.newHead] : chunk),
      );
      if (readBack) assertReadsBack(stored, from, n, written.rows);
    }
    if (this.dialect !== 'postgres') {
      const update = this.compiledOnce(
        'update-head',
        () =>
          this.db
            .updateTable('ledger_head')
            .set({ size: 0, root: Buffer.alloc(0), frontier: Buffer.alloc(0) })
            .where('id', '=', 1)
            .compile().sql,
      );
      await this.db.executeQuery(CompiledQuery.raw(update, [...plan.newHead, 1]));
    } else {
      this.hints.set(HEAD_HINT, plan.hint);
    }
    return this.answer(entries, stored);
  }

  /**
   * PostgreSQL, without reading the head first: the entries are hashed onto the head this store
   * wrote last (its hint), and one statement updates the head only if it still is that head (size
   * and root) and inserts the entries only if it did. The UPDATE takes the head's row lock as the
   * locked read would, and waits for a concurrent appender as it would; if another writer moved the
   * head (another replica, or a rolled-back transaction of ours), nothing is written and the caller
   * takes the locked path. One round trip fewer than read-then-write. Undefined when not applied.
   */
  private async appendOnHint(entries: readonly NewEntry[], now: string): Promise<LedgerEntry[] | undefined> {
    const hint = this.hints.get(HEAD_HINT) as HeadHint | undefined;
    if (!hint) return undefined;
    const plan = this.plan(entries, now, hint.size, hint.frontier);
    const n = plan.stored.length;
    const columns: unknown[][] = [[], [], [], [], [], [], []];
    for (let i = 0; i < plan.params.length; i++) columns[i % 7]!.push(plan.params[i]);
    const written = await this.db.executeQuery<StoredRow>(
      CompiledQuery.raw(this.hintedInsertSql(), [...plan.newHead, hint.size, hint.root, ...columns]),
    );
    if (written.rows.length === 0) {
      this.hints.delete(HEAD_HINT);
      return undefined;
    }
    assertReadsBack(plan.stored, 0, n, written.rows);
    this.hints.set(HEAD_HINT, plan.hint);
    return this.answer(entries, plan.stored);
  }

  /** The entries as they will be stored on a head of `size` with `frontier`: checked, hashed, the INSERT's parameters and the new head. */
  private plan(entries: readonly NewEntry[], now: string, size: number, frontier: readonly Hash[]) {
    const stored: StoredEntry[] = entries.map((e, i) => {
      const entry = {
        seq: size + i,
        time: e.time ?? now,
        actor: encodeActor(e.actor),
        kind: e.kind,
        subject: e.subject,
        dataJson: encodeData(e.data),
      };
      assertStorable(entry);
      this.events.check(e.kind, e.data);
      return entry;
    });
    const result = appendLeaves(
      frontier,
      size,
      stored.map((e) => leafHashOfText(leafText(e))),
    );
    const trees = packTrees(result.nodes);
    const params: unknown[] = new Array(stored.length * 7);
    for (let i = 0; i < stored.length; i++) {
      const e = stored[i]!;
      const o = i * 7;
      params[o] = e.seq;
      params[o + 1] = e.time;
      params[o + 2] = e.actor;
      params[o + 3] = e.kind;
      params[o + 4] = e.subject;
      params[o + 5] = e.dataJson;
      params[o + 6] = trees[i]!;
    }
    const newHead = [result.size, result.root, Buffer.concat(result.frontier)] as const;
    const hint: HeadHint = { size: result.size, root: Buffer.from(result.root), frontier: result.frontier };
    return { stored, params, newHead, hint };
  }

  private answer(entries: readonly NewEntry[], stored: readonly StoredEntry[]): LedgerEntry[] {
    return stored.map((e, i) => ({
      seq: e.seq,
      time: e.time,
      actor: entries[i]!.actor,
      kind: e.kind,
      subject: e.subject,
      data: entries[i]!.data,
    }));
  }

  /**
   * The INSERT of `rows` entries; with `readBack`, answering what the database stored (RETURNING);
   * with `withHead`, also the head update (PostgreSQL), in the same statement.
   */
  private entryInsertSql(rows: number, withHead: boolean, readBack: boolean): string {
    return this.compiledOnce(`insert:${rows}:${withHead}:${readBack}`, () => {
      const dummy = { seq: 0, time: '', actor: '', kind: '', subject: '', data: '', tree: Buffer.alloc(0) };
      const insert = this.db.insertInto('ledger_entries').values(Array.from({ length: rows }, () => dummy));
      const text = readBack ? insert.returning(['seq', 'time', 'actor', 'kind', 'subject', 'data']).compile().sql : insert.compile().sql;
      if (!withHead) return text;
      const p = rows * 7;
      return `with appended as (${text}), head as (update "ledger_head" set "size" = $${p + 1}, "root" = $${p + 2}, "frontier" = $${p + 3} where "id" = 1) select * from appended`;
    });
  }

  /**
   * PostgreSQL: the head update on the condition that the head is still the expected one (size
   * $5, root $6), and the INSERT of the entries only if it was, answering what was stored. The
   * entries come as seven arrays, one per column ($7–$13, unnested into rows): one short
   * statement to parse whatever the batch size, instead of seven parameters per row.
   */
  private hintedInsertSql(): string {
    return this.compiledOnce('hinted-insert', () =>
      preparedSql(
        'ledger-append-on-hint',
        [
          'with head as (update "ledger_head" set "size" = $1, "root" = $2, "frontier" = $3',
          ' where "id" = 1 and "size" = $4 and "root" = $5 returning 1),',
          ' appended as (insert into "ledger_entries" ("seq", "time", "actor", "kind", "subject", "data", "tree")',
          ' select * from unnest($6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bytea[])',
          ' where exists (select 1 from head)',
          ' returning "seq", "time", "actor", "kind", "subject", "data")',
          ' select * from appended',
        ].join(''),
      ),
    );
  }

  /** SQL text built by kysely once per dialect and key; the parameters are given at each run. */
  private compiledOnce(key: string, build: () => string): string {
    const k = `${this.dialect}:${key}`;
    let text = compiledSql.get(k);
    if (text === undefined) {
      text = build();
      if (compiledSql.size >= COMPILED_SQL_CACHE) compiledSql.delete(compiledSql.keys().next().value!);
      compiledSql.set(k, text);
    }
    return text;
  }

  async head(): Promise<LedgerHead> {
    const r = await this.db.selectFrom('ledger_head').select(['size', 'root', 'frontier']).where('id', '=', 1).executeTakeFirstOrThrow();
    return { size: Number(r.size), root: toBuf(r.root), frontier: splitHashes(r.frontier) };
  }

  async page(q: EntryPage): Promise<StoredEntry[]> {
    let query = this.db.selectFrom('ledger_entries').selectAll();
    if (q.kind) query = query.where('kind', '=', q.kind);
    if (q.order === 'asc') {
      if (q.from !== undefined) query = query.where('seq', '>=', q.from);
      query = query.orderBy('seq', 'asc');
    } else {
      if (q.from !== undefined) query = query.where('seq', '<=', q.from);
      query = query.orderBy('seq', 'desc');
    }
    const rows = await query.limit(q.limit).execute();
    return rows.map(rowToEntry);
  }

  async *scan(from: number, to: number | undefined, batch = 5000) {
    let next = from;
    for (;;) {
      let q = this.db
        .selectFrom('ledger_entries')
        .select(['seq', 'time', 'actor', 'kind', 'subject', 'data', 'tree'])
        .where('seq', '>=', next)
        .orderBy('seq', 'asc')
        .limit(batch);
      if (to !== undefined) q = q.where('seq', '<', to);
      const rows = await q.execute();
      for (const r of rows) {
        const tree = toBuf(r.tree);
        yield {
          entry: rowToEntry(r),
          leaf: tree.length >= HASH_BYTES ? tree.subarray(0, HASH_BYTES) : undefined,
          interior: tree.subarray(HASH_BYTES),
        };
      }
      if (rows.length < batch) return;
      next = Number(rows[rows.length - 1]!.seq) + 1;
    }
  }

  async nodes(ids: readonly NodeId[]): Promise<Map<string, Hash>> {
    const out = new Map<string, Hash>();
    if (ids.length === 0) return out;
    const homes = ids.map((n) => ({ key: `${n.level}:${n.index}`, ...homeOf(n) }));
    const rows = await this.db
      .selectFrom('ledger_entries')
      .select(['seq', 'tree'])
      .where('seq', 'in', [...new Set(homes.map((h) => h.seq))])
      .execute();
    const trees = new Map(rows.map((r) => [Number(r.seq), r.tree]));
    for (const h of homes) {
      const tree = trees.get(h.seq);
      const hash = tree ? slotOf(tree, h.slot) : undefined;
      if (hash) out.set(h.key, hash);
    }
    return out;
  }

  async addCheckpoint(c: CheckpointRecord): Promise<void> {
    await this.db
      .insertInto('ledger_checkpoints')
      .values({ size: c.size, key_id: c.keyId, root: c.root, time: c.time, note: c.note })
      .onConflict((oc) => oc.columns(['size', 'key_id']).doNothing())
      .execute();
  }

  async latestCheckpoint(): Promise<CheckpointRecord | undefined> {
    const r = await this.db
      .selectFrom('ledger_checkpoints')
      .selectAll()
      .orderBy('size', 'desc')
      .orderBy('time', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ? rowToCheckpoint(r) : undefined;
  }

  async checkpoints(): Promise<CheckpointRecord[]> {
    const rows = await this.db.selectFrom('ledger_checkpoints').selectAll().orderBy('size', 'asc').execute();
    return rows.map(rowToCheckpoint);
  }

  async addKey(k: LedgerKeyRecord): Promise<void> {
    await this.db
      .insertInto('ledger_keys')
      .values({ key_id: k.keyId, name: k.name, public_key: k.publicKey, created_at: k.createdAt, retired_at: k.retiredAt })
      .onConflict((oc) => oc.column('key_id').doNothing())
      .execute();
  }

  async retireKey(keyId: string, at: string): Promise<void> {
    await this.db.updateTable('ledger_keys').set({ retired_at: at }).where('key_id', '=', keyId).where('retired_at', 'is', null).execute();
  }

  async keys(): Promise<LedgerKeyRecord[]> {
    const rows = await this.db.selectFrom('ledger_keys').selectAll().orderBy('created_at', 'asc').execute();
    return rows.map((r) => ({ keyId: r.key_id, name: r.name, publicKey: r.public_key, createdAt: r.created_at, retiredAt: r.retired_at }));
  }

  /** `scan` a batch at a time, as the rows are read: no object per entry beyond the row itself. */
  async *scanRows(from: number, to: number | undefined, batch = 5000): AsyncIterable<(StoredEntry & { tree: Uint8Array })[]> {
    let next = from;
    for (;;) {
      let q = this.db
        .selectFrom('ledger_entries')
        .select(['seq', 'time', 'actor', 'kind', 'subject', 'data as dataJson', 'tree'])
        .where('seq', '>=', next)
        .orderBy('seq', 'asc')
        .limit(batch);
      if (to !== undefined) q = q.where('seq', '<', to);
      const rows: (StoredEntry & { tree: Uint8Array })[] = await q.execute();
      // PostgreSQL returns bigint columns as strings.
      if (this.dialect !== 'sqlite') for (const r of rows) r.seq = Number(r.seq);
      if (rows.length > 0) yield rows;
      if (rows.length < batch) return;
      next = rows[rows.length - 1]!.seq + 1;
    }
  }
}

function rowToEntry(r: { seq: number | string; time: string; actor: string; kind: string; subject: string; data: string }): StoredEntry {
  return { seq: Number(r.seq), time: r.time, actor: r.actor, kind: r.kind, subject: r.subject, dataJson: r.data };
}

function rowToCheckpoint(r: Database['ledger_checkpoints']): CheckpointRecord {
  return { size: Number(r.size), keyId: r.key_id, root: toBuf(r.root), time: r.time, note: r.note };
}
