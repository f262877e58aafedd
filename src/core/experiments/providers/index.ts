/**
 * The provider types, registered once. A new type is a module in this folder (its model, schema,
 * substitution, rendering, description, blast radius, limits and host policy: see
 * provider-type.ts) plus one line here, and its adapter (adapters/providers/<type>.ts) plus one
 * line in adapters/providers/index.ts: two registries, because core cannot import adapters.
 * The order here is the order a file's error lists the types in.
 */
import { z } from 'zod';
import { fileType } from './file.ts';
import { httpType } from './http.ts';
import { processType } from './process.ts';
import type { ProviderType } from './provider-type.ts';
import { pythonType } from './python.ts';
import { tcpType } from './tcp.ts';

export const PROVIDER_TYPES = {
  http: httpType,
  process: processType,
  python: pythonType,
  tcp: tcpType,
  file: fileType,
} as const;

type Registry = typeof PROVIDER_TYPES;

/** The closed union of provider type names. */
export type ProviderTypeName = keyof Registry;

/** The model of a provider of type `K`. */
export type ProviderOf<K extends ProviderTypeName> = Parameters<Registry[K]['describe']>[0];

/** What the adapter of type `K` returns (`never` for a type that never runs). */
export type ResultOf<K extends ProviderTypeName> = NonNullable<Registry[K]['result']>;

export type Provider = { [K in ProviderTypeName]: ProviderOf<K> }[ProviderTypeName];

/** The types that run (have an adapter): all but those accepted only so that files parse. */
export type RunnableProviderType = { [K in ProviderTypeName]: [ResultOf<K>] extends [never] ? never : K }[ProviderTypeName];

export type ProviderResult = { [K in RunnableProviderType]: ResultOf<K> }[RunnableProviderType];

/** Any provider type, with its parts taking any provider (each is only called with its own type's). */
export type AnyProviderType = ProviderType<Provider, unknown>;

/** The module of a provider's type. */
export function providerType(p: Provider): AnyProviderType {
  return PROVIDER_TYPES[p.type];
}

/** The module of a type named by untrusted data (a stored rollback); undefined when there is none. */
export function providerTypeNamed(name: unknown): AnyProviderType | undefined {
  return typeof name === 'string' && Object.hasOwn(PROVIDER_TYPES, name) ? PROVIDER_TYPES[name as ProviderTypeName] : undefined;
}

/** The names of the types that run, in registry order. */
export const RUNNABLE_PROVIDER_TYPES = (Object.keys(PROVIDER_TYPES) as ProviderTypeName[]).filter(
  (k): k is RunnableProviderType => PROVIDER_TYPES[k].unsupported === undefined,
);

type Discriminable = z.core.$ZodTypeDiscriminable;

/** A provider, chosen by its `type`. */
export const providerSchema = z.discriminatedUnion(
  'type',
  Object.values(PROVIDER_TYPES).map((t) => t.schema) as unknown as [Discriminable, ...Discriminable[]],
) as unknown as z.ZodType<Provider, unknown>;
