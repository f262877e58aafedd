/**
 * Playbooks, every applied version, runs (the version they run, state, the lease a replica holds
 * while it advances one) and step executions (state, attempts, outputs, a person's confirmation).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes, type Dialect } from '../../migrations/column-types.ts';

export function playbooks(dialect: Dialect): Migration {
  const { bigint } = columnTypes(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('playbooks')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('file_sha256', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('applied_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('playbook_versions')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('file_sha256', 'text', (c) => c.notNull())
        .addColumn('applied_at', 'text', (c) => c.notNull())
        .addColumn('applied_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('playbook_versions_pk', ['name', 'version'])
        .execute();
      await db.schema
        .createTable('playbook_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('playbook', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) =>
          c.notNull().check(sql`state in ('running', 'waiting', 'paused', 'succeeded', 'failed', 'cancelled')`),
        )
        .addColumn('inputs', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text')
        .addColumn('trigger_key', 'text')
        .addColumn('cursor', 'integer', (c) => c.notNull())
        .addColumn('wake_at', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('started_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('reason', 'text')
        .execute();
      // A signal starts at most one run of a playbook, whichever replica saw it.
      await db.schema.createIndex('playbook_runs_trigger').on('playbook_runs').columns(['playbook', 'trigger_key']).unique().execute();
      // The engine's claim: running runs that are due and not leased.
      await db.schema.createIndex('playbook_runs_due').on('playbook_runs').columns(['state', 'wake_at']).execute();
      await db.schema.createIndex('playbook_runs_created').on('playbook_runs').columns(['created_at', 'id']).execute();
      await db.schema
        .createTable('playbook_steps')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('outputs', 'text')
        .addColumn('error', 'text')
        .addColumn('idempotency_key', 'text')
        .addColumn('assignee', 'text')
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .addColumn('notes', 'text')
        .addColumn('time_spent_ms', bigint)
        .addColumn('done_by', 'text')
        .addColumn('done_by_id', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('playbook_steps_pk', ['run_id', 'idx'])
        .execute();
      // "My checklist": steps waiting for a person.
      await db.schema.createIndex('playbook_steps_state').on('playbook_steps').columns(['state', 'mode']).execute();
    },
  };
}
