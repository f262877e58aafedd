/** Experiment runs' stored rollbacks as text, for sealing in place and key rotation (compare-and-set on the text). */
import type { Db } from '../kysely/util.ts';
import type { RunRollbackSealRepo } from './port.ts';

export class KyselyRunRollbackSeals implements RunRollbackSealRepo {
  constructor(private readonly db: Db) {}

  async list(): Promise<{ runId: string; rollbacks: string }[]> {
    const rows = await this.db
      .selectFrom('experiment_runs')
      .select(['id', 'rollbacks'])
      .where('rollbacks', '!=', '[]')
      .orderBy('id', 'asc')
      .execute();
    return rows.map((r) => ({ runId: r.id, rollbacks: r.rollbacks }));
  }

  async replace(runId: string, from: string, to: string): Promise<boolean> {
    const r = await this.db
      .updateTable('experiment_runs')
      .set({ rollbacks: to })
      .where('id', '=', runId)
      .where('rollbacks', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
