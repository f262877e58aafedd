/**
 * What an incident is linked to (the SLOs it affected, the ATT&CK techniques noted on it), and
 * every version of its postmortem document: never updated, a new version is a new row.
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../../migrations/column-types.ts';

export function incidentLinksPostmortems(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('incident_links')
        .addColumn('incident_id', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('ref', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addColumn('added_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_links_pk', ['incident_id', 'kind', 'ref'])
        .execute();
      await db.schema
        .createTable('incident_postmortems')
        .addColumn('incident_id', 'integer', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_postmortems_pk', ['incident_id', 'version'])
        .execute();
    },
  };
}
