/**
 * Sealed secrets: rows hold the sealed value and its key id; changes are compare-and-set on the
 * version. A delete leaves a tombstone (empty key id and sealed value, the last version kept), so
 * that a name set again goes on counting versions.
 */
import { sql, type Selectable } from 'kysely';
import type { Database } from '../schema.ts';
import type { Db } from '../kysely/util.ts';
import type { Dialect } from '../store.ts';
import type { SecretMeta, SecretRecord, SecretRepo } from './port.ts';

/** The advisory-lock key of sealing (PostgreSQL): "BWSK". */
const SEALING_LOCK = 0x4257534b;

export class KyselySecrets implements SecretRepo {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {}

  async lockForSealing(): Promise<void> {
    if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${sql.lit(SEALING_LOCK)})`.execute(this.db);
  }

  async get(name: string): Promise<SecretRecord | undefined> {
    const r = await this.db.selectFrom('secrets').selectAll().where('name', '=', name).where('sealed', '!=', '').executeTakeFirst();
    return r ? { ...meta(r), sealed: r.sealed } : undefined;
  }

  async lastVersion(name: string): Promise<number> {
    const r = await this.db.selectFrom('secrets').select('version').where('name', '=', name).executeTakeFirst();
    return r ? Number(r.version) : 0;
  }

  async list(): Promise<SecretMeta[]> {
    const rows = await this.db
      .selectFrom('secrets')
      .select(['name', 'version', 'key_id', 'created_at', 'created_by', 'updated_at', 'updated_by'])
      .where('sealed', '!=', '')
      .orderBy('name', 'asc')
      .execute();
    return rows.map(meta);
  }

  async insert(r: SecretRecord): Promise<boolean> {
    const res = await this.db
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
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  async update(r: SecretRecord, fromVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('secrets')
      .set({
        version: r.version,
        key_id: r.keyId,
        sealed: r.sealed,
        created_at: r.createdAt,
        created_by: r.createdBy,
        updated_at: r.updatedAt,
        updated_by: r.updatedBy,
      })
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
      .where('sealed', '!=', '')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async delete(name: string): Promise<boolean> {
    const res = await this.db
      .updateTable('secrets')
      .set({ key_id: '', sealed: '' })
      .where('name', '=', name)
      .where('sealed', '!=', '')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
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
