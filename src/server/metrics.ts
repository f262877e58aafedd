/** Prometheus metrics, one registry per server instance (no global state). */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SignalBus } from '../app/signals/signal-bus.ts';
import type { RunMetrics } from '../app/experiments/run-experiment.ts';
import type { Store } from '../store/store.ts';
import { PRIORITIES, SHED_REASONS, type AdmissionController } from './overload.ts';

export function createMetrics(app: FastifyInstance, store: Store): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bulwark_' });
  const requests = new Counter({
    name: 'bulwark_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'bulwark_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
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
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern, not the URL, keeps label cardinality bounded.
    const route = req.is404 ? 'unknown' : (req.routeOptions.url ?? 'unknown');
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
  return registry;
}

/** Load shedding: refusals by route priority and reason, requests in flight, the event-loop delay it sees. */
export function overloadMetrics(registry: Registry, admission: AdmissionController): () => void {
  const shed = new Counter({
    name: 'bulwark_http_requests_shed_total',
    help: 'Requests refused with 503 before any work, by route priority and reason',
    labelNames: ['priority', 'reason'],
    registers: [registry],
  });
  for (const priority of PRIORITIES) for (const reason of SHED_REASONS) shed.inc({ priority, reason }, 0);
  new Gauge({
    name: 'bulwark_http_requests_in_flight',
    help: 'Requests admitted and not finished (health checks not counted)',
    registers: [registry],
    collect() {
      this.set(admission.stats().inFlight);
    },
  });
  new Gauge({
    name: 'bulwark_admission_event_loop_delay_seconds',
    help: 'Event-loop delay as load shedding sees it (smoothed, or the current lateness if larger)',
    registers: [registry],
    collect() {
      this.set(admission.lagMs() / 1000);
    },
  });
  return admission.onShed((priority, reason) => shed.inc({ priority, reason }));
}

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

/**
 * Experiment outcomes and times to detect, for the runner (ExperimentDeps.metrics). Idempotent
 * per registry: calling it again returns the same series.
 */
export function experimentRunMetrics(registry: Registry): RunMetrics {
  const runs =
    (registry.getSingleMetric('bulwark_experiment_runs_total') as Counter<'experiment' | 'outcome'> | undefined) ??
    new Counter({
      name: 'bulwark_experiment_runs_total',
      help: 'Experiment runs by experiment and outcome',
      labelNames: ['experiment', 'outcome'],
      registers: [registry],
    });
  const ttd =
    (registry.getSingleMetric('bulwark_experiment_time_to_detect_seconds') as Histogram<'experiment'> | undefined) ??
    new Histogram({
      name: 'bulwark_experiment_time_to_detect_seconds',
      help: 'Time from injection to the first matched detection, per run',
      labelNames: ['experiment'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers: [registry],
    });
  return {
    runFinished({ experiment, outcome, ttdMs }) {
      runs.inc({ experiment, outcome });
      if (ttdMs !== null) ttd.observe({ experiment }, ttdMs / 1000);
    },
  };
}
