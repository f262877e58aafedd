/** API tokens, stored by hash. */
import type { Database } from '../schema.ts';
import type { TokenRecord, TokenRepo } from './port.ts';
import { toBuf, type Db } from '../kysely/util.ts';

export class KyselyTokens implements TokenRepo {
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
        last_used_at: t.lastUsedAt ?? null,
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
    const r = await this.db
      .updateTable('tokens')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async touchUsed(id: string, at: string, before: string): Promise<boolean> {
    const r = await this.db
      .updateTable('tokens')
      .set({ last_used_at: at })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', before)]))
      .executeTakeFirst();
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
    lastUsedAt: r.last_used_at,
  };
}
