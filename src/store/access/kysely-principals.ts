/** Principals: people and service accounts with their groups and roles. */
import type { Database } from '../schema.ts';
import type { Db } from '../kysely/util.ts';
import type { PrincipalRecord, PrincipalRepo } from './port.ts';

export class KyselyPrincipals implements PrincipalRepo {
  constructor(private readonly db: Db) {}

  async insert(p: PrincipalRecord): Promise<void> {
    await this.db
      .insertInto('principals')
      .values({
        id: p.id,
        kind: p.kind,
        name: p.name,
        groups: JSON.stringify(p.groups),
        roles: JSON.stringify(p.roles),
        created_at: p.createdAt,
        created_by: p.createdBy,
        disabled_at: p.disabledAt,
      })
      .execute();
  }

  async get(id: string): Promise<PrincipalRecord | undefined> {
    const r = await this.db.selectFrom('principals').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? rowToPrincipal(r) : undefined;
  }

  async list(): Promise<PrincipalRecord[]> {
    return (await this.db.selectFrom('principals').selectAll().orderBy('id', 'asc').execute()).map(rowToPrincipal);
  }

  async disable(id: string, at: string): Promise<boolean> {
    const r = await this.db
      .updateTable('principals')
      .set({ disabled_at: at })
      .where('id', '=', id)
      .where('disabled_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async setRoles(id: string, roles: readonly string[]): Promise<boolean> {
    const r = await this.db
      .updateTable('principals')
      .set({ roles: JSON.stringify(roles) })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async liveTokens(id: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('tokens')
      .select('id')
      .where('principal_id', '=', id)
      .where('revoked_at', 'is', null)
      .orderBy('id', 'asc')
      .execute();
    return rows.map((r) => r.id);
  }
}

function rowToPrincipal(r: Database['principals']): PrincipalRecord {
  return {
    id: r.id,
    kind: r.kind === 'person' ? 'person' : 'service',
    name: r.name,
    groups: JSON.parse(r.groups) as string[],
    roles: JSON.parse(r.roles) as string[],
    createdAt: r.created_at,
    createdBy: r.created_by,
    disabledAt: r.disabled_at,
  };
}
