/**
 * The HTTP server: wiring only. Dependencies come in as one object; nothing here is global, so
 * tests, the CLI and several servers in one process each build their own.
 */
import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AppDeps } from '../app/deps.ts';
import type { Publisher } from '../app/ledger/checkpoints.ts';
import { busDetections } from '../app/experiments/runner/detections.ts';
import type { Providers } from '../app/experiments/runner/providers.ts';
import { createRunManager, type RunManager, type RunManagerOptions } from '../app/experiments/run-manager.ts';
import type { RunWriter } from '../app/experiments/runner/run-writes.ts';
import { EMPTY_SERVER_POLICY, type ServerPolicy } from '../app/experiments/server-policy.ts';
import { nodeProviders } from '../adapters/providers/index.ts';
import { createSignalIngest, type SignalIngest, type SignalIngestOptions } from '../app/signals/ingest.ts';
import { SignalBus } from '../app/signals/signal-bus.ts';
import type { WebhookMapping } from '../core/signals/webhook-mapping.ts';
import { scrubTokens } from '../core/access/token-format.ts';
import { DomainError, notFound } from '../core/errors.ts';
import { registerAuth } from './auth.ts';
import { registerDashboard } from './dashboard.ts';
import { registerRequestFraming } from './request-framing.ts';
import { registerJsonParser } from './json-body.ts';
import { clientErrorHandler, errorHandler, frameworkErrorHandler, toHttp } from './http-errors.ts';
import { RequestLogController } from './logging.ts';
import { countSignals, createMetrics, experimentRunMetrics, overloadMetrics } from './metrics.ts';
import { OpenApiDocument, openApiDocument } from './openapi.ts';
import { AdmissionController, type OverloadOptions } from './overload.ts';
import { RouteRegistry, type AnyRoute } from './route.ts';
import { experimentRoutes } from './routes/experiments.ts';
import { ledgerRoutes } from './routes/ledger.ts';
import { runRoutes } from './routes/runs.ts';
import { signalRoutes } from './routes/signals.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { z } from 'zod';

import { VERSION } from '../version.ts';

export interface ServerOptions {
  deps: AppDeps;
  logger: Logger;
  webDir: string;
  bodyLimitBytes?: number;
  /** Requests in flight at which `normal` routes are refused (default 256); see overload.ts. */
  maxInFlight?: number;
  /** The other bounds of load shedding (event-loop delay, heap, per priority); see overload.ts. */
  overload?: Omit<OverloadOptions, 'maxInFlight'>;
  publishers?: readonly Publisher[];
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
  /**
   * Experiments: where runs keep file backups (the data directory), the allow-lists for process
   * and file providers (empty by default: refused), the providers (this machine's by default)
   * and the runner's options. Runs detect on the same bus the signal routes announce on.
   */
  experiments?: {
    stateDir?: string;
    policy?: ServerPolicy;
    providers?: Providers;
    runner?: Omit<RunManagerOptions, 'policy'>;
    /** Where run writes commit (default: on this thread); its owner closes it after the server. */
    runWriter?: RunWriter;
  };
}

export interface BulwarkServer {
  app: FastifyInstance;
  /** Every route with its declared auth, read from the route table. */
  routes: () => { method: string; url: string; auth: unknown }[];
  spec: readonly AnyRoute[];
  /** The signal ingest the routes write through; its bus announces each new signal. */
  signals: SignalIngest;
  /** Runs of applied experiments in this process (closed with the server: rollbacks run). */
  experiments: RunManager;
}

const PLAIN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id when it is short, plain and holds no token; a new UUID otherwise. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && PLAIN_ID.test(header) && scrubTokens(header) === header ? header : randomUUID();
}

