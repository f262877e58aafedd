/**
 * What a provider type is: every part of Bulwark that depends on an activity's `provider.type`
 * asks the type's module (one per type in this folder, registered in index.ts) instead of
 * switching on the name. The adapter that performs it is registered apart, in
 * adapters/providers/index.ts, because core cannot import adapters.
 */
import { z } from 'zod';
import { custom, isObject, no, ok, text, type PathKey } from '../schema-kit.ts';
import type { ExecutableEntry, ProcessCheckOptions, ProcessRefusal } from '../process-policy.ts';
import type { JsonValue } from '../types.ts';

/**
 * Rewrites the strings of a provider that may hold `${name}`: configuration substitution
 * (configuration.ts) and the technique library's templates (techniques/technique.ts).
 */
export interface StringRewriter {
  /** A string at `key` below the provider. */
  str(s: string, key: PathKey[]): string;
  /** A JSON payload at `key` (a whole-string `${name}` may take the value's own type). */
  json(v: JsonValue, key: PathKey[]): JsonValue;
  /** A value that is wrong once rewritten: configuration reports it, templating ignores it. */
  invalid(key: PathKey[], message: string): void;
}

/** The blast radius as a type's check sees it (blast-radius.ts builds it from the radius). */
export interface RadiusCheck {
  /** Why `host` is outside the radius's hosts; undefined when it is inside. */
  host(host: string): string | undefined;
  /** Why `path` (a URL path or a file) is outside the radius's paths, `what` naming it (`file /x`); undefined when inside. */
  path(path: string, what: string): string | undefined;
}

/**
 * One provider type. `P` is its model (what the schema produces), `R` the result its adapter
 * returns (what tolerances judge); `never` for a type that is accepted but never run.
 */
export interface ProviderType<P extends { type: string }, R> {
  type: P['type'];
  /** The provider as a file writes it → the model; messages say what to fix. */
  schema: z.ZodType<P, unknown>;
  /** Type only: the shape of the adapter's result. Never set. */
  readonly result?: R;
  /** Secret scopes the provider asks for (each must be declared under `secrets`). */
  secretScopes(p: P): string[];
  /** Why Bulwark cannot run it (warned at parse, refused before a run); absent when it can. */
  unsupported?(p: P): string;
  /** The provider with every string that may hold `${name}` rewritten, in file order. */
  rewriteStrings(p: P, rw: StringRewriter): P;
  /** The provider as an experiment file writes it (Chaos Toolkit's keys, seconds). */
  toFile(p: P): JsonValue;
  /** One line about what it does, for a dry run's plan (secrets are redacted by the caller). */
  describe(p: P): string;
  /** Why the (resolved) provider reaches outside the blast radius; empty when it stays inside. */
  blastRadius(p: P, radius: RadiusCheck): string[];
  /** What the per-target concurrency limit counts: host names and files. */
  limitTargets(p: P): { hosts: string[]; files: string[] };
  /**
   * Which of a method's actions are the injections: those of the lowest tier present
   * (0: requests, 1: processes and sockets, 2: file changes and anything else).
   */
  injectionTier: 0 | 1 | 2;
  /**
   * Acts on the host Bulwark runs on: on a server it needs experiments:privileged and the
   * allow-lists, and a crashed run's rollbacks are recovered on that host.
   */
  hostBound: boolean;
  /** Files it changes: the radius's paths and the path allow-lists apply; a rendered file's radius lists them. */
  files?(p: P): string[];
  /** Why an executable allow-list refuses it (experiments.allowExecutables, a run's policy). */
  executableRefusals?(p: P, entries: readonly ExecutableEntry[], opts?: ProcessCheckOptions): ProcessRefusal[];
  /** A change the runner backs up before the method and restores after the run, whatever the file says. */
  backups?: {
    /** The file this provider changes and the backup it names; undefined when it changes none. */
    change(p: P): { path: string; backup?: string } | undefined;
    /** The provider with its backup set. */
    withBackup(p: P, backup: string): P;
    /** The file and the backup this provider restores it from; undefined when it restores none. */
    restores(p: P): { path: string; backup: string } | undefined;
    /** A provider that restores `path` from `backup`. */
    restore(path: string, backup: string): P;
  };
}

// ── Pieces shared by the types' schemas and rewriters ─────────────────────────────────────────

/** A mapping of names to strings; numbers and booleans are written as text, as headers and env are. */
export const stringMap = custom((v) => {
  if (!isObject(v)) return no('must be a mapping of names to strings');
  const out: [string, string][] = [];
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'string') out.push([k, x]);
    else if (typeof x === 'number' || typeof x === 'boolean') out.push([k, String(x)]);
    else return no(`${k} must be a string`, [k]);
  }
  return ok(Object.fromEntries(out));
});

/** Secret scopes an activity asks for (Chaos Toolkit's `secrets` list). */
export const scopes = z.array(text).optional();

/** Every value of a string mapping (headers, env) rewritten, at `key` + its name. */
export const rewriteMap = (m: Record<string, string>, key: string, rw: StringRewriter): Record<string, string> =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, rw.str(v, [key, k])]));

/** Milliseconds as a file writes them: seconds. */
export const toSeconds = (ms: number) => ms / 1000;
