/** Applied SLOs over kysely, the same queries on SQLite and PostgreSQL. */
import { sql } from 'kysely';
import type { Database } from '../schema.ts';
import type { Db } from '../kysely/util.ts';
import type { DeletedSloRecord, SloInput, SloRecord, SloRepo } from './port.ts';

export class KyselySlos implements SloRepo {
  constructor(private readonly db: Db) {}

  async put(s: SloInput, now: string): Promise<SloRecord> {
    const row: Database['slos'] = {
      name: s.name,
      display_name: s.displayName,
      service: s.service,
      format: s.format,
      file: s.file,
      file_sha256: s.fileSha256,
      version: 1,
      created_at: now,
      updated_at: now,
      applied_by: s.appliedBy,
      policy_state: null,
      deleted_at: null,
      deleted_by: null,
    };
    const stored = await this.db
      .insertInto('slos')
      .values(row)
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({
          display_name: (eb) => eb.ref('excluded.display_name'),
          service: (eb) => eb.ref('excluded.service'),
          format: (eb) => eb.ref('excluded.format'),
          file: (eb) => eb.ref('excluded.file'),
          file_sha256: (eb) => eb.ref('excluded.file_sha256'),
          updated_at: (eb) => eb.ref('excluded.updated_at'),
          applied_by: (eb) => eb.ref('excluded.applied_by'),
          version: sql<number>`slos.version + 1`,
          created_at: sql<string>`case when slos.deleted_at is null then slos.created_at else excluded.created_at end`,
          policy_state: null,
          deleted_at: null,
          deleted_by: null,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return fromRow(stored);
  }

  async get(name: string): Promise<SloRecord | undefined> {
    const r = await this.db.selectFrom('slos').selectAll().where('name', '=', name).where('deleted_at', 'is', null).executeTakeFirst();
    return r ? fromRow(r) : undefined;
  }

  async list(): Promise<SloRecord[]> {
    const rows = await this.db.selectFrom('slos').selectAll().where('deleted_at', 'is', null).orderBy('name', 'asc').execute();
    return rows.map(fromRow);
  }

  async delete(name: string, by: string, now: string): Promise<DeletedSloRecord | undefined> {
    const r = await this.db
      .updateTable('slos')
      .set({ deleted_at: now, deleted_by: by, file: '' })
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!r) return undefined;
    const rest: Omit<SloRecord, 'file'> & { file?: string } = fromRow(r);
    delete rest.file;
    return { ...rest, deletedAt: now, deletedBy: by };
  }

  async setPolicyState(name: string, version: number, state: 'ok' | 'freeze'): Promise<{ from: 'ok' | 'freeze' | null } | undefined> {
    // Read the old state and write the new one in one statement: the WHERE makes it a compare and
    // set, so of two evaluations at once only one sees the change.
    const before = await this.db
      .selectFrom('slos')
      .select('policy_state')
      .where('name', '=', name)
      .where('version', '=', version)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!before || before.policy_state === state) return undefined;
    const r = await this.db
      .updateTable('slos')
      .set({ policy_state: state })
      .where('name', '=', name)
      .where('version', '=', version)
      .where('deleted_at', 'is', null)
      .where((eb) => (before.policy_state === null ? eb('policy_state', 'is', null) : eb('policy_state', '=', before.policy_state)))
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return undefined;
    return { from: before.policy_state as 'ok' | 'freeze' | null };
  }

  async setKriColour(kri: string, colour: string, at: string): Promise<{ from: string | null; since: string | null } | undefined> {
    const before = await this.db.selectFrom('slo_kri_states').select(['colour', 'since']).where('kri', '=', kri).executeTakeFirst();
    if (!before) {
      const r = await this.db
        .insertInto('slo_kri_states')
        .values({ kri, colour, since: at })
        .onConflict((oc) => oc.column('kri').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0 ? { from: null, since: null } : undefined;
    }
    if (before.colour === colour) return undefined;
    const r = await this.db
      .updateTable('slo_kri_states')
      .set({ colour, since: at })
      .where('kri', '=', kri)
      .where('colour', '=', before.colour)
      .where('since', '=', before.since)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0 ? { from: before.colour, since: before.since } : undefined;
  }

  async setAlertState(
    slo: string,
    severity: 'page' | 'ticket',
    firing: boolean,
    at: string,
  ): Promise<{ since: string | null } | undefined> {
    const want = firing ? 1 : 0;
    const before = await this.db
      .selectFrom('slo_alert_states')
      .select(['firing', 'since'])
      .where('slo', '=', slo)
      .where('severity', '=', severity)
      .executeTakeFirst();
    if (!before) {
      const r = await this.db
        .insertInto('slo_alert_states')
        .values({ slo, severity, firing: want, since: at })
        .onConflict((oc) => oc.columns(['slo', 'severity']).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0 ? { since: null } : undefined;
    }
    if (Number(before.firing) === want) return undefined;
    const r = await this.db
      .updateTable('slo_alert_states')
      .set({ firing: want, since: at })
      .where('slo', '=', slo)
      .where('severity', '=', severity)
      .where('firing', '=', Number(before.firing))
      .where('since', '=', before.since)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0 ? { since: before.since } : undefined;
  }
}

function fromRow(r: Database['slos']): SloRecord {
  return {
    name: r.name,
    displayName: r.display_name,
    service: r.service,
    format: r.format as SloRecord['format'],
    file: r.file,
    fileSha256: r.file_sha256,
    version: Number(r.version),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    appliedBy: r.applied_by,
    policyState: r.policy_state as SloRecord['policyState'],
  };
}
