/**
 * The provider schemas: Chaos Toolkit's http, process and python (accepted, never run), and
 * Bulwark's tcp and file. Field names are Chaos Toolkit's (`verify_tls`, `expected_status`).
 */
import { z } from 'zod';
import { custom, json, no, ok, report, seconds, strict, text, REQUIRED, type Check, isObject } from './schema-kit.ts';
import { hasTemplate } from './tolerance.ts';
import type { FileProvider, HttpProvider, ProcessProvider, PythonProvider, TcpProvider } from './types.ts';

/** A mapping of names to strings; numbers and booleans are written as text, as headers and env are. */
const stringMap = custom((v) => {
  if (!isObject(v)) return no('must be a mapping of names to strings');
  const out: [string, string][] = [];
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'string') out.push([k, x]);
    else if (typeof x === 'number' || typeof x === 'boolean') out.push([k, String(x)]);
    else return no(`${k} must be a string`, [k]);
  }
  return ok(Object.fromEntries(out));
});

const scopes = z.array(text).optional();

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

const http = strict({
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

/** Chaos Toolkit: a string runs through a shell; a list is argv; a mapping is flattened to k, v pairs. */
const processArguments = custom((v): Check<ProcessProvider['arguments']> => {
  if (typeof v === 'string') return ok({ kind: 'shell', line: v });
  const scalar = (x: unknown) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean';
  const items: unknown[] = Array.isArray(v) ? v : isObject(v) ? Object.entries(v).flat() : [null];
  const bad = items.findIndex((x) => x !== null && !scalar(x));
  if (!Array.isArray(v) && !isObject(v)) return no('arguments must be a list of strings, or one command line for a shell');
  if (bad >= 0) return no('each argument must be a string or a number', Array.isArray(v) ? [bad] : []);
  return ok({ kind: 'argv', argv: items.filter((x) => x !== null && x !== '').map((x) => String(x)) });
});

const processProvider = strict({
  type: z.literal('process'),
  path: text,
  arguments: processArguments.optional(),
  env: stringMap.optional(),
  timeout: seconds.optional(),
  secrets: scopes,
}).transform((p): ProcessProvider => ({
  type: 'process',
  path: p.path,
  arguments: p.arguments ?? { kind: 'argv', argv: [] },
  env: p.env ?? {},
  ...(p.timeout !== undefined ? { timeoutMs: p.timeout } : {}),
  secrets: p.secrets ?? [],
}));

const python = z
  .looseObject({ type: z.literal('python'), module: text, func: text, arguments: json.optional(), secrets: scopes })
  .transform((p): PythonProvider => ({
    type: 'python',
    module: p.module,
    func: p.func,
    ...(p.arguments !== undefined ? { arguments: p.arguments } : {}),
    secrets: p.secrets ?? [],
    unsupported: `python provider ${p.module}.${p.func} cannot run in Bulwark; rewrite the activity with a process or http provider`,
  }));

const tcp = strict({
  type: z.literal('tcp'),
  operation: z.enum(['connect', 'listen']),
  host: text,
  port: z.number().int().min(0).max(65535),
  timeout: seconds.optional(),
  send: z.string().optional(),
}).transform((p, ctx): TcpProvider => {
  if (p.operation === 'connect' && p.port === 0) report(ctx, p, 'port 0 cannot be connected to; give the target port', ['port']);
  if (p.operation === 'listen' && p.send !== undefined) report(ctx, p, 'send applies to connect only', ['send']);
  return {
    type: 'tcp',
    operation: p.operation,
    host: p.host,
    port: p.port,
    ...(p.timeout !== undefined ? { timeoutMs: p.timeout } : {}),
    ...(p.send !== undefined ? { send: p.send } : {}),
  };
});

const file = strict({
  type: z.literal('file'),
  operation: z.enum(['write', 'modify', 'restore']),
  path: text,
  content: z.string().optional(),
  find: z.string().min(1).optional(),
  replace: z.string().optional(),
  backup: text.optional(),
}).transform((p, ctx): FileProvider => {
  const need = (key: 'content' | 'find' | 'replace' | 'backup', why: string) => {
    if (p[key] === undefined) report(ctx, p, `a ${p.operation} needs ${key}: ${why}`, []);
  };
  const forbid = (key: 'content' | 'find' | 'replace') => {
    if (p[key] !== undefined) report(ctx, p, `${key} does not apply to ${p.operation}; remove it`, [key]);
  };
  if (p.operation === 'write') {
    need('content', 'the new content of the file');
    forbid('find');
    forbid('replace');
  } else if (p.operation === 'modify') {
    need('find', 'the text to change');
    need('replace', 'what to put instead');
    forbid('content');
  } else {
    need('backup', 'the copy to restore from');
    forbid('content');
    forbid('find');
    forbid('replace');
  }
  return {
    type: 'file',
    operation: p.operation,
    path: p.path,
    ...(p.content !== undefined ? { content: p.content } : {}),
    ...(p.find !== undefined ? { find: p.find } : {}),
    ...(p.replace !== undefined ? { replace: p.replace } : {}),
    ...(p.backup !== undefined ? { backup: p.backup } : {}),
  };
});

/** A provider, chosen by its `type`. */
export const providerSchema = z.discriminatedUnion('type', [http, processProvider, python, tcp, file]);
