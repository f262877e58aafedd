/**
 * Custom roles: rows change by compare-and-set on the version; a delete leaves a tombstone (the
 * row with `deleted_at` set), which a later apply of the name brings back at the next version.
 * `lock` takes the rows' locks on PostgreSQL (FOR UPDATE, in name order); on SQLite the write
 * transaction (BEGIN IMMEDIATE) already holds the database.
 */
import type { Selectable } from 'kysely';
import type { Database } from '../schema.ts';
import type { Dialect } from '../store.ts';
import type { Db } from '../kysely/util.ts';
import type { CustomRoleRecord, CustomRoleRepo } from './port.ts';

export class KyselyCustomRoles implements CustomRoleRepo {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {}

  async get(name: string): Promise<CustomRoleRecord | undefined> {
    const r = await this.db
      .selectFrom('custom_roles')
      .selectAll()
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return r ? toRecord(r) : undefined;
  }

  async getMany(names: readonly string[]): Promise<CustomRoleRecord[]> {
    if (names.length === 0) return [];
    const rows = await this.db
      .selectFrom('custom_roles')
      .selectAll()
      .where('name', 'in', [...names])
      .where('deleted_at', 'is', null)
      .orderBy('name', 'asc')
      .execute();
    return rows.map(toRecord);
  }

  async lock(names: readonly string[]): Promise<CustomRoleRecord[]> {
    if (names.length === 0) return [];
    const q = this.db
      .selectFrom('custom_roles')
      .selectAll()
      .where('name', 'in', [...new Set(names)])
      .where('deleted_at', 'is', null)
      .orderBy('name', 'asc');
    return (await (this.dialect === 'postgres' ? q.forUpdate() : q).execute()).map(toRecord);
  }

  async list(): Promise<CustomRoleRecord[]> {
    const rows = await this.db.selectFrom('custom_roles').selectAll().where('deleted_at', 'is', null).orderBy('name', 'asc').execute();
    return rows.map(toRecord);
  }

  async lastVersion(name: string): Promise<number> {
    const r = await this.db.selectFrom('custom_roles').select('version').where('name', '=', name).executeTakeFirst();
    return r ? Number(r.version) : 0;
  }

  async put(r: CustomRoleRecord, fromVersion: number): Promise<boolean> {
    const values = {
      version: r.version,
      description: r.description,
      grants: JSON.stringify(r.grants),
      condition: r.condition,
      created_at: r.createdAt,
      created_by: r.createdBy,
      updated_at: r.updatedAt,
      updated_by: r.updatedBy,
      deleted_at: null,
    };
    if (fromVersion === 0) {
      const res = await this.db
        .insertInto('custom_roles')
        .values({ name: r.name, ...values })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
    }
    const res = await this.db
      .updateTable('custom_roles')
      .set(values)
      .where('name', '=', r.name)
      .where('version', '=', fromVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async delete(name: string, fromVersion: number, at: string): Promise<boolean> {
    const res = await this.db
      .updateTable('custom_roles')
      .set({ deleted_at: at })
      .where('name', '=', name)
      .where('version', '=', fromVersion)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }
}

function toRecord(r: Selectable<Database['custom_roles']>): CustomRoleRecord {
  return {
    name: r.name,
    version: Number(r.version),
    description: r.description,
    grants: JSON.parse(r.grants) as string[],
    condition: r.condition,
    createdAt: r.created_at,
    createdBy: r.created_by,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  };
}
