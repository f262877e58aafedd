/**
 * The providers over this machine's network stack, processes and file system: one adapter per
 * provider type that runs, registered here with one line. The type itself (schema, substitution,
 * blast radius, policy …) is registered in core/experiments/providers/index.ts; core cannot
 * import adapters, so a new type takes a line in each registry.
 */
import type { Providers } from '../../app/experiments/runner/providers.ts';
import { fileProvider } from './file.ts';
import { httpProvider } from './http.ts';
import { processProvider } from './process.ts';
import { tcpProvider } from './tcp.ts';

/** Each runnable provider type's adapter, made from its options. */
export const NODE_PROVIDERS = {
  http: httpProvider,
  process: processProvider,
  tcp: tcpProvider,
  file: fileProvider,
} satisfies { [K in keyof Providers]: (opts?: never) => Providers[K] };

/** Options per provider type (those of an adapter that takes any). */
export type NodeProvidersOptions = { [K in keyof typeof NODE_PROVIDERS]?: Parameters<(typeof NODE_PROVIDERS)[K]>[0] };

export function nodeProviders(opts: NodeProvidersOptions = {}): Providers {
  const make = (k: keyof Providers) => (NODE_PROVIDERS[k] as (o: unknown) => Providers[typeof k])(opts[k]);
  return Object.fromEntries((Object.keys(NODE_PROVIDERS) as (keyof Providers)[]).map((k) => [k, make(k)])) as Providers;
}
