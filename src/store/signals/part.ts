/** Signals' store part: signals, the raw payloads kept as their evidence, the log tailer's read positions. */
import type { StorePart } from '../store-part.ts';
import { KyselySignals } from './kysely-signals.ts';
import { signals } from './migrations/0002-signals.ts';
import type {} from './port.ts';
import type {} from './tables.ts';

export const signalsStore: StorePart = {
  tables: [
    { name: 'signal_evidence', backup: true },
    { name: 'signals', backup: true },
    { name: 'signal_file_offsets', backup: true },
  ],
  migrations: { '0002_signals': signals },
  repos: (ctx) => ({ signals: new KyselySignals(ctx.db) }),
  contract: async () => (await import('./signals.contract.ts')).signalRepoContract,
};
