/** Sealed secrets: rows hold the sealed value and its key id; changes are compare-and-set on the version. */
import type { Selectable } from 'kysely';
import type { Database } from '../schema.ts';
import type { Db } from '../kysely/util.ts';
import type { SecretMeta, SecretRecord, SecretRepo } from './port.ts';

export class KyselySecrets implements SecretRepo {
  constructor(private readonly db: Db) {}

  async get(name: string): Promise<SecretRecord | undefined> {
    const r = await this.db.selectFrom('secrets').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? { ...meta(r), sealed: r.sealed } : undefined;
  }

  async list(): Promise<SecretMeta[]> {
    const rows = await this.db
      .selectFrom('secrets')
      .select(['name', 'version', 'key_id', 'created_at', 'created_by', 'updated_at', 'updated_by'])
      .orderBy('name', 'asc')
      .execute();
    return rows.map(meta);
  }

  async insert(r: SecretRecord): Promise<void> {
    await this.db
      .insertInto('secrets')
      .values({
        name: r.name,
        version: r.version,
        key_id: r.keyId,
        sealed: r.sealed,
        created_at: r.createdAt,
        created_by: r.createdBy,
        updated_at: r.updatedAt,
        updated_by: r.updatedBy,
      })
      .execute();
  }

  async update(r: SecretRecord, fromVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('secrets')
      .set({ version: r.version, key_id: r.keyId, sealed: r.sealed, updated_at: r.updatedAt, updated_by: r.updatedBy })
      .where('name', '=', r.name)
      .where('version', '=', fromVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async reseal(name: string, fromVersion: number, keyId: string, sealed: string): Promise<boolean> {
    const res = await this.db
      .updateTable('secrets')
      .set({ key_id: keyId, sealed })
      .where('name', '=', name)
      .where('version', '=', fromVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async delete(name: string): Promise<boolean> {
    const res = await this.db.deleteFrom('secrets').where('name', '=', name).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}

function meta(r: Omit<Selectable<Database['secrets']>, 'sealed'>): SecretMeta {
  return {
    name: r.name,
    version: Number(r.version),
    keyId: r.key_id,
    createdAt: r.created_at,
    createdBy: r.created_by,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  };
}
