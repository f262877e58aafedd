/**
 * What a capability adds to the HTTP server: routes, metrics, hooks and the services other
 * capabilities use (the signal ingest, the run manager). `createServer` calls each capability's
 * part in registry order with one context; nothing in the server names a capability.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { AppDeps } from '../app/deps.ts';
import type { OverloadOptions } from './overload.ts';
import type { RouteRegistry } from './route.ts';

/**
 * What the server is started with. A capability adds the options it takes by declaration
 * merging from its part (`declare module '../server-part.ts' { interface ServerOptions { … } }`).
 */
export interface ServerOptions {
  deps: AppDeps;
  logger: Logger;
  webDir: string;
  bodyLimitBytes?: number;
  /** Requests in flight at which `normal` routes are refused (default 256); see overload.ts. */
  maxInFlight?: number;
  /** The other bounds of load shedding (event-loop delay, heap, per priority); see overload.ts. */
  overload?: Omit<OverloadOptions, 'maxInFlight'>;
}

/**
 * The services capabilities offer each other in the server, added by declaration merging from
 * the part that provides each (`interface Services { signals: SignalIngest }`).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Services {}

export interface ServerContext {
  app: FastifyInstance;
  routes: RouteRegistry;
  deps: AppDeps;
  options: ServerOptions;
  /** The server's Prometheus registry: a capability registers its own metrics. */
  metrics: Registry;
  log: FastifyBaseLogger;
  /** Services of the capabilities set up so far (those before this one in the registry). */
  services: Partial<Services>;
  /** Whether the server is shutting down (readiness answers 503 then). */
  draining(): boolean;
}

export type ServerPart = (ctx: ServerContext) => void | Promise<void>;

/** A service of a capability earlier in the registry; a clear error when the order is wrong. */
export function service<K extends keyof Services>(ctx: ServerContext, name: K, user: string): Services[K] {
  const s = ctx.services[name];
  if (s === undefined)
    throw new Error(`${user} needs the ${String(name)} service: list its capability before ${user} in src/capabilities/index.ts`);
  return s;
}
