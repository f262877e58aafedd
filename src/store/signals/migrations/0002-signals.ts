/**
 * Signals in: the normalised signals, the raw payloads kept once as evidence (keyed by their
 * SHA-256), and the log tailer's read positions.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes, type Dialect } from '../../migrations/column-types.ts';

export function signals(dialect: Dialect): Migration {
  const { blob, bigint } = columnTypes(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('signal_evidence')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('bytes', sql.raw(blob), (c) => c.notNull())
        .execute();
      // Keyed by the fingerprint, the dedup key. The id is `sig_` + the fingerprint's first 32 hex
      // digits, so lookups by id are range scans of this key: a second index on a hash would cost
      // one more random page write per signal at every commit, for nothing. No foreign key from
      // raw_digest: evidence is written after the insert tells which signals are new (a resend
      // writes nothing), in the same transaction.
      await db.schema
        .createTable('signals')
        .addColumn('fingerprint', 'text', (c) => c.primaryKey())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text')
        .addColumn('resolved', 'integer', (c) => c.notNull())
        .addColumn('raw_digest', 'text', (c) => c.notNull())
        .execute();
      // Listing is newest first by receipt, keyset-paged on (received_at, id).
      await db.schema.createIndex('signals_received').on('signals').columns(['received_at', 'id']).execute();
      await db.schema.createIndex('signals_source_received').on('signals').columns(['source', 'received_at', 'id']).execute();
      await db.schema.createIndex('signals_run_id').on('signals').columns(['run_id', 'received_at', 'id']).execute();
      await db.schema
        .createTable('signal_file_offsets')
        .addColumn('path', 'text', (c) => c.primaryKey())
        .addColumn('inode', 'text', (c) => c.notNull())
        .addColumn('offset', bigint, (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
