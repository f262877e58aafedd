/**
 * Incidents: the incident, its command roles as intervals (at most one open interval per role,
 * held by a partial unique index as well as by the use case), participants, the timeline (ledger
 * positions of its entries) and evidence, content-addressed by SHA-256.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes, type Dialect } from '../../migrations/column-types.ts';

export function incidents(dialect: Dialect): Migration {
  const { blob, bigint } = columnTypes(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('incidents')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('priority', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('restricted', 'integer', (c) => c.notNull())
        .addColumn('impact_started_at', 'text')
        .addColumn('declared_at', 'text', (c) => c.notNull())
        .addColumn('declared_by', 'text', (c) => c.notNull())
        .addColumn('mitigated_at', 'text')
        .addColumn('resolved_at', 'text')
        .addColumn('closed_at', 'text')
        .addColumn('case_id', 'integer')
        .execute();
      await db.schema
        .createTable('incident_roles')
        .addColumn('incident_id', 'integer', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('from_at', 'text', (c) => c.notNull())
        .addColumn('to_at', 'text')
        .addPrimaryKeyConstraint('incident_roles_pk', ['incident_id', 'role', 'from_at'])
        .execute();
      // One holder at a time: the same statement on SQLite and PostgreSQL.
      await sql`create unique index incident_roles_held on incident_roles (incident_id, role) where to_at is null`.execute(db);
      await db.schema
        .createTable('incident_participants')
        .addColumn('incident_id', 'integer', (c) => c.notNull())
        .addColumn('participant', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_participants_pk', ['incident_id', 'participant'])
        .execute();
      await db.schema
        .createTable('incident_timeline')
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('seq', sql.raw(bigint), (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_timeline_pk', ['subject', 'seq'])
        .execute();
      await db.schema
        .createTable('incident_evidence_blobs')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('bytes', sql.raw(blob), (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('incident_evidence')
        .addColumn('incident_id', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('collected_by', 'text', (c) => c.notNull())
        .addColumn('collected_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_evidence_pk', ['incident_id', 'sha256'])
        .execute();
    },
  };
}
