/**
 * Tasks of incidents (recovery checklists make several at once) and status reports, every
 * version of each kept: a report is its versions, the newest is what it says now.
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../../migrations/column-types.ts';

export function incidentTasksReports(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('incident_tasks')
        .addColumn('incident_id', 'integer', (c) => c.notNull())
        .addColumn('id', 'integer', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('owner', 'text')
        .addColumn('due_at', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('checklist', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('done_at', 'text')
        .addPrimaryKeyConstraint('incident_tasks_pk', ['incident_id', 'id'])
        .execute();
      await db.schema
        .createTable('incident_status_reports')
        .addColumn('incident_id', 'integer', (c) => c.notNull())
        .addColumn('report', 'integer', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('next_update_at', 'text')
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_status_reports_pk', ['incident_id', 'report', 'version'])
        .execute();
    },
  };
}