export async function createServer(opts: ServerOptions): Promise<BulwarkServer> {
  const { deps } = opts;
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.logger as unknown as FastifyBaseLogger,
    bodyLimit: opts.bodyLimitBytes ?? 1024 * 1024,
    // A caller's X-Request-Id is kept only when it is a plain id: it goes into every log line.
    requestIdHeader: false,
    genReqId: (req) => requestIdOf(req.headers['x-request-id']),
    // Graceful shutdown: close idle keep-alive sockets at once, let in-flight requests finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Every answer in the API's shape, also those given before a route is found.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    // One line per request at debug instead of two at info (logging.ts).
    logController: new RequestLogController(),
  });
  const table: { method: string; url: string; auth: unknown; config: () => unknown }[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) table.push({ method, url: r.url, auth: undefined, config: () => r.config });
  });

  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  // Shed load before doing any work for it (overload.ts): by route priority, on requests in
  // flight, event-loop delay and heap, with 503 and Retry-After. Health checks are never shed.
  // Routes outside the route table (dashboard files, unknown paths) count as `low`.
  const admission = new AdmissionController({ ...opts.overload, maxInFlight: opts.maxInFlight });
  app.addHook('onListen', async () => admission.start());
  app.addHook('onClose', async () => admission.stop());
  app.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
    if (req.routeOptions.url === '/healthz' || req.routeOptions.url === '/readyz') return;
    // Delay and utilisation count for requests over a connection, not for inject() in the process.
    if (admission.admit(req.routeOptions.config.priority ?? 'low', req.raw.socket instanceof Socket) !== undefined) {
      const { status, body } = toHttp(new DomainError('overloaded', 'the server is busy; retry after the Retry-After delay'));
      return reply.code(status).header('retry-after', String(admission.retryAfterSeconds)).send(body);
    }
    reply.raw.once('close', () => admission.release());
  });
  // JSON only: a text body is refused with 415 instead of reaching validation as a string.
  app.removeContentTypeParser('text/plain');
  registerJsonParser(app);
  registerRequestFraming(app);
  registerAuth(app, deps);
  app.setErrorHandler(errorHandler);

  const registry = new RouteRegistry();
  const metrics = createMetrics(app, deps.store);
  overloadMetrics(metrics, admission);
  const ingest =
    opts.signals?.ingest ??
    createSignalIngest(deps, {
      bus: new SignalBus((err, event) => app.log.error({ err, event }, 'signal listener failed')),
      ...(opts.signals?.commit ? { commit: opts.signals.commit } : {}),
    });
  // After in-flight requests have finished: what they submitted is committed before the store closes.
  if (!opts.signals?.ingest) app.addHook('onClose', () => ingest.close());
  const uncount = countSignals(metrics, ingest.bus);
  app.addHook('onClose', async () => uncount());
  const dashboard = await registerDashboard(app, opts.webDir);
  const policy = opts.experiments?.policy ?? EMPTY_SERVER_POLICY;
  const experiments = createRunManager(
    {
      ...deps,
      providers: opts.experiments?.providers ?? nodeProviders(),
      stateDir: opts.experiments?.stateDir ?? path.join(tmpdir(), 'bulwark'),
      detections: busDetections(ingest.bus),
      ingest,
      metrics: experimentRunMetrics(metrics),
      ...(opts.experiments?.runWriter ? { runWriter: opts.experiments.runWriter } : {}),
    },
    { log: app.log, ...opts.experiments?.runner, policy },
  );
  // Before the ingest and the store close: aborted runs still write their rollbacks.
  app.addHook('preClose', async () => {
    void experiments.close();
  });
  app.addHook('onClose', () => experiments.close());

  registry.add(app, {
    method: 'GET',
    url: '/healthz',
    tag: 'operations',
    summary: 'Liveness: the process answers',
    auth: 'public',
    priority: 'critical',
    response: z.object({ status: z.literal('ok') }),
    handler: async () => ({ status: 'ok' as const }),
  });
  registry.add(app, {
    method: 'GET',
    url: '/readyz',
    tag: 'operations',
    summary: 'Readiness: the database answers and the server is not shutting down',
    auth: 'public',
    priority: 'critical',
    response: z.object({ status: z.literal('ready') }),
    errors: [503],
    handler: async ({ reply }) => {
      if (draining) return reply.code(503).header('retry-after', '1').send({ status: 'draining' });
      try {
        await deps.store.ping();
      } catch {
        return reply.code(503).header('retry-after', '1').send({ status: 'database unavailable' });
      }
      return { status: 'ready' as const };
    },
  });
  registry.add(app, {
    method: 'GET',
    url: '/metrics',
    tag: 'operations',
    summary: 'Prometheus metrics',
    auth: { permission: 'metrics:read' },
    // Overload must stay visible: a scrape is cheap and rare.
    priority: 'critical',
    // Text, not JSON: no response schema (the handler sends through the reply).
    produces: 'text/plain; version=0.0.4',
    handler: async ({ reply }) => reply.header('content-type', metrics.contentType).send(await metrics.metrics()),
  });
  ledgerRoutes(app, registry, deps, opts.publishers ?? []);
  tokenRoutes(app, registry, deps);
  signalRoutes(app, registry, deps, { ingest, webhooks: opts.signals?.webhooks ?? {} });
  experimentRoutes(app, registry, deps, { runs: experiments, policy });
  runRoutes(app, registry, deps, { runs: experiments });
  registry.add(app, {
    method: 'GET',
    url: '/v1/openapi.json',
    tag: 'operations',
    summary: 'This API, as an OpenAPI 3.1 document',
    auth: { permission: 'api:read' },
    priority: 'low',
    response: OpenApiDocument,
    handler: async () => openApiDocument(registry.routes, VERSION),
  });

  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0]!;
    // A missing asset is a 404, not the page: the browser would run HTML as a script.
    const wantsPage =
      (req.method === 'GET' || req.method === 'HEAD') &&
      !path.startsWith('/v1/') &&
      path !== '/v1' &&
      path !== '/metrics' &&
      !path.startsWith('/assets/');
    if (wantsPage) return reply.type('text/html; charset=utf-8').send(dashboard.indexHtml());
    throw notFound(`no route ${req.method} ${req.url.split('?')[0]}; the API is described at /v1/openapi.json`);
  });

  app.addHook('onReady', async () => {
    const undeclared = table.filter((r) => (r.config() as { auth?: unknown } | undefined)?.auth === undefined);
    if (undeclared.length > 0)
      throw new Error(`routes without an auth declaration: ${undeclared.map((r) => `${r.method} ${r.url}`).join(', ')}`);
  });

  return {
    app,
    routes: () => table.map((r) => ({ method: r.method, url: r.url, auth: (r.config() as { auth?: unknown } | undefined)?.auth })),
    spec: registry.routes,
    signals: ingest,
    experiments,
  };
}
