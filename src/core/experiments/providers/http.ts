/**
 * The http provider (Chaos Toolkit's, plus `body` and `expected_status`): one request. Field
 * names in a file are Chaos Toolkit's (`verify_tls`, `expected_status`).
 */
import { z } from 'zod';
import { custom, json, no, ok, report, seconds, strict, REQUIRED } from '../schema-kit.ts';
import { hasTemplate } from '../tolerance.ts';
import type { JsonValue } from '../types.ts';
import { rewriteMap, scopes, stringMap, toSeconds, type ProviderType } from './provider-type.ts';

/** Strings in url, headers, arguments and body may hold `${name}` until resolveConfiguration. */
export interface HttpProvider {
  type: 'http';
  url: string;
  /** Upper-case, GET by default. */
  method: string;
  headers: Record<string, string>;
  /** Chaos Toolkit's arguments: query parameters for GET, the form or JSON body otherwise. */
  arguments?: JsonValue;
  /** A raw body (Bulwark): a string is sent as is, anything else as JSON. */
  body?: JsonValue;
  timeout?: { connectMs: number; readMs: number };
  verifyTls: boolean;
  /** Statuses that count as success (Bulwark); absent means any. */
  expectedStatus?: number[];
  maxRetries: number;
  /** Secret scopes the activity asked for (Chaos Toolkit). */
  secrets: string[];
}

/** `{status, headers, body}`: Chaos Toolkit's shape, so tolerances written for it apply unchanged. */
export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the response says it is JSON, text otherwise; cut at the body limit. */
  body: unknown;
}

const url = custom((v) => {
  const example = 'e.g. http://127.0.0.1:8080/health';
  if (v === undefined) return no(REQUIRED);
  if (typeof v !== 'string' || v === '') return no(`url must be an absolute http(s) URL, ${example}`);
  // A `${base}` may hold the scheme: the URL is checked again once configuration is resolved.
  if (hasTemplate(v) && (v.startsWith('${') || /^https?:\/\//i.test(v))) return ok(v);
  return isHttpUrl(v) ? ok(v) : no(`url must be an absolute http(s) URL, ${example}`);
});

/** Whether a string is an absolute http or https URL. */
export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

const httpTimeout = custom((v) => {
  if (typeof v === 'number' || typeof v === 'string') {
    const r = seconds.safeParse(v);
    return r.success ? ok({ connectMs: r.data, readMs: r.data }) : no(r.error.issues[0]!.message);
  }
  if (Array.isArray(v) && v.length === 2) {
    const c = seconds.safeParse(v[0]);
    const r = seconds.safeParse(v[1]);
    if (!c.success) return no(`connect timeout ${c.error.issues[0]!.message}`, [0]);
    if (!r.success) return no(`read timeout ${r.error.issues[0]!.message}`, [1]);
    return ok({ connectMs: c.data, readMs: r.data });
  }
  return no('timeout must be seconds, or [connect, read] seconds');
});

const statusCode = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599;
const expectedStatus = custom((v) => {
  if (statusCode(v)) return ok([v as number]);
  if (Array.isArray(v) && v.length > 0 && v.every(statusCode)) return ok(v as number[]);
  return no('expected_status must be an HTTP status (100-599) or a list of them');
});

const schema = strict({
  type: z.literal('http'),
  url,
  method: z
    .string()
    .regex(/^[A-Za-z]+$/, 'method must be an HTTP method such as GET or POST')
    .optional(),
  headers: stringMap.optional(),
  arguments: json.optional(),
  body: json.optional(),
  timeout: httpTimeout.optional(),
  verify_tls: z.boolean().optional(),
  expected_status: expectedStatus.optional(),
  max_retries: z.number().int().min(0).max(10).optional(),
  secrets: scopes,
}).transform((p, ctx): HttpProvider => {
  if (p.arguments !== undefined && p.body !== undefined) {
    report(ctx, p, 'use either arguments (Chaos Toolkit) or body, not both', ['body']);
  }
  return {
    type: 'http',
    url: p.url,
    method: (p.method ?? 'GET').toUpperCase(),
    headers: p.headers ?? {},
    ...(p.arguments !== undefined ? { arguments: p.arguments } : {}),
    ...(p.body !== undefined ? { body: p.body } : {}),
    ...(p.timeout ? { timeout: p.timeout } : {}),
    verifyTls: p.verify_tls ?? true,
    ...(p.expected_status ? { expectedStatus: p.expected_status } : {}),
    maxRetries: p.max_retries ?? 0,
    secrets: p.secrets ?? [],
  };
});

export const httpType: ProviderType<HttpProvider, HttpResult> = {
  type: 'http',
  schema,
  secretScopes: (p) => p.secrets,
  rewriteStrings(p, rw) {
    const url = rw.str(p.url, ['url']);
    if (!url.includes('${') && !isHttpUrl(url)) {
      rw.invalid(['url'], `url '${url}' must be an absolute http(s) URL once configuration is applied`);
    }
    return {
      ...p,
      url,
      headers: rewriteMap(p.headers, 'headers', rw),
      ...(p.arguments !== undefined ? { arguments: rw.json(p.arguments, ['arguments']) } : {}),
      ...(p.body !== undefined ? { body: rw.json(p.body, ['body']) } : {}),
    };
  },
  toFile(p) {
    const t = p.timeout;
    return {
      type: 'http',
      url: p.url,
      method: p.method,
      ...(Object.keys(p.headers).length > 0 ? { headers: p.headers } : {}),
      ...(p.arguments !== undefined ? { arguments: p.arguments } : {}),
      ...(p.body !== undefined ? { body: p.body } : {}),
      ...(t ? { timeout: t.connectMs === t.readMs ? toSeconds(t.readMs) : [toSeconds(t.connectMs), toSeconds(t.readMs)] } : {}),
      ...(p.verifyTls ? {} : { verify_tls: false }),
      ...(p.expectedStatus ? { expected_status: p.expectedStatus } : {}),
      ...(p.maxRetries > 0 ? { max_retries: p.maxRetries } : {}),
      ...(p.secrets.length > 0 ? { secrets: p.secrets } : {}),
    };
  },
  describe: (p) =>
    `${p.method} ${p.url}${p.arguments !== undefined ? ` with arguments ${JSON.stringify(p.arguments)}` : ''}${p.body !== undefined ? ` with body ${JSON.stringify(p.body)}` : ''}`,
  blastRadius(p, radius) {
    let url: URL;
    try {
      url = new URL(p.url);
    } catch {
      return [`url '${p.url}' cannot be checked against the blast radius; resolve configuration first`];
    }
    const outside = radius.host(url.hostname) ?? radius.path(url.pathname, `path ${url.pathname}`);
    return outside === undefined ? [] : [outside];
  },
  limitTargets: (p) => ({ hosts: [new URL(p.url).hostname], files: [] }),
  injectionTier: 0,
  hostBound: false,
};
