/**
 * What a built-in attack technique is, and the pieces every technique builds with. A technique
 * turns validated parameters and a target into activities of the experiment model itself, so a
 * generated experiment goes through the same parser, blast-radius check and runner as a file a
 * person wrote. Pure: no I/O, no clock (techniques that need the time take it as a parameter),
 * no randomness.
 *
 * Activities come out exactly as `parseExperiment` would produce them from a file: strings are
 * still templates, so a literal `$` is written `$$` and canary values refer to `${bulwark_run_id}`,
 * which the run resolves to its own id (see RUN_ID_KEY).
 */
import { z } from 'zod';
import { invalid } from '../../errors.ts';
import { CANARY_PREFIX, isRunId } from '../../signals/correlation.ts';
import { suggest } from '../issues.ts';
import { providerType } from '../providers/index.ts';
import type { Activity, FileProvider, HttpProvider, JsonValue, ProcessProvider, SecretEntry, Step } from '../types.ts';

/**
 * The configuration key that carries the run id into canary values. A rendered file declares it
 * with the id it was rendered for (so the file is complete on its own); the runner sets it to each
 * run's id, so every run plants canaries naming itself, however often a scheduled file runs.
 */
export const RUN_ID_KEY = 'bulwark_run_id';

/** No technique produces more activities than this (the request burst's 1000 requests are refs to one). */
export const MAX_ACTIVITIES = 1100;

export interface TechniqueContext {
  /** The base URL every http request goes to (paths are joined below its path); http and TLS techniques need it. */
  target?: string;
  /** The run id canaries name when nothing overrides `${bulwark_run_id}`: `[a-z0-9]{8,32}`. */
  runId: string;
}

/** What a technique suggests for the experiment's `expect` block; written as an experiment file writes it. */
export interface ExpectHints {
  /** A tolerance over the injected request's result that means "the control blocked it", e.g. 403 or [401, 403]. */
  blocked?: JsonValue;
  /** Detections that a common detector raises for this technique (named after the detector they assume). */
  detected?: { name: string; when: string; within: string }[];
}

export interface TechniqueBuild {
  method: Step[];
  rollbacks: Step[];
  expectHints?: ExpectHints;
  /** Secret scopes the activities read, declared in the file (values from the environment, never inline). */
  secrets?: Record<string, Record<string, SecretEntry>>;
  /** Files that process activities change (the file provider's own paths are read from the activities). */
  touches?: string[];
  /** What the file cannot express by itself and how the activities work around it. */
  notes?: string[];
}

export type TechniqueKind = 'http' | 'tls' | 'file';

export interface Technique<P = unknown> {
  /** Stable id, `family.name`: `web.sqli`. */
  id: string;
  name: string;
  /** MITRE ATT&CK technique ids. */
  attack: string[];
  /** What it injects and how it reverts, in a sentence or two. */
  description: string;
  /** http and tls techniques need a target URL; file techniques work on paths given as parameters. */
  kind: TechniqueKind;
  /** Parameters with their defaults and limits; unknown keys are refused. */
  params: z.ZodType<P>;
  /** Parameters never written back into a rendered file (keys, tokens). */
  secretParams?: string[];
  /** Activities for one run, in the experiment model's own types. Throws DomainError `invalid` on a bad target. */
  build(params: P, ctx: TechniqueContext): TechniqueBuild;
}

// Private markers for "`${name}` goes here", swapped for the reference once every literal `$` has
// been escaped; parameters cannot contain them (they refuse control characters).
const REF = /\u0000ref:([A-Za-z_][A-Za-z0-9_]*)\u0000/g;

