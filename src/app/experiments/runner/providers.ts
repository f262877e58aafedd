/**
 * The provider port: how the runner reaches the outside world (HTTP, processes, sockets, files).
 * One function per provider type that runs, derived from the registry in
 * core/experiments/providers/ (each type's module also defines its result); implementations
 * live in adapters/providers/, and tests use them as they are, over loopback. A type accepted
 * only so that files parse (python) has no implementation: such files are refused before the run.
 */
import {
  providerType,
  type Provider,
  type ProviderOf,
  type ProviderResult,
  type ResultOf,
  type RunnableProviderType,
} from '../../../core/experiments/providers/index.ts';

export type { HttpResult } from '../../../core/experiments/providers/http.ts';
export type { ProcessResult } from '../../../core/experiments/providers/process.ts';
export type { TcpResult } from '../../../core/experiments/providers/tcp.ts';
export type { FileResult } from '../../../core/experiments/providers/file.ts';
export type { ProviderResult };

export interface ProviderContext {
  /** The run id, carried into what is sent (header, user agent, environment). */
  runId: string;
  /** Aborts the activity: the request is cancelled, the process killed, the socket closed. */
  signal: AbortSignal;
  /**
   * Called by the provider at the moment the fault leaves Bulwark (the request is written, the
   * process started, the file renamed into place): the runner reads its clock then, and that is
   * the injection time that time to detect is measured from. Providers that cannot tell leave it
   * to the runner (activity start).
   */
  sent(): void;
}

/** One function per provider type that runs (the registry's types; adapters/providers/index.ts builds them). */
export type Providers = { [K in RunnableProviderType]: (p: ProviderOf<K>, ctx: ProviderContext) => Promise<ResultOf<K>> };

/** Thrown by a provider when the activity failed (Chaos Toolkit's ActivityFailed). */
export class ActivityFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActivityFailed';
  }
}

/** Run one provider through the port. */
export function runProvider(providers: Providers, p: Provider, ctx: ProviderContext): Promise<ProviderResult> {
  const unsupported = providerType(p).unsupported?.(p);
  // Refused before the run (unsupportedActivities); reaching here is a programmer mistake.
  if (unsupported !== undefined) return Promise.reject(new Error(unsupported));
  const run = providers[p.type as RunnableProviderType] as (p: Provider, ctx: ProviderContext) => Promise<ProviderResult>;
  return run(p, ctx);
}
