/**
 * Routes are declared once with zod schemas: the same declaration validates requests, states
 * the permission the auth hook enforces, and feeds the OpenAPI document. A route without an
 * `auth` entry cannot be registered.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z, type ZodType } from 'zod';
import type { Permission, Principal } from '../core/access/permissions.ts';
import { parseInput } from '../core/validate.ts';

export type RouteAuth = 'public' | { permission: Permission };

/**
 * Who goes first under overload: `critical` (health, the global stop, signal ingest) is shed
 * last, `low` (listing pages, documents) first. Undeclared routes are `normal`.
 */
export type RoutePriority = 'critical' | 'normal' | 'low';

export interface RouteSpec<Q extends ZodType, B extends ZodType, P extends ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  summary: string;
  tag: string;
  auth: RouteAuth;
  priority?: RoutePriority;
  query?: Q;
  body?: B;
  params?: P;
  status?: number;
  response?: ZodType;
  /** Other answers the route gives, for the OpenAPI document. */
  errors?: number[];
  /** Where the response is not JSON (metrics), its media type. */
  produces?: string;
  handler(ctx: {
    query: z.output<Q>;
    body: z.output<B>;
    params: z.output<P>;
    principal: Principal;
    req: FastifyRequest;
    reply: FastifyReply;
  }): Promise<unknown>;
}

export type AnyRoute = RouteSpec<ZodType, ZodType, ZodType>;

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    priority?: RoutePriority;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

function parse<T extends ZodType>(schema: T | undefined, value: unknown, where: string): z.output<T> {
  if (!schema) return undefined as z.output<T>;
  return parseInput(schema, value ?? (where === 'body' ? undefined : {}), where);
}

export class RouteRegistry {
  readonly routes: AnyRoute[] = [];

  add<Q extends ZodType, B extends ZodType, P extends ZodType>(app: FastifyInstance, spec: RouteSpec<Q, B, P>): void {
    this.routes.push(spec);
    app.route({
      method: spec.method,
      url: spec.url,
      config: { auth: spec.auth, priority: spec.priority ?? 'normal' },
      handler: async (req, reply) => {
        const query = parse(spec.query, req.query, 'query');
        const params = parse(spec.params, req.params, 'path');
        const body = parse(spec.body, req.body, 'body');
        const result = await spec.handler({ query, body, params, principal: req.principal!, req, reply });
        if (reply.sent) return reply;
        // A handler may have chosen another success status (200 instead of 201, say).
        const status = reply.statusCode !== 200 ? reply.statusCode : (spec.status ?? 200);
        return reply.code(status).send(result);
      },
    });
  }
}
