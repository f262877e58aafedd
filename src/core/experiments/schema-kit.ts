/**
 * Building blocks of the experiment schema: hand-written checks whose messages say what to fix,
 * strict objects that name the allowed keys, and the duration and seconds fields.
 */
import { z } from 'zod';
import { tryParseDuration } from './duration.ts';
import type { JsonValue } from './types.ts';

export type PathKey = string | number;

/** Messages the file parser rewrites with the key's name (it knows the path, the schema does not). */
export const REQUIRED = '\u0000required';
export const UNKNOWN_KEYS = '\u0000unknown:';

export type Check<T> = { ok: true; value: T } | { ok: false; message: string; path?: PathKey[]; params?: Record<string, unknown> };

export type Ctx = { issues: z.core.$ZodRawIssue[] };

/** Add an issue from inside a transform; returns zod's NEVER so the transform can return it. */
export function report(ctx: Ctx, input: unknown, message: string, path: PathKey[] = [], params?: Record<string, unknown>): never {
  ctx.issues.push({ code: 'custom', message, input, path, ...(params ? { params } : {}) });
  return z.NEVER;
}

/** A schema from a hand-written check, for messages zod cannot phrase. */
export function custom<T>(check: (v: unknown) => Check<T>) {
  return z.unknown().transform((v, ctx): T => {
    const r = check(v);
    return r.ok ? r.value : report(ctx, v, r.message, r.path, r.params);
  });
}

export const FAILED = Symbol('failed');

/** Parse `v` with `schema` from inside another check, passing its issues up with their paths; FAILED when it had any. */
export function forward<T>(schema: z.ZodType<T>, v: unknown, ctx: Ctx): T | typeof FAILED {
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  for (const i of r.error.issues) ctx.issues.push({ ...i, input: v } as z.core.$ZodRawIssue);
  return FAILED;
}

/** A strict object whose unknown-key issue carries the allowed keys, for "did you mean …". */
export function strict<S extends z.core.$ZodLooseShape>(shape: S) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? UNKNOWN_KEYS + JSON.stringify(allowed) : undefined),
  });
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const json = z.custom<JsonValue>(() => true);
export const text = z.string().min(1);
export const ok = <T>(value: T): Check<T> => ({ ok: true, value });
export const no = (message: string, path?: PathKey[]): Check<never> => ({ ok: false, message, ...(path ? { path } : {}) });

/** Seconds as Chaos Toolkit writes them (a number), or a Bulwark duration string; to ms. */
export const seconds = custom((v) => {
  if (v === undefined) return no(REQUIRED);
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return no('must be a number of seconds ≥ 0');
    return ok(Math.round(v * 1000));
  }
  if (typeof v === 'string') {
    const r = tryParseDuration(v);
    return r.ok ? ok(r.ms) : no(r.message);
  }
  return no("must be a number of seconds or a duration such as '5s'");
});

export const duration = custom((v) => {
  if (v === undefined) return no(REQUIRED);
  if (typeof v !== 'string') return no(`must be a duration with a unit, e.g. '${typeof v === 'number' ? `${v}s` : '2m'}'`);
  const r = tryParseDuration(v);
  return r.ok ? ok(r.ms) : no(r.message);
});
