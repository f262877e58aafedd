/**
 * A person's refused second-factor codes, counted on their own factor's row: how many in the
 * current window and when that window began. The throttle reads this one row (it once read the
 * newest failures of everyone from the ledger, which let one person lock all others out).
 */
import type { Kysely, Migration } from 'kysely';

export function secondFactorFailures(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('second_factors')
        .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('second_factors').addColumn('failures_since', 'text').execute();
    },
  };
}
