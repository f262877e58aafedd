/**
 * Routes are declared once with zod schemas: the same declaration validates requests, states
 * the permission the auth hook enforces, and feeds the OpenAPI document. A route without an
 * `auth` entry cannot be registered.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z, type ZodType } from 'zod';
import type { Permission, Principal } from '../core/access/permissions.ts';
import { invalid } from '../core/errors.ts';
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
  /**
   * The body's schema. A route without one takes no body: a request that sends one is refused
   * (400) before it is parsed, so no route can read input it has not declared.
   */
  body?: B;
  /**
   * The route reads its body as raw bytes and parses it itself (signal ingest keeps the bytes as
   * evidence): the media types it takes, for the OpenAPI document.
   */
  rawBody?: readonly string[];
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
  // A JSON `null` body is a value (refused by an object schema), not an absent one.
  return parseInput(schema, where === 'body' ? value : (value ?? {}), where);
}

/** A body is on its way: a length above zero, or a chunked one (whose length is not known yet). */
function sendsBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length.trim() !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

export class RouteRegistry {
  readonly routes: AnyRoute[] = [];

  add<Q extends ZodType, B extends ZodType, P extends ZodType>(app: FastifyInstance, spec: RouteSpec<Q, B, P>): void {
    this.routes.push(spec);
    if (spec.body && spec.rawBody) throw new Error(`${spec.method} ${spec.url} declares both a body schema and a raw body`);
    const takesNoBody = !spec.body && !spec.rawBody;
    app.route({
      method: spec.method,
      url: spec.url,
      config: { auth: spec.auth, priority: spec.priority ?? 'normal' },
      // Before the body is read or parsed: a route that declares none takes none.
      ...(takesNoBody && {
        preParsing: async (req: FastifyRequest) => {
          if (sendsBody(req)) throw invalid(`${spec.method} ${spec.url} takes no body; send the request without one`);
        },
      }),
      handler: async (req, reply) => {
        const query = parse(spec.query, req.query, 'query');
        const params = parse(spec.params, req.params, 'path');
        const body = parse(spec.body, req.body, 'body');
        // The declared status first, so that a handler choosing another (200 for "already
        // there", say) is never overridden afterwards.
        void reply.code(spec.status ?? 200);
        const result = await spec.handler({ query, body, params, principal: req.principal!, req, reply });
        if (reply.sent) return reply;
        return reply.send(result);
      },
    });
  }
}
