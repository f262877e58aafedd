/** Prometheus metrics, one registry per server instance (no global state). */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PRIORITIES, SHED_REASONS, type AdmissionController } from './overload.ts';

/** The server's registry: process metrics and HTTP requests; each capability adds its own (server/parts/). */
export function createMetrics(app: FastifyInstance): Registry {
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
