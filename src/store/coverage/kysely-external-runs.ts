/** Runs imported from other tools' logs (ATTiRe), one row per procedure. */
import { CHUNK, chunks, type Db } from '../kysely/util.ts';
import type { ExternalRunRecord, ExternalRunRepo } from './port.ts';
import type { CoverageExternalRunTable } from './tables.ts';

const COLUMNS = 15;

const toRow = (r: ExternalRunRecord): CoverageExternalRunTable => ({
  id: r.id,
  format: r.format,
  execution_id: r.executionId,
  source: r.source,
  procedure: r.procedure,
  procedure_id: r.procedureId,
  technique: r.technique,
  target: JSON.stringify(r.target),
  started_at: r.startedAt,
  ended_at: r.endedAt,
  outcome: r.outcome,
  ttd_ms: r.ttdMs,
  signal_id: r.signalId,
  imported_at: r.importedAt,
  imported_by: r.importedBy,
});

const toRecord = (r: CoverageExternalRunTable): ExternalRunRecord => ({
  id: r.id,
  format: 'attire',
  executionId: r.execution_id,
  source: r.source,
  procedure: r.procedure,
  procedureId: r.procedure_id,
  technique: r.technique,
  target: JSON.parse(r.target) as ExternalRunRecord['target'],
  startedAt: r.started_at,
  endedAt: r.ended_at,
  outcome: r.outcome === 'detected' || r.outcome === 'detected-late' ? r.outcome : 'missed',
  ttdMs: r.ttd_ms === null ? null : Number(r.ttd_ms),
  signalId: r.signal_id,
  importedAt: r.imported_at,
  importedBy: r.imported_by,
});

export class KyselyExternalRuns implements ExternalRunRepo {
  constructor(private readonly db: Db) {}

  async insertMany(runs: readonly ExternalRunRecord[]): Promise<boolean[]> {
    const result = runs.map(() => false);
    const first = new Map<string, number>();
    runs.forEach((r, i) => {
      if (!first.has(r.id)) first.set(r.id, i);
    });
    // In id order, so that two imports of overlapping logs take the key locks in one order (PostgreSQL).
    const candidates = [...first.values()].map((i) => runs[i]!).sort((x, y) => (x.id < y.id ? -1 : 1));
    for (const part of chunks(candidates, Math.floor(CHUNK / COLUMNS))) {
      const written = await this.db
        .insertInto('coverage_external_runs')
        .values(part.map(toRow))
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      for (const r of written) result[first.get(r.id)!] = true;
    }
    return result;
  }

  async list(): Promise<ExternalRunRecord[]> {
    const rows = await this.db.selectFrom('coverage_external_runs').selectAll().orderBy('started_at').orderBy('id').execute();
    return rows.map(toRecord);
  }
}
