/** Breakglass grants: time-boxed, reviewed once by someone else. */
import type { Database } from '../schema.ts';
import { sql } from 'kysely';
import type { Db } from '../kysely/util.ts';
import type { Dialect } from '../store.ts';
import type { BreakglassRecord, BreakglassRepo } from './port.ts';

/** The advisory-lock space of breakglass (PostgreSQL): "BWBG". */
const LOCK_SPACE = 0x42574247;

export class KyselyBreakglass implements BreakglassRepo {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {}

  async insert(b: BreakglassRecord): Promise<void> {
    await this.db
      .insertInto('breakglass')
      .values({
        id: b.id,
        principal_id: b.principalId,
        permission: b.permission,
        reason: b.reason,
        started_at: b.startedAt,
        ends_at: b.endsAt,
        reviewed_by: b.reviewedBy,
        reviewed_at: b.reviewedAt,
        review_note: b.reviewNote,
      })
      .execute();
  }

  async get(id: string): Promise<BreakglassRecord | undefined> {
    const r = await this.db.selectFrom('breakglass').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? rowToGrant(r) : undefined;
  }

  async list(opts: { unreviewed?: boolean; limit: number }): Promise<BreakglassRecord[]> {
    let q = this.db.selectFrom('breakglass').selectAll();
    if (opts.unreviewed) q = q.where('reviewed_at', 'is', null);
    return (await q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(opts.limit).execute()).map(rowToGrant);
  }

  async latest(principalId: string): Promise<BreakglassRecord | undefined> {
    const r = await this.db
      .selectFrom('breakglass')
      .selectAll()
      .where('principal_id', '=', principalId)
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ? rowToGrant(r) : undefined;
  }

  async lockPrincipal(principalId: string): Promise<void> {
    if (this.dialect === 'postgres')
      await sql`select pg_advisory_xact_lock(${sql.lit(LOCK_SPACE)}, hashtext(${principalId}))`.execute(this.db);
  }

  async activePermissions(principalId: string, at: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('breakglass')
      .select('permission')
      .where('principal_id', '=', principalId)
      .where('started_at', '<=', at)
      .where('ends_at', '>', at)
      .execute();
    return [...new Set(rows.map((r) => r.permission))];
  }

  async review(id: string, by: string, at: string, note: string): Promise<boolean> {
    const r = await this.db
      .updateTable('breakglass')
      .set({ reviewed_by: by, reviewed_at: at, review_note: note })
      .where('id', '=', id)
      .where('reviewed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

function rowToGrant(r: Database['breakglass']): BreakglassRecord {
  return {
    id: r.id,
    principalId: r.principal_id,
    permission: r.permission,
    reason: r.reason,
    startedAt: r.started_at,
    endsAt: r.ends_at,
    reviewedBy: r.reviewed_by,
    reviewedAt: r.reviewed_at,
    reviewNote: r.review_note,
  };
}
