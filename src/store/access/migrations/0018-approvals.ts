/**
 * Multi-party approvals (a request for one action with the digest of its exact parameters, the
 * policy that decides it, its state; one decision per principal, enforced by the key) and
 * breakglass grants (time-boxed, each open until someone else reviews it).
 */
import type { Kysely, Migration } from 'kysely';

export function approvals(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('approvals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('resource', 'text', (c) => c.notNull())
        .addColumn('payload_digest', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('decided_at', 'text')
        .addColumn('executed_at', 'text')
        .execute();
      await db.schema.createIndex('approvals_state').on('approvals').columns(['state', 'requested_at']).execute();
      await db.schema
        .createTable('approval_decisions')
        .addColumn('approval_id', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('groups', 'text', (c) => c.notNull())
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('decided_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('approval_decisions_pk', ['approval_id', 'principal_id'])
        .execute();
      await db.schema
        .createTable('breakglass')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('permission', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('ends_at', 'text', (c) => c.notNull())
        .addColumn('reviewed_by', 'text')
        .addColumn('reviewed_at', 'text')
        .addColumn('review_note', 'text')
        .execute();
      await db.schema.createIndex('breakglass_principal').on('breakglass').columns(['principal_id', 'started_at']).execute();
    },
  };
}
