/** Signals, the raw payloads kept as their evidence, and the log tailer's read positions. */
import type { Severity } from '../../core/signals/severity.ts';
import type { Database } from '../schema.ts';
import type { EvidenceRecord, FileOffset, SignalCursor, SignalQuery, SignalRecord, SignalRepo } from './port.ts';
import { CHUNK, chunks, toBuf, type Db } from '../kysely/util.ts';

const SIGNAL_COLUMNS = 11;

export class KyselySignals implements SignalRepo {
  constructor(private readonly db: Db) {}

  async insertMany(signals: readonly SignalRecord[]): Promise<boolean[]> {
    const result = signals.map(() => false);
    // First occurrence of a fingerprint in the call is the candidate; later ones are duplicates
    // whatever the database says, so the answer does not depend on how a statement orders rows.
    const first = new Map<string, number>();
    signals.forEach((s, i) => {
      if (!first.has(s.fingerprint)) first.set(s.fingerprint, i);
    });
    // In fingerprint order: concurrent writers then take the unique-index locks in one order,
    // so two transactions inserting overlapping sets cannot deadlock on PostgreSQL.
    const candidates = [...first.values()].map((i) => signals[i]!).sort((x, y) => (x.fingerprint < y.fingerprint ? -1 : 1));
    for (const part of chunks(candidates, Math.floor(CHUNK / SIGNAL_COLUMNS))) {
      // RETURNING names the rows written, on SQLite ≥ 3.35 and PostgreSQL.
      const written = await this.db
        .insertInto('signals')
        .values(part.map(toRow))
        .onConflict((oc) => oc.column('fingerprint').doNothing())
        .returning('fingerprint')
        .execute();
      for (const r of written) result[first.get(r.fingerprint)!] = true;
    }
    return result;
  }

  async putEvidence(items: readonly EvidenceRecord[]): Promise<void> {
    const unique = [...new Map(items.map((e) => [e.digest, e])).values()];
    for (const part of chunks(unique, CHUNK / 3)) {
      await this.db
        .insertInto('signal_evidence')
        .values(part.map((e) => ({ digest: e.digest, media_type: e.mediaType, bytes: e.bytes })))
        .onConflict((oc) => oc.column('digest').doNothing())
        .execute();
    }
  }

  async get(id: string): Promise<SignalRecord | undefined> {
    // The id is `sig_` + the fingerprint's first 32 hex digits: a range of the primary key.
    const m = /^sig_([0-9a-f]{32})$/.exec(id);
    if (!m) return undefined;
    const r = await this.db
      .selectFrom('signals')
      .selectAll()
      .where('fingerprint', '>=', m[1]!)
      .where('fingerprint', '<', `${m[1]}g`)
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? fromRow(r) : undefined;
  }

  async list(q: SignalQuery): Promise<{ signals: SignalRecord[]; next?: SignalCursor }> {
    let query = this.db.selectFrom('signals').selectAll();
    if (q.source !== undefined) query = query.where('source', '=', q.source);
    if (q.runId !== undefined) query = query.where('run_id', '=', q.runId);
    if (q.since !== undefined) query = query.where('received_at', '>=', q.since);
    if (q.until !== undefined) query = query.where('received_at', '<=', q.until);
    const c = q.cursor;
    if (c !== undefined) {
      query = query.where((eb) =>
        eb.or([eb('received_at', '<', c.receivedAt), eb.and([eb('received_at', '=', c.receivedAt), eb('id', '<', c.id)])]),
      );
    }
    const rows = await query
      .orderBy('received_at', 'desc')
      .orderBy('id', 'desc')
      .limit(q.limit + 1)
      .execute();
    const signals = rows.slice(0, q.limit).map(fromRow);
    const last = signals.at(-1);
    return rows.length > q.limit && last ? { signals, next: { receivedAt: last.receivedAt, id: last.id } } : { signals };
  }

  async getEvidence(digest: string): Promise<EvidenceRecord | undefined> {
    const r = await this.db.selectFrom('signal_evidence').selectAll().where('digest', '=', digest).executeTakeFirst();
    return r ? { digest: r.digest, mediaType: r.media_type, bytes: toBuf(r.bytes) } : undefined;
  }

  async fileOffset(path: string): Promise<FileOffset | undefined> {
    const r = await this.db.selectFrom('signal_file_offsets').select(['inode', 'offset']).where('path', '=', path).executeTakeFirst();
    return r ? { inode: r.inode, offset: Number(r.offset) } : undefined;
  }

  async saveFileOffset(path: string, position: FileOffset, at: string): Promise<void> {
    await this.db
      .insertInto('signal_file_offsets')
      .values({ path, inode: position.inode, offset: position.offset, updated_at: at })
      .onConflict((oc) => oc.column('path').doUpdateSet({ inode: position.inode, offset: position.offset, updated_at: at }))
      .execute();
  }
}

function toRow(s: SignalRecord): Database['signals'] {
  return {
    id: s.id,
    source: s.source,
    fingerprint: s.fingerprint,
    time: s.time,
    received_at: s.receivedAt,
    severity: s.severity,
    labels: JSON.stringify(s.labels),
    body: JSON.stringify(s.body ?? null),
    run_id: s.runId ?? null,
    resolved: s.resolved ? 1 : 0,
    raw_digest: s.rawDigest,
  };
}

function fromRow(r: Database['signals']): SignalRecord {
  const s: SignalRecord = {
    id: r.id,
    source: r.source,
    time: r.time,
    receivedAt: r.received_at,
    severity: r.severity as Severity,
    labels: JSON.parse(r.labels) as Record<string, string>,
    body: JSON.parse(r.body) as unknown,
    fingerprint: r.fingerprint,
    resolved: Number(r.resolved) === 1,
    rawDigest: r.raw_digest,
  };
  if (r.run_id !== null) s.runId = r.run_id;
  return s;
}
