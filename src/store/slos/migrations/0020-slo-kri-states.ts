/**
 * The colour of each KRI as last announced (and since when), so that a change of colour is
 * announced once as a signal, by one server of several on the database.
 */
import type { Kysely, Migration } from 'kysely';

export function sloKriStates(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('slo_kri_states')
        .addColumn('kri', 'text', (c) => c.primaryKey())
        .addColumn('colour', 'text', (c) => c.notNull())
        .addColumn('since', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