/** A reference to a configuration or secret value inside an activity string: becomes `${name}` in the file. */
export function ref(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a configuration name: ${JSON.stringify(name)}`);
  return `\u0000ref:${name}\u0000`;
}

/** A canary value naming the run (`bwk-canary-${bulwark_run_id}-<tag>`), for use inside activity strings. */
export function canary(tag?: string): string {
  if (tag === undefined) return `${CANARY_PREFIX}${ref(RUN_ID_KEY)}`;
  if (!/^[a-z0-9]{1,16}$/.test(tag)) throw new Error(`canary tag must match [a-z0-9]{1,16}, got ${JSON.stringify(tag)}`);
  return `${CANARY_PREFIX}${ref(RUN_ID_KEY)}-${tag}`;
}

/** Write a raw string as an experiment-file template: `$` → `$$`, each ref() marker → `${name}`. */
export function toTemplate(raw: string): string {
  return raw.replaceAll('$', '$$$$').replace(REF, (_all, name: string) => `\${${name}}`);
}

function templateJson(v: JsonValue): JsonValue {
  if (typeof v === 'string') return toTemplate(v);
  if (Array.isArray(v)) return v.map(templateJson);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, templateJson(x)]));
  return v;
}

/** The activity with every provider string turned into a template (see toTemplate). */
function templateActivity(a: Activity): Activity {
  const provider = providerType(a.provider).rewriteStrings(a.provider, {
    str: (s) => toTemplate(s),
    json: (v) => templateJson(v),
    // The rendered file is parsed again, which judges every value.
    invalid: () => {},
  });
  return provider === a.provider ? a : { ...a, provider };
}

/** Steps as templates; refs keep pointing at the (converted) activity they name, as the parser resolves them. */
function templateSteps(steps: Step[], done: Map<Activity, Activity>): Step[] {
  const convert = (a: Activity) => {
    const prior = done.get(a);
    if (prior) return prior;
    const out = templateActivity(a);
    done.set(a, out);
    return out;
  };
  return steps.map((s) => ('ref' in s ? { ref: s.ref, activity: convert(s.activity) } : convert(s)));
}

/** Declare a technique: `inject` writes raw strings; the declared `build` checks the context and returns templates. */
export function defineTechnique<P>(
  spec: Omit<Technique<P>, 'build'> & { inject: (params: P, ctx: TechniqueContext) => TechniqueBuild },
): Technique<P> {
  const { inject, ...rest } = spec;
  return {
    ...rest,
    build(params: P, ctx: TechniqueContext): TechniqueBuild {
      if (!isRunId(ctx.runId)) throw invalid(`run id must match [a-z0-9]{8,32}, got ${JSON.stringify(ctx.runId)}`);
      if (spec.kind !== 'file') parseTarget(ctx.target);
      const raw = inject(params, ctx);
      const done = new Map<Activity, Activity>();
      const method = templateSteps(raw.method, done);
      const rollbacks = templateSteps(raw.rollbacks, done);
      if (method.length + rollbacks.length > MAX_ACTIVITIES) {
        throw new Error(`${spec.id} produced ${method.length + rollbacks.length} activities; the limit is ${MAX_ACTIVITIES}`);
      }
      return { ...raw, method, rollbacks };
    },
  };
}

export type ParamsResult<P> = { ok: true; params: P } | { ok: false; errors: string[] };

/** Validate raw parameters (from a file, the CLI or the API) against a technique; each error names the parameter and the fix. */
export function parseParams<P>(technique: Technique<P>, raw: unknown): ParamsResult<P> {
  const r = technique.params.safeParse(raw ?? {});
  if (r.success) return { ok: true, params: r.data };
  const allowed = paramNames(technique);
  const errors = r.error.issues.flatMap((i): string[] => {
    const name = i.path.map(String).join('.') || 'params';
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => {
        const guess = suggest(k, allowed);
        return `no parameter '${k}'; ${guess ? `did you mean '${guess}'?` : `its parameters: ${allowed.join(', ')}`}`;
      });
    }
    if (i.code === 'too_big' || i.code === 'too_small') {
      const dir = i.code === 'too_big' ? 'at most' : 'at least';
      const bound = i.code === 'too_big' ? i.maximum : i.minimum;
      const unit = i.origin === 'array' ? ' item(s)' : i.origin === 'string' ? ' character(s)' : '';
      return [`parameter ${name} must be ${dir} ${String(bound)}${unit}`];
    }
    return [`parameter ${name}: ${i.message}`];
  });
  return { ok: false, errors };
}

/** The names of a technique's parameters, in declaration order. */
export function paramNames(technique: Technique): string[] {
  const schema = technique.params as unknown as { shape?: Record<string, unknown> };
  return schema.shape ? Object.keys(schema.shape) : [];
}

/** Parse and check a target URL: absolute http(s), no credentials, query or fragment (they would leak into every request). */
export function parseTarget(target: string | undefined): URL {
  if (target === undefined || target === '')
    throw invalid('this technique needs a target: the base URL of the service, e.g. http://127.0.0.1:8080');
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw invalid(`target '${target}' is not an absolute URL; write e.g. http://127.0.0.1:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`target '${target}' must be an http or https URL`);
  if (url.hostname === '') throw invalid(`target '${target}' has no host`);
  if (url.username !== '' || url.password !== '') throw invalid(`target '${target}' must not carry credentials; remove user:password@`);
  if (url.search !== '' || url.hash !== '') throw invalid(`target '${target}' must not have a query or fragment; give the base URL only`);
  return url;
}

/** The target's path without a trailing slash (empty for the root), the prefix every request path goes under. */
export function targetPrefix(target: URL): string {
  return target.pathname.replace(/\/+$/, '');
}

/**
 * The URL for `path` under the target: `http://h/shop` + `/login` → `http://h/shop/login`. The
 * result must stay on the target's origin and under its path; anything else is refused.
 */
