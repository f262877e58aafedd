/**
 * The Store over kysely. The same queries run on SQLite and PostgreSQL; the few differences
 * (connection setup, durability settings) live in sqlite/ and postgres/.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { canonicalJson, assertNoSecrets, fromStored, leafInput, type LedgerEntry, type NewEntry, type StoredEntry } from '../core/ledger/entry.ts';
import { appendLeaves, frontierNodes, leafHash, type Hash, type NodeId } from '../core/ledger/merkle.ts';
import { conflict } from '../core/errors.ts';
import { TABLES, type Database } from './schema.ts';
import type {
  CheckpointRecord,
  Dialect,
  DurabilitySettings,
  EntryPage,
  LedgerHead,
  LedgerKeyRecord,
  LedgerRepo,
  MetaRepo,
  Repos,
  Store,
  TokenRecord,
  TokenRepo,
} from './store.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** In-order position of a node: unique across levels, and leaf i sits at 2i. */
export function nodePos(n: NodeId): number {
  return n.index * 2 ** (n.level + 1) + 2 ** n.level - 1;
}

// SQLite allows 32,766 bound parameters per statement; stay well below on both databases.
const CHUNK = 2000;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const toBuf = (v: Uint8Array): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v));

class KyselyLedger implements LedgerRepo {
  constructor(
    private readonly db: Db,
    private readonly inTransaction: <T>(fn: (tx: Repos) => Promise<T>) => Promise<T>,
    private readonly isTx: boolean,
  ) {}

  async append(entries: readonly NewEntry[], now: string): Promise<LedgerEntry[]> {
    if (!this.isTx) return this.inTransaction((tx) => tx.ledger.append(entries, now));
    if (entries.length === 0) return [];
    // The UPDATE takes the write lock first: a row lock on PostgreSQL, the database write lock
    // on SQLite. Appends from every process are serialized here, so seq has no gaps or forks.
    const locked = await this.db
      .updateTable('ledger_head')
      .set({ size: sql`size` })
      .where('id', '=', 1)
      .returning(['size'])
      .executeTakeFirstOrThrow();
    const size = Number(locked.size);
    const frontierIds = frontierNodes(size);
    const found = await this.nodes(frontierIds);
    const frontier = frontierIds.map((n) => {
      const h = found.get(`${n.level}:${n.index}`);
      if (!h) throw new Error(`ledger tree is missing node ${n.level}:${n.index}; run "bulwark ledger verify"`);
      return h;
    });
    const stored: StoredEntry[] = entries.map((e, i) => {
      assertNoSecrets(e.data);
      return {
        seq: size + i,
        time: e.time ?? now,
        actor: e.actor,
        kind: e.kind,
        subject: e.subject,
        dataJson: canonicalJson(e.data),
      };
    });
    const result = appendLeaves(frontier, size, stored.map((e) => leafHash(leafInput(e))));
    for (const part of chunks(stored, CHUNK / 6)) {
      await this.db
        .insertInto('ledger_entries')
        .values(part.map((e) => ({ seq: e.seq, time: e.time, actor: e.actor, kind: e.kind, subject: e.subject, data: e.dataJson })))
        .execute();
    }
    for (const part of chunks(result.nodes, CHUNK / 2)) {
      await this.db
        .insertInto('ledger_nodes')
        .values(part.map((n) => ({ pos: nodePos(n), hash: n.hash })))
        .execute();
    }
    await this.db.updateTable('ledger_head').set({ size: result.size, root: result.root }).where('id', '=', 1).execute();
    return stored.map(fromStored);
  }

  async head(): Promise<LedgerHead> {
    const r = await this.db.selectFrom('ledger_head').select(['size', 'root']).where('id', '=', 1).executeTakeFirstOrThrow();
    return { size: Number(r.size), root: toBuf(r.root) };
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
        .selectFrom('ledger_entries as e')
        .leftJoin('ledger_nodes as n', (j) => j.on(sql<boolean>`n.pos = e.seq * 2`))
        .select(['e.seq', 'e.time', 'e.actor', 'e.kind', 'e.subject', 'e.data', 'n.hash'])
        .where('e.seq', '>=', next)
        .orderBy('e.seq', 'asc')
        .limit(batch);
      if (to !== undefined) q = q.where('e.seq', '<', to);
      const rows = await q.execute();
      for (const r of rows) yield { entry: rowToEntry(r), leaf: r.hash ? toBuf(r.hash) : undefined };
      if (rows.length < batch) return;
      next = Number(rows[rows.length - 1]!.seq) + 1;
    }
  }

  async nodes(ids: readonly NodeId[]): Promise<Map<string, Hash>> {
    const out = new Map<string, Hash>();
    if (ids.length === 0) return out;
    const byPos = new Map(ids.map((n) => [nodePos(n), `${n.level}:${n.index}`]));
    const rows = await this.db.selectFrom('ledger_nodes').select(['pos', 'hash']).where('pos', 'in', [...byPos.keys()]).execute();
    for (const r of rows) out.set(byPos.get(Number(r.pos))!, toBuf(r.hash));
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
    const r = await this.db.selectFrom('ledger_checkpoints').selectAll().orderBy('size', 'desc').orderBy('time', 'desc').limit(1).executeTakeFirst();
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
}

