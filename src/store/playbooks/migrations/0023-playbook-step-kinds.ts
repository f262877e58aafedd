/** Step executions by kind and state: the `wait` steps a new signal may resume are found without a scan. */
import type { Kysely, Migration } from 'kysely';

export function playbookStepKinds(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.createIndex('playbook_steps_kind_state').on('playbook_steps').columns(['kind', 'state']).execute();
    },
  };
}
