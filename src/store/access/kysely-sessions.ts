/** Dashboard sessions, stored by hash. */
import type { Database } from '../schema.ts';
import { toBuf, type Db } from '../kysely/util.ts';
import type { SessionRecord, SessionRepo } from './port.ts';

export class KyselySessions implements SessionRepo {
  constructor(private readonly db: Db) {}

  async insert(s: SessionRecord): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({
        id: s.id,
        hash: s.hash,
        token_id: s.tokenId,
        created_at: s.createdAt,
        last_seen_at: s.lastSeenAt,
        expires_at: s.expiresAt,
        revoked_at: s.revokedAt,
        second_factor_at: s.secondFactorAt ?? null,
      })
      .execute();
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const r = await this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? rowToSession(r) : undefined;
  }

  async touch(id: string, at: string): Promise<boolean> {
    const r = await this.db
      .updateTable('sessions')
      .set({ last_seen_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where('last_seen_at', '<', at)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async revoke(id: string, at: string): Promise<boolean> {
    const r = await this.db
      .updateTable('sessions')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async prune(before: string): Promise<number> {
    const r = await this.db
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<', before), eb('revoked_at', '<', before)]))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async markSecondFactor(id: string, at: string): Promise<boolean> {
    const r = await this.db
      .updateTable('sessions')
      .set({ second_factor_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

function rowToSession(r: Database['sessions']): SessionRecord {
  return {
    id: r.id,
    hash: toBuf(r.hash),
    tokenId: r.token_id,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    secondFactorAt: r.second_factor_at,
  };
}
