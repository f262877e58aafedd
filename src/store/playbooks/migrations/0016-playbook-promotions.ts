/** Promotions of a step to `auto`: asked by one person, approved or rejected by another. */
import type { Kysely, Migration } from 'kysely';

export function playbookPromotions(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('playbook_promotions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('playbook', 'text', (c) => c.notNull())
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('from_version', 'integer', (c) => c.notNull())
        .addColumn('from_mode', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('requested_by_id', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('new_version', 'integer')
        .execute();
      await db.schema.createIndex('playbook_promotions_step').on('playbook_promotions').columns(['playbook', 'step_id', 'state']).execute();
    },
  };
}
