/** The ledger repository: entries, the Merkle nodes, the head, checkpoints and keys. */
import { sql } from 'kysely';
import {
  canonicalJson,
  assertNoSecrets,
  fromStored,
  leafInput,
  type LedgerEntry,
  type NewEntry,
  type StoredEntry,
} from '../../core/ledger/entry.ts';
import { appendLeaves, frontierNodes, leafHash, type Hash, type NodeId } from '../../core/ledger/merkle.ts';
import type { Database } from '../schema.ts';
import type { CheckpointRecord, EntryPage, LedgerHead, LedgerKeyRecord, LedgerRepo, Repos } from '../store.ts';
import { CHUNK, chunks, toBuf, type Db } from './util.ts';

/** In-order position of a node: unique across levels, and leaf i sits at 2i. */
export function nodePos(n: NodeId): number {
  return n.index * 2 ** (n.level + 1) + 2 ** n.level - 1;
}

export class KyselyLedger implements LedgerRepo {
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
    const result = appendLeaves(
      frontier,
      size,
      stored.map((e) => leafHash(leafInput(e))),
    );
    for (const part of chunks(stored, Math.floor(CHUNK / 6))) {
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
    const rows = await this.db
      .selectFrom('ledger_nodes')
      .select(['pos', 'hash'])
      .where('pos', 'in', [...byPos.keys()])
      .execute();
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
}

function rowToEntry(r: { seq: number | string; time: string; actor: string; kind: string; subject: string; data: string }): StoredEntry {
  return { seq: Number(r.seq), time: r.time, actor: r.actor, kind: r.kind, subject: r.subject, dataJson: r.data };
}

function rowToCheckpoint(r: Database['ledger_checkpoints']): CheckpointRecord {
  return { size: Number(r.size), keyId: r.key_id, root: toBuf(r.root), time: r.time, note: r.note };
}
