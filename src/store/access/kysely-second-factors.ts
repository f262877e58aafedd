/** Second factors and recovery codes: replay refusal and single use as conditional updates, so two replicas cannot both accept. */
import { sql, type Selectable } from 'kysely';
import type { Database } from '../schema.ts';
import type { Db } from '../kysely/util.ts';
import type { SecondFactorRecord, SecondFactorRepo } from './port.ts';

export class KyselySecondFactors implements SecondFactorRepo {
  constructor(private readonly db: Db) {}

  async storedSecrets(): Promise<{ principalId: string; secret: string }[]> {
    const rows = await this.db.selectFrom('second_factors').select(['principal_id', 'secret']).orderBy('principal_id', 'asc').execute();
    return rows.map((r) => ({ principalId: r.principal_id, secret: r.secret }));
  }

  async replaceSecret(principalId: string, from: string, to: string): Promise<boolean> {
    const r = await this.db
      .updateTable('second_factors')
      .set({ secret: to })
      .where('principal_id', '=', principalId)
      .where('secret', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async get(principalId: string): Promise<SecondFactorRecord | undefined> {
    const r = await this.db.selectFrom('second_factors').selectAll().where('principal_id', '=', principalId).executeTakeFirst();
    return r ? rowToFactor(r) : undefined;
  }

  async begin(f: SecondFactorRecord): Promise<boolean> {
    const existing = await this.get(f.principalId);
    if (existing?.confirmedAt) return false;
    if (existing) await this.db.deleteFrom('second_factors').where('principal_id', '=', f.principalId).execute();
    await this.db
      .insertInto('second_factors')
      .values({
        principal_id: f.principalId,
        kind: f.kind,
        secret: f.secret,
        created_at: f.createdAt,
        confirmed_at: f.confirmedAt,
        last_step: f.lastStep,
      })
      .execute();
    return true;
  }

  async confirm(principalId: string, at: string, step: number): Promise<boolean> {
    const r = await this.db
      .updateTable('second_factors')
      .set({ confirmed_at: at, last_step: step })
      .where('principal_id', '=', principalId)
      .where('confirmed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async useStep(principalId: string, step: number): Promise<boolean> {
    const r = await this.db
      .updateTable('second_factors')
      .set({ last_step: step })
      .where('principal_id', '=', principalId)
      .where('confirmed_at', 'is not', null)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async remove(principalId: string): Promise<boolean> {
    await this.db.deleteFrom('recovery_codes').where('principal_id', '=', principalId).execute();
    const r = await this.db.deleteFrom('second_factors').where('principal_id', '=', principalId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async setRecoveryCodes(principalId: string, hashes: readonly string[], at: string): Promise<void> {
    await this.db.deleteFrom('recovery_codes').where('principal_id', '=', principalId).execute();
    if (hashes.length === 0) return;
    await this.db
      .insertInto('recovery_codes')
      .values(hashes.map((hash) => ({ principal_id: principalId, hash, created_at: at, used_at: null })))
      .execute();
  }

  async useRecoveryCode(principalId: string, hash: string, at: string): Promise<boolean> {
    const r = await this.db
      .updateTable('recovery_codes')
      .set({ used_at: at })
      .where('principal_id', '=', principalId)
      .where('hash', '=', hash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async recoveryCodesLeft(principalId: string): Promise<number> {
    const r = await this.db
      .selectFrom('recovery_codes')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('principal_id', '=', principalId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async recordFailure(principalId: string, at: string, windowStart: string): Promise<number> {
    // One statement, so two refusals at once both count; every right-hand side sees the old row.
    const fresh = sql<boolean>`(failures_since is null or failures_since < ${windowStart})`;
    await this.db
      .updateTable('second_factors')
      .set({
        failures: sql<number>`case when ${fresh} then 1 else failures + 1 end`,
        failures_since: sql<string>`case when ${fresh} then ${at} else failures_since end`,
      })
      .where('principal_id', '=', principalId)
      .execute();
    return this.failures(principalId, windowStart);
  }

  async takeAttempt(principalId: string, at: string, windowStart: string, max: number): Promise<boolean> {
    const fresh = sql<boolean>`(failures_since is null or failures_since < ${windowStart})`;
    const r = await this.db
      .updateTable('second_factors')
      .set({
        failures: sql<number>`case when ${fresh} then 1 else failures + 1 end`,
        failures_since: sql<string>`case when ${fresh} then ${at} else failures_since end`,
      })
      .where('principal_id', '=', principalId)
      .where(sql<boolean>`(${fresh} or failures < ${max})`)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async refundAttempt(principalId: string, windowStart: string): Promise<void> {
    await this.db
      .updateTable('second_factors')
      .set({ failures: sql<number>`failures - 1` })
      .where('principal_id', '=', principalId)
      .where('failures', '>', 0)
      .where('failures_since', '>=', windowStart)
      .execute();
  }

  async failures(principalId: string, windowStart: string): Promise<number> {
    const r = await this.db
      .selectFrom('second_factors')
      .select(['failures', 'failures_since'])
      .where('principal_id', '=', principalId)
      .executeTakeFirst();
    if (!r || r.failures_since === null || r.failures_since < windowStart) return 0;
    return Number(r.failures);
  }
}

function rowToFactor(r: Selectable<Database['second_factors']>): SecondFactorRecord {
  return {
    principalId: r.principal_id,
    kind: 'totp',
    secret: r.secret,
    createdAt: r.created_at,
    confirmedAt: r.confirmed_at,
    lastStep: r.last_step === null ? null : Number(r.last_step),
  };
}
