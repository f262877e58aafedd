/**
 * The principals behind runs and versions, by id: who started a run (a signal's or schedule's
 * run: who applied the version it runs), and who applied each version. An approval step's request
 * names the run's starter as its requester, so Access never lets that person approve it.
 * Rows from before have none (null): their approval steps are requested by the run itself.
 */
import type { Kysely, Migration } from 'kysely';

export function playbookPrincipals(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('playbook_runs').addColumn('started_by_id', 'text').execute();
      await db.schema.alterTable('playbooks').addColumn('applied_by_id', 'text').execute();
      await db.schema.alterTable('playbook_versions').addColumn('applied_by_id', 'text').execute();
    },
  };
}
