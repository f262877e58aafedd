/**
 * Second factors of people (TOTP secrets and the last time step accepted, for replay refusal),
 * their recovery codes (hashes only), when a session last verified its second factor (step-up),
 * and when a token was last used (written at most once a minute per token).
 */
import type { Kysely, Migration } from 'kysely';
import { columnTypes, type Dialect } from '../../migrations/column-types.ts';

export function secondFactors(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('second_factors')
        .addColumn('principal_id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('confirmed_at', 'text')
        .addColumn('last_step', t.bigint)
        .execute();
      await db.schema
        .createTable('recovery_codes')
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .addPrimaryKeyConstraint('recovery_codes_pk', ['principal_id', 'hash'])
        .execute();
      await db.schema.alterTable('sessions').addColumn('second_factor_at', 'text').execute();
      await db.schema.alterTable('tokens').addColumn('last_used_at', 'text').execute();
    },
  };
}