function rowToEntry(r: { seq: number | string; time: string; actor: string; kind: string; subject: string; data: string }): StoredEntry {
  return { seq: Number(r.seq), time: r.time, actor: r.actor, kind: r.kind, subject: r.subject, dataJson: r.data };
}

function rowToCheckpoint(r: Database['ledger_checkpoints']): CheckpointRecord {
  return { size: Number(r.size), keyId: r.key_id, root: toBuf(r.root), time: r.time, note: r.note };
}

class KyselyTokens implements TokenRepo {
  constructor(private readonly db: Db) {}

  async insert(t: TokenRecord): Promise<void> {
    await this.db
      .insertInto('tokens')
      .values({
        id: t.id,
        name: t.name,
        hash: t.hash,
        principal_id: t.principalId,
        principal_kind: t.principalKind,
        scopes: JSON.stringify(t.scopes),
        created_at: t.createdAt,
        created_by: t.createdBy,
        expires_at: t.expiresAt,
        revoked_at: t.revokedAt,
      })
      .execute();
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    const r = await this.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? rowToToken(r) : undefined;
  }

  async list(): Promise<TokenRecord[]> {
    return (await this.db.selectFrom('tokens').selectAll().orderBy('created_at', 'asc').execute()).map(rowToToken);
  }

  async revoke(id: string, at: string): Promise<boolean> {
    const r = await this.db.updateTable('tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

function rowToToken(r: Database['tokens']): TokenRecord {
  return {
    id: r.id,
    name: r.name,
    hash: toBuf(r.hash),
    principalId: r.principal_id,
    principalKind: r.principal_kind === 'person' ? 'person' : 'service',
    scopes: JSON.parse(r.scopes) as string[],
    createdAt: r.created_at,
    createdBy: r.created_by,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

class KyselyMeta implements MetaRepo {
  constructor(private readonly db: Db) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.db.selectFrom('bulwark_meta').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }

  async putIfAbsent(key: string, value: string): Promise<string> {
    await this.db.insertInto('bulwark_meta').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
    return (await this.get(key))!;
  }
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
  private readonly db: Kysely<Database>;
  private closed = false;

  constructor(private readonly opts: KyselyStoreOptions) {
    this.db = opts.db;
    this.dialect = opts.dialect;
    const run = <T>(fn: (tx: Repos) => Promise<T>) => this.transaction(fn);
    this.ledger = new KyselyLedger(this.db, run, false);
    this.tokens = new KyselyTokens(this.db);
    this.meta = new KyselyMeta(this.db);
  }

  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => {
      const run = <U>(inner: (tx: Repos) => Promise<U>) => inner(repos);
      const repos: Repos = { ledger: new KyselyLedger(trx, run, true), tokens: new KyselyTokens(trx), meta: new KyselyMeta(trx) };
      return fn(repos);
    });
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async durability(): Promise<DurabilitySettings> {
    return { dialect: this.dialect, settings: await this.opts.durability() };
  }

  async *dump() {
    for (const table of TABLES) {
      const rows = await this.db.selectFrom(table).selectAll().execute();
      for (const row of rows) yield { table, row: row as Record<string, unknown> };
    }
  }

  async restore(rows: AsyncIterable<{ table: string; row: Record<string, unknown> }>): Promise<{ rows: number }> {
    const known = new Set<string>(TABLES);
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('ledger_entries').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
      if (Number(existing.n) > 0) throw conflict('restore needs an empty database; this one already has ledger entries');
      // The migration seeds the head; the backup carries the real one.
      await trx.deleteFrom('ledger_head').execute();
      await trx.deleteFrom('bulwark_meta').execute();
      let count = 0;
      for await (const { table, row } of rows) {
        if (!known.has(table)) throw new Error(`backup holds unknown table ${table}`);
        await trx.insertInto(table as keyof Database).values(row).execute();
        count += 1;
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
