/**
 * Triage: the settings document (severity model, resolution taxonomy, rules), counters (case and
 * incident numbers, triage's read positions in the ledger), cases and what each grouped.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes, type Dialect } from '../../migrations/column-types.ts';

export function incidentCases(dialect: Dialect): Migration {
  const { bigint } = columnTypes(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('incident_settings')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('file_sha256', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('incident_counters')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', sql.raw(bigint), (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('incident_cases')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('group_key', 'text', (c) => c.notNull())
        .addColumn('opened_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('items', 'integer', (c) => c.notNull())
        .addColumn('assignee', 'text')
        .addColumn('assigned_at', 'text')
        .addColumn('acknowledged_at', 'text')
        .addColumn('acknowledged_by', 'text')
        .addColumn('closed_at', 'text')
        .addColumn('resolution', 'text')
        .addColumn('incident_id', 'integer')
        .execute();
      await db.schema.createIndex('incident_cases_state').on('incident_cases').columns(['state', 'rule', 'group_key']).execute();
      await db.schema
        .createTable('incident_case_links')
        .addColumn('case_id', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('ref', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('resolved', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_case_links_pk', ['case_id', 'kind', 'ref'])
        .execute();
    },
  };
}
