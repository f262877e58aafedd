/**
 * The HTTP server: wiring only. Dependencies come in as one object; nothing here is global, so
 * tests, the CLI and several servers in one process each build their own.
 */
import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { CAPABILITIES } from '../capabilities/index.ts';
import { scrubTokens } from '../core/access/token-format.ts';
import { DomainError, notFound } from '../core/errors.ts';
import { registerAuth } from './auth.ts';
import { registerDashboard } from './dashboard.ts';
import { registerRequestFraming } from './request-framing.ts';
import { registerSecurityHeaders } from './security-headers.ts';
import { registerJsonParser } from './json-body.ts';
import { clientErrorHandler, errorHandler, frameworkErrorHandler, toHttp } from './http-errors.ts';
import { RequestLogController } from './logging.ts';
import { createMetrics, overloadMetrics } from './metrics.ts';
import { AdmissionController } from './overload.ts';
import { RouteRegistry, type AnyRoute } from './route.ts';
import type { ServerContext, ServerOptions, Services } from './server-part.ts';

export type { ServerOptions } from './server-part.ts';

/** The server, and the services its capabilities offer (`server.signals`, `server.experiments`, …). */
export interface BulwarkServer extends Services {
  app: FastifyInstance;
  /** Every route with its declared auth, read from the route table. */
  routes: () => { method: string; url: string; auth: unknown }[];
  spec: readonly AnyRoute[];
  /** The capability that declared each route. */
  ownerOf: ReadonlyMap<AnyRoute, string>;
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
  registerSecurityHeaders(app);
  registerAuth(app, deps);
  app.setErrorHandler(errorHandler);

  const registry = new RouteRegistry();
  const metrics = createMetrics(app);
  overloadMetrics(metrics, admission);
  const dashboard = await registerDashboard(app, opts.webDir);

  // Every capability adds its routes, metrics, hooks and services, in registry order.
  const ctx: ServerContext = {
    app,
    routes: registry,
    deps,
    options: opts,
    metrics,
    log: app.log,
    services: {},
    draining: () => draining,
  };
  for (const capability of CAPABILITIES) {
    const part = await capability.server?.();
    // Its routes are its own, also those it declares later (inside a plugin, say).
    await part?.({ ...ctx, routes: registry.ownedBy(capability.name) });
  }

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
    ...(ctx.services as Services),
    app,
    routes: () => table.map((r) => ({ method: r.method, url: r.url, auth: (r.config() as { auth?: unknown } | undefined)?.auth })),
    spec: registry.routes,
    ownerOf: registry.ownerOf,
  };
}
