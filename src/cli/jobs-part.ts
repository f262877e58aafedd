/**
 * What a capability runs in the background of `bulwark serve`: started in registry order once
 * the server listens, stopped in reverse order before the server closes.
 */
import type { Logger } from 'pino';
import type { AppDeps } from '../app/deps.ts';
import type { Config } from '../config.ts';
import type { BulwarkServer, ServerOptions } from '../server/create-server.ts';

export interface JobContext {
  config: Config;
  deps: AppDeps;
  /** The server as started, with its services. */
  server: BulwarkServer;
  /** The options it was started with (e.g. the checkpoint publishers). */
  options: ServerOptions;
  logger: Logger;
  /** Whether the demo runs (`--demo`): its experiments are scheduled only then. */
  demo: boolean;
}

export interface Job {
  stop(): Promise<void> | void;
}

export type JobsPart = (ctx: JobContext) => Promise<Job>;
