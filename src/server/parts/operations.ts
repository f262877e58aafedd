/** Operations in the server: liveness, readiness, metrics and this API's description. */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { DomainError } from '../../core/errors.ts';
import { VERSION } from '../../version.ts';
import { OpenApiDocument, openApiDocument } from '../openapi.ts';
import type { ServerPart } from '../server-part.ts';

/** Not ready: 503 in the API's error shape, with Retry-After. */
function unavailable(reply: FastifyReply, why: string): DomainError {
  void reply.header('retry-after', '1');
  return new DomainError('unavailable', `not ready: ${why}`);
}

export const operationsServer: ServerPart = (ctx) => {
  const { app, routes, deps, metrics } = ctx;
  routes.add(app, {
    method: 'GET',
    url: '/healthz',
    tag: 'operations',
    summary: 'Liveness: the process answers',
    auth: 'public',
    priority: 'critical',
    response: z.object({ status: z.literal('ok') }),
    handler: async () => ({ status: 'ok' as const }),
  });
  routes.add(app, {
    method: 'GET',
    url: '/readyz',
    tag: 'operations',
    summary: 'Readiness: the database answers and the server is not shutting down',
    auth: 'public',
    priority: 'critical',
    response: z.object({ status: z.literal('ready') }),
    errors: [503],
    handler: async ({ reply }) => {
      if (ctx.draining()) throw unavailable(reply, 'the server is shutting down; another replica takes the traffic');
      try {
        await deps.store.ping();
      } catch {
        throw unavailable(reply, 'the database does not answer');
      }
      return { status: 'ready' as const };
    },
  });
  routes.add(app, {
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
  let openApi: ReturnType<typeof openApiDocument> | undefined;
  routes.add(app, {
    method: 'GET',
    url: '/v1/openapi.json',
    tag: 'operations',
    summary: 'This API, as an OpenAPI 3.1 document',
    auth: { permission: 'api:read' },
    priority: 'low',
    response: OpenApiDocument,
    // Built at the first request, once every capability has registered its routes (none can be
    // added once the server listens), then kept: it is the same for every request.
    handler: async () => (openApi ??= openApiDocument(routes.routes, VERSION)),
  });
};
