/**
 * Which incidents are tabletop exercises, and whether each is still running: a table of its own
 * (one row per exercise). The first version kept these as `exercise:ID` rows of the counters
 * table; they are moved here and removed there.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../../migrations/column-types.ts';

export function incidentExercises(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('incident_exercises')
        .addColumn('incident_id', 'integer', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('running', 'ended')`))
        .execute();
      const marks = (await db.selectFrom('incident_counters').select(['name', 'value']).where('name', 'like', 'exercise:%').execute()) as {
        name: string;
        value: number | string;
      }[];
      for (const m of marks) {
        await db
          .insertInto('incident_exercises')
          .values({ incident_id: Number(m.name.slice('exercise:'.length)), state: Number(m.value) === 2 ? 'ended' : 'running' })
          .execute();
      }
      await db.deleteFrom('incident_counters').where('name', 'like', 'exercise:%').execute();
    },
  };
}
