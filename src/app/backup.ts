/**
 * Backup and restore as JSON lines of `{table, row}`, portable between SQLite and PostgreSQL
 * (binary columns as {"$base64": …}). Restore loads into an empty database and the caller
 * verifies the ledger afterwards.
 */
import { invalid } from '../core/errors.ts';
import type { Store } from '../store/store.ts';

export const BACKUP_FORMAT = 'bulwark-backup/1';

export async function* backupLines(store: Store): AsyncIterable<string> {
  yield JSON.stringify({ format: BACKUP_FORMAT, dialect: store.dialect });
  for await (const { table, row } of store.dump()) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) out[k] = v instanceof Uint8Array ? { $base64: Buffer.from(v).toString('base64') } : v;
    yield JSON.stringify({ table, row: out });
  }
}

export async function restoreLines(store: Store, lines: AsyncIterable<string>): Promise<{ rows: number }> {
  const it = lines[Symbol.asyncIterator]();
  const first = await it.next();
  let header: { format?: string } = {};
  try {
    header = JSON.parse(first.done ? '{}' : first.value) as { format?: string };
  } catch {
    /* reported below */
  }
  if (header.format !== BACKUP_FORMAT) throw invalid(`not a Bulwark backup: the first line must name the format ${BACKUP_FORMAT}`);
  let lineNo = 1;
  async function* rows() {
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      lineNo += 1;
      if (n.value.trim() === '') continue;
      let rec: { table?: unknown; row?: unknown };
      try {
        rec = JSON.parse(n.value) as typeof rec;
      } catch {
        throw invalid(`backup line ${lineNo} is not JSON`);
      }
      if (typeof rec.table !== 'string' || !rec.row || typeof rec.row !== 'object')
        throw invalid(`backup line ${lineNo} needs table and row`);
      const row: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(rec.row as Record<string, unknown>)) {
        row[k] = v && typeof v === 'object' && '$base64' in v ? Buffer.from(String(v.$base64), 'base64') : v;
      }
      yield { table: rec.table, row };
    }
  }
  return store.restore(rows());
}
