/**
 * Routes are declared once with zod schemas: the same declaration validates requests, states
 * the permission the auth hook enforces, feeds the OpenAPI document, and types what the handler
 * returns (the response schema; the dashboard's types are derived from the same schemas, see
 * api-types.ts). A route without an `auth` entry cannot be registered; a JSON route without a
 * `response` schema, or whose handler returns another shape, does not compile.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z, type ZodType } from 'zod';
import type { Permission, Principal } from '../core/access/permissions.ts';
import { invalid } from '../core/errors.ts';
import { parseInput } from '../core/validate.ts';

export type RouteAuth =
  | 'public'
  | {
      permission: Permission;
      /**
       * Needs a second factor verified within the step-up window, on top of the permission
       * (the permissions in core/access/step-up.ts need one without saying so).
       */
      stepUp?: boolean;
    };

/**
 * Who goes first under overload: `critical` (health, the global stop, signal ingest) is shed
 * last, `low` (listing pages, documents) first. Undeclared routes are `normal`.
 */
export type RoutePriority = 'critical' | 'normal' | 'low';

/** What every handler is given. */
export interface RouteContext<Q extends ZodType, B extends ZodType, P extends ZodType> {
  query: z.output<Q>;
  body: z.output<B>;
  params: z.output<P>;
  principal: Principal;
  req: FastifyRequest;
  reply: FastifyReply;
}

interface RouteBase<Q extends ZodType, B extends ZodType, P extends ZodType> {
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
  /** Other answers the route gives, for the OpenAPI document. */
  errors?: number[];
}

/**
 * A JSON route: `response` is the schema of its success body, and the handler must return that
 * shape (checked by the compiler), or the reply when it sends something else itself (another
 * status with another body, say). Response schemas describe what is sent as it is: no
 * transforms, no defaults (a test holds every route to it).
 */
export interface JsonRouteSpec<Q extends ZodType, B extends ZodType, P extends ZodType, R extends ZodType> extends RouteBase<Q, B, P> {
  response: R;
  produces?: undefined;
  handler(ctx: RouteContext<Q, B, P>): Promise<z.input<R> | FastifyReply>;
}

/** A route whose success body is not JSON (metrics text, evidence bytes): it sends through the reply. */
export interface RawRouteSpec<Q extends ZodType, B extends ZodType, P extends ZodType> extends RouteBase<Q, B, P> {
  /** The media type of the success body, for the OpenAPI document. */
  produces: string;
  response?: undefined;
  handler(ctx: RouteContext<Q, B, P>): Promise<FastifyReply>;
}

export type RouteSpec<Q extends ZodType, B extends ZodType, P extends ZodType, R extends ZodType> =
  JsonRouteSpec<Q, B, P, R> | RawRouteSpec<Q, B, P>;

export type AnyRoute = RouteSpec<ZodType, ZodType, ZodType, ZodType>;

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
  /** Every route declared, in order (shared by the views ownedBy gives). */
  readonly routes: AnyRoute[];
  /** The capability that declared each route. */
  readonly ownerOf: Map<AnyRoute, string>;

  constructor(
    private readonly owner?: string,
    table?: RouteRegistry,
  ) {
    this.routes = table?.routes ?? [];
    this.ownerOf = table?.ownerOf ?? new Map();
  }

  /** The same table, adding routes as `owner`'s (a capability's part gets one). */
  ownedBy(owner: string): RouteRegistry {
    return new RouteRegistry(owner, this);
  }

  add<Q extends ZodType, B extends ZodType, P extends ZodType, R extends ZodType>(app: FastifyInstance, spec: RouteSpec<Q, B, P, R>): void {
    this.routes.push(spec);
    if (this.owner !== undefined) this.ownerOf.set(spec, this.owner);
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
