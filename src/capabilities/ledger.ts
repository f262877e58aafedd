/** The ledger: the append-only, tamper-evident record, its checkpoints, proofs and notes. */
import { ledgerEvents } from '../core/ledger/events.ts';
import { LEDGER_PERMISSIONS } from '../core/ledger/permissions.ts';
import { ledgerStore } from '../store/ledger/part.ts';
import { defineCapability } from './capability.ts';

export const ledger = defineCapability({
  name: 'ledger',
  summary: 'The append-only, tamper-evident record of everything Bulwark does and sees, with signed checkpoints and proofs.',
  permissions: LEDGER_PERMISSIONS,
  events: ledgerEvents,
  store: ledgerStore,
  server: async () => (await import('../server/parts/ledger.ts')).ledgerServer,
  commands: ['ledger'],
  cli: async () => (await import('../cli/ledger.ts')).ledgerCommands,
  jobs: async () => (await import('../cli/jobs/ledger.ts')).ledgerJobs,
});
