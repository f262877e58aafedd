/**
 * The notification outbox: one row per webhook and event, written in the transaction of the
 * change it announces, so a restart loses none; delivered (or given up) later, with its attempts.
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../../migrations/column-types.ts';

export function incidentOutbox(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('incident_outbox')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('webhook', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('incident_id', 'integer', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'text')
        .addColumn('last_error', 'text')
        .execute();
      await db.schema.createIndex('incident_outbox_due').on('incident_outbox').columns(['state', 'next_attempt_at']).execute();
    },
  };
}
