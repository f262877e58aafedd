/** Coverage's settings document, one versioned row. */
import { sql } from 'kysely';
import type { Json } from '../../core/ledger/entry.ts';
import type { Db } from '../kysely/util.ts';
import type { CoverageSettingsRecord, CoverageSettingsRepo } from './port.ts';
import type { CoverageSettingsTable } from './tables.ts';

const ID = 'default';

const toRecord = (r: CoverageSettingsTable): CoverageSettingsRecord => ({
  settings: JSON.parse(r.settings) as Json,
  version: Number(r.version),
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

export class KyselyCoverageSettings implements CoverageSettingsRepo {
  constructor(private readonly db: Db) {}

  async get(): Promise<CoverageSettingsRecord | undefined> {
    const row = await this.db.selectFrom('coverage_settings').selectAll().where('id', '=', ID).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async put(settings: Json, by: string, now: string): Promise<CoverageSettingsRecord> {
    // One statement: of two writers at once each gets its own version.
    const row = await this.db
      .insertInto('coverage_settings')
      .values({ id: ID, settings: JSON.stringify(settings), version: 1, updated_at: now, updated_by: by })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          settings: (eb) => eb.ref('excluded.settings'),
          updated_at: (eb) => eb.ref('excluded.updated_at'),
          updated_by: (eb) => eb.ref('excluded.updated_by'),
          version: sql<number>`coverage_settings.version + 1`,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecord(row);
  }
}
