/**
 * Backup and restore as JSON lines of `{table, row}`, portable between SQLite and PostgreSQL
 * (binary columns as {"$base64": …}). The backup is one snapshot; restore loads into an empty
 * database and verifies the ledger before it commits.
 */
import { invalid } from '../core/errors.ts';
import type { Store } from '../store/store.ts';
import type { VerifyReport } from '../core/ledger/verify-log.ts';
import { verifyLedger } from './ledger/verify.ts';

/** Format 2: the Merkle tree is kept in the entry rows and the head (store migration 0005). */
export const BACKUP_FORMAT = 'bulwark-backup/2';

/** Write the backup line by line through `write`; returns the number of rows. */
export async function writeBackup(store: Store, write: (line: string) => Promise<void> | void): Promise<number> {
  await write(JSON.stringify({ format: BACKUP_FORMAT, dialect: store.dialect }));
  let rows = 0;
  await store.dump(async ({ table, row }) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) out[k] = v instanceof Uint8Array ? { $base64: Buffer.from(v).toString('base64') } : v;
    rows += 1;
    await write(JSON.stringify({ table, row: out }));
  });
  return rows;
}

/** Restore into an empty database; the ledger is verified before commit, so a bad backup leaves nothing behind. */
export async function restoreLines(store: Store, lines: AsyncIterable<string>): Promise<{ rows: number; report: VerifyReport }> {
  const it = lines[Symbol.asyncIterator]();
  const first = await it.next();
  let header: { format?: string } = {};
  try {
    header = JSON.parse(first.done ? '{}' : first.value) as { format?: string };
  } catch {
    /* reported below */
  }
  if (header.format === 'bulwark-backup/1') {
    throw invalid(
      'this backup has format bulwark-backup/1, written before the ledger kept its tree in the entry rows; restore it with the Bulwark that wrote it, then start this version on that database (it migrates the ledger) and take a new backup',
    );
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
  let report: VerifyReport | undefined;
  const { rows: count } = await store.restore(rows(), async (tx) => {
    report = await verifyLedger(tx.ledger);
    if (!report.ok) throw invalid(`the backup does not verify, so nothing was restored: ${report.message}`, report);
  });
  return { rows: count, report: report! };
}
