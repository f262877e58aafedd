/**
 * Signals in the server: the ingest (its group commit and bus), offered to the capabilities
 * after it as the `signals` service, its counters, and its routes.
 */
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import { createSignalIngest, type SignalIngest, type SignalIngestOptions } from '../../app/signals/ingest.ts';
import { SignalBus } from '../../app/signals/signal-bus.ts';
import type { WebhookMapping } from '../../core/signals/webhook-mapping.ts';
import { signalRoutes } from '../routes/signals.ts';
import type { ServerPart } from '../server-part.ts';

declare module '../server-part.ts' {
  interface ServerOptions {
    /**
     * Signals in: the ingest (its batcher and bus) when the caller shares it, e.g. with the log
     * tailer (else the server makes one and closes it on close), and the declared webhook mappings.
     */
    signals?: {
      ingest?: SignalIngest;
      webhooks?: Readonly<Record<string, WebhookMapping>>;
      /** Where signal batches commit (default: on this thread); see SignalIngestOptions.commit. */
      commit?: SignalIngestOptions['commit'];
    };
  }
  interface Services {
    /** The signal ingest the routes write through; its bus announces each new signal. */
    signals: SignalIngest;
  }
}

export const signalsServer: ServerPart = (ctx) => {
  const { app, routes, deps, options } = ctx;
  const ingest =
    options.signals?.ingest ??
    createSignalIngest(deps, {
      bus: new SignalBus((err, event) => app.log.error({ err, event }, 'signal listener failed')),
      ...(options.signals?.commit ? { commit: options.signals.commit } : {}),
    });
  // After in-flight requests have finished: what they submitted is committed before the store closes.
  if (!options.signals?.ingest) app.addHook('onClose', () => ingest.close());
  const uncount = countSignals(ctx.metrics, ingest.bus);
  app.addHook('onClose', async () => uncount());
  ctx.services.signals = ingest;
  signalRoutes(app, routes, deps, { ingest, webhooks: options.signals?.webhooks ?? {} });
};

/** Signals written and resends acknowledged, by source, counted from the signal bus. */
export function countSignals(registry: Registry, bus: SignalBus): () => void {
  const received = new Counter({
    name: 'bulwark_signals_received_total',
    help: 'Signals written, by source',
    labelNames: ['source'],
    registers: [registry],
  });
  const duplicates = new Counter({
    name: 'bulwark_signals_duplicates_total',
    help: 'Resent signals acknowledged without writing, by source',
    labelNames: ['source'],
    registers: [registry],
  });
  const offReceived = bus.on('signal', (s) => received.inc({ source: s.source }));
  const offDuplicate = bus.on('duplicate', (d) => duplicates.inc({ source: d.source }));
  return () => {
    offReceived();
    offDuplicate();
  };
}
