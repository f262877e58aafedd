/**
 * The state of each SLO's burn-rate alerts as last announced (firing or not, since when), so that
 * a change is announced once as a signal, by one server of several on the database.
 */
import type { Kysely, Migration } from 'kysely';

export function sloAlertStates(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('slo_alert_states')
        .addColumn('slo', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('firing', 'integer', (c) => c.notNull())
        .addColumn('since', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('slo_alert_states_pk', ['slo', 'severity'])
        .execute();
    },
  };
}