export function urlUnder(target: URL, path: string): string {
  if (!path.startsWith('/') || path.startsWith('//')) throw invalid(`path '${path}' must start with a single '/'`);
  const prefix = targetPrefix(target);
  const url = new URL(`${target.origin}${prefix}${path}`);
  if (url.origin !== target.origin) throw invalid(`path '${path}' leaves the target ${target.origin}`);
  if (prefix !== '' && url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) {
    throw invalid(`path '${path}' leaves the target's path ${prefix}`);
  }
  return url.href;
}

// ── Activity constructors: the normalised shapes parseExperiment produces ─────────────────────

interface ActivityOptions {
  type?: 'action' | 'probe';
  background?: boolean;
  pauseAfterMs?: number;
}

function activity(name: string, provider: Activity['provider'], o: ActivityOptions = {}): Activity {
  return {
    type: o.type ?? 'action',
    name,
    provider,
    pauses: o.pauseAfterMs !== undefined ? { afterMs: o.pauseAfterMs } : {},
    background: o.background ?? false,
    controls: [],
  };
}

export interface HttpRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  arguments?: JsonValue;
  body?: JsonValue;
  timeoutMs: number;
  secrets?: string[];
}

/** One http request as an action (or probe); never retried: every injected request is counted. */
export function httpActivity(name: string, r: HttpRequest, o: ActivityOptions = {}): Activity {
  const provider: HttpProvider = {
    type: 'http',
    url: r.url,
    method: (r.method ?? 'GET').toUpperCase(),
    headers: r.headers ?? {},
    ...(r.arguments !== undefined ? { arguments: r.arguments } : {}),
    ...(r.body !== undefined ? { body: r.body } : {}),
    timeout: { connectMs: r.timeoutMs, readMs: r.timeoutMs },
    verifyTls: true,
    maxRetries: 0,
    secrets: r.secrets ?? [],
  };
  return activity(name, provider, o);
}

/** A process run without a shell: `path` with `argv`. */
export function processActivity(name: string, path: string, argv: string[], timeoutMs: number, o: ActivityOptions = {}): Activity {
  const provider: ProcessProvider = { type: 'process', path, arguments: { kind: 'argv', argv }, env: {}, timeoutMs, secrets: [] };
  return activity(name, provider, o);
}

/** A file provider operation. */
export function fileActivity(name: string, provider: Omit<FileProvider, 'type'>): Activity {
  return activity(name, { type: 'file', ...provider });
}

// ── Parameter building blocks: every string bounded, no control characters ─────────────────

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
// With the u flag a lone surrogate matches and a well-formed pair (one astral code point) does not.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** A bounded string of valid Unicode without control characters (tabs and line breaks only where `lines` allows them). */
export const text = (max: number, lines = false) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !CONTROL.test(s) && !LONE_SURROGATE.test(s) && (lines || !/[\t\r\n]/.test(s)), {
      message: lines ? 'must not contain control characters' : 'must be one line without control characters',
    });

/** Like text, but may be empty. */
export const maybeEmptyText = (max: number) => z.union([z.literal(''), text(max)]);

/** A URL path below the target: starts with one '/'. */
export const urlPath = () =>
  text(2048).refine((s) => s.startsWith('/') && !s.startsWith('//'), { message: "must start with a single '/', e.g. /login" });

/** An absolute file path without `..` segments. */
export const filePath = () =>
  text(4096).refine((s) => s.startsWith('/') && !s.split('/').includes('..'), {
    message: "must be an absolute path without '..', e.g. /etc/nginx/modsec.conf",
  });

/** Seconds for a per-request timeout. */
export const timeoutSeconds = (dflt = 10) => z.number().int().min(1).max(120).default(dflt).describe('per-request timeout in seconds');

/** Where a payload goes: the query string (GET), a form body or a JSON body (POST). */
export const placement = () =>
  z.enum(['query', 'form', 'json']).default('query').describe('send payloads in the query string (GET), a form body or a JSON body (POST)');

/** A request carrying `fields` in the query string, a form body or a JSON body. */
export function fieldsRequest(
  url: string,
  where: 'query' | 'form' | 'json',
  fields: Record<string, string>,
  timeoutMs: number,
  extraHeaders: Record<string, string> = {},
): HttpRequest {
  if (where === 'query') return { url, method: 'GET', headers: extraHeaders, arguments: fields, timeoutMs };
  if (where === 'form') {
    // Chaos Toolkit sends `arguments` as a form unless the content type says JSON.
    return {
      url,
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...extraHeaders },
      arguments: fields,
      timeoutMs,
    };
  }
  return { url, method: 'POST', headers: { 'Content-Type': 'application/json', ...extraHeaders }, body: fields, timeoutMs };
}
