/** The ledger in the server: its routes and the size of the log and of its latest checkpoint. */
import { Gauge } from 'prom-client';
import type { Publisher } from '../../app/ledger/checkpoints.ts';
import { ledgerRoutes } from '../routes/ledger.ts';
import type { ServerPart } from '../server-part.ts';

declare module '../server-part.ts' {
  interface ServerOptions {
    /** Where a checkpoint signed through the API is published (the checkpoint job's too). */
    publishers?: readonly Publisher[];
  }
}

export const ledgerServer: ServerPart = ({ app, routes, deps, options, metrics: registry }) => {
  const { store } = deps;
  new Gauge({
    name: 'bulwark_ledger_entries',
    help: 'Entries in the ledger',
    registers: [registry],
    async collect() {
      this.set((await store.ledger.head()).size);
    },
  });
  new Gauge({
    name: 'bulwark_ledger_checkpoint_size',
    help: 'Tree size of the latest signed checkpoint',
    registers: [registry],
    async collect() {
      this.set((await store.ledger.latestCheckpoint())?.size ?? 0);
    },
  });
  ledgerRoutes(app, routes, deps, options.publishers ?? []);
};
