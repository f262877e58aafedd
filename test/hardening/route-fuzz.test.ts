/**
 * Route-table fuzzing. Every route the server declares (BulwarkServer.spec, never a list kept
 * here) gets requests generated from its own zod schemas (params, query, body) and mutations of
 * them: wrong types, unknown and duplicate keys, odd Unicode, huge strings, deep nesting, invalid
 * JSON and UTF-8, wrong media types and content codings, bodies where none is taken, odd path
 * segments and query strings, other methods. They go over real HTTP on loopback, with a token
 * holding exactly the route's permission. Whatever is sent, the answer must be:
 *
 * - a 2xx the route declares (`status`, or a 2xx among `errors`), whose JSON passes the route's
 *   `response` schema, and only for a body the route's body schema accepts (or, for a route
 *   that takes no body, for none);
 * - or a 4xx the API gives (400/403/404/409/413/415/429, those the route lists in `errors`, and
 *   414/431 for an oversized URL or head), with the API's JSON error shape
 *   `{ error: <code>, message, details? }`;
 * - or 503 with Retry-After when the server sheds load (counted: a single client must rarely see it);
 * - never a 5xx otherwise, never 401 for a valid token, never a dropped connection, never an
 *   answer without x-request-id;
 * - and every ledger entry appended meanwhile must read back as it was hashed.
 *
 * Afterwards the whole ledger verifies and /healthz answers 200. A second property sends odd
 * request lines and framing over raw sockets (bad percent-encoding, dot segments, absolute and
 * asterisk forms, oversized heads, invalid methods, conflicting lengths): those answers come from
 * the HTTP layer, and must still have the API's error shape.
 *
 * Bounded and seeded: FUZZ_RUNS cases per route (default 100), FUZZ_SEED (printed with every
 * failure). A nightly-sized run: FUZZ_RUNS=5000 npx vitest run test/hardening/route-fuzz.test.ts
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/app/access/tokens.ts';
import { verifyStore } from '../../src/app/ledger/verify.ts';
import { PERMISSIONS } from '../../src/capabilities/index.ts';
import { can, type Permission } from '../../src/core/access/permissions.ts';
import { leafHashOfText } from '../../src/core/ledger/merkle.ts';
import { leafText } from '../../src/core/ledger/entry.ts';
import { parseWebhookMapping } from '../../src/core/signals/webhook-mapping.ts';
import type { AnyRoute } from '../../src/server/route.ts';
import { makeTestApp } from '../support/app.ts';
import {
  ODD_TEXT,
  deepJsonText,
  jsonPaths,
  oddText,
  replaceAt,
  schemaArbitrary,
  toJsonSchema,
  type Dictionary,
} from '../support/schema-arbitrary.ts';
import { systemActor } from '../../src/core/ledger/actor.ts';

const envInt = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not ${raw}`);
  return n;
};
/** Cases per route. */
const RUNS = Math.max(1, envInt('FUZZ_RUNS', 100));
/** The run's seed; each route's seed is derived from it and the route. */
const SEED = envInt('FUZZ_SEED', 20_260_101);
const REPRODUCE = `reproduce with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npx vitest run test/hardening/route-fuzz.test.ts`;
/** Per-route timings and answers, printed at the end when set. */
const REPORT = process.env.FUZZ_REPORT === '1';
/**
 * Triage: instead of stopping at the first failing case and shrinking it, run every case and
 * fail at the end with each distinct kind of problem and the shortest request that showed it.
 */
const COLLECT = process.env.FUZZ_COLLECT === '1';

const BODY_LIMIT = 1024 * 1024;
/** find-my-way's longest path parameter: longer ones are refused before routing (414). */
const MAX_PARAM_LENGTH = 100;
/** Node's largest request head (16 KiB): past it the HTTP parser answers 431. */
const MAX_HEAD = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// the server under test

const WEBHOOK_SOURCE = 'fuzzhook';
const t = await makeTestApp({
  bodyLimitBytes: BODY_LIMIT,
  signals: {
    webhooks: {
      [WEBHOOK_SOURCE]: parseWebhookMapping({
        source: WEBHOOK_SOURCE,
        id: '$.id',
        time: '$.timestamp',
        severity: '$.rule.level',
        labels: { rule: '$.rule.id', agent: '$.agent.name' },
        body: '$.data',
      }),
    },
  },
});
await t.app.listen({ host: '127.0.0.1', port: 0 });
const port = (t.app.server.address() as net.AddressInfo).port;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

afterAll(async () => {
  agent.destroy();
  await t.close();
});

/** One token per permission, holding that permission only; and one holding every permission. */
const tokens = new Map<Permission | '*', { id: string; token: string }>();
for (const p of [...PERMISSIONS, '*'] as const) {
  const { token, view } = await createToken(t.deps, systemActor('test'), { name: `fuzz ${p === '*' ? 'all' : p}`, scopes: [p] });
  tokens.set(p, { id: view.id, token });
}
const tokenFor = (route: AnyRoute): string | undefined => (route.auth === 'public' ? undefined : tokens.get(route.auth.permission)!.token);

// ---------------------------------------------------------------------------------------------
// what the generators draw on besides the schemas: values seen in answers, and a small corpus

interface Known {
  strings: Set<string>;
  numbers: Set<number>;
}
const newKnown = (): Known => ({ strings: new Set(), numbers: new Set() });
/**
 * Strings and numbers seen in 2xx answers (ids, names, positions), so requests can name what
 * exists: all of them, and by the member name they were seen under (a run's `id`, an entry's `seq`).
 */
const known = newKnown();
const knownByKey = new Map<string, Known>();
/**
 * The fuzzer's own tokens stay out: a DELETE /v1/tokens/:id naming one would revoke the
 * credentials every later request needs (tokens the fuzzer creates through the API are fair game).
 */
const protectedStrings = new Set([...tokens.values()].map((v) => v.id));

function remember(key: string | undefined, v: unknown): void {
  const into = [known];
  if (key !== undefined) {
    if (!knownByKey.has(key)) knownByKey.set(key, newKnown());
    into.push(knownByKey.get(key)!);
  }
  for (const k of into) {
    if (typeof v === 'string' && v.length > 0 && v.length <= 300 && !protectedStrings.has(v)) add(k.strings, v);
    else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) add(k.numbers, v);
  }
}

/** Bounded: the newest few hundred. */
function add<T>(set: Set<T>, v: T): void {
  set.delete(v);
  set.add(v);
  if (set.size > 300) set.delete(set.values().next().value as T);
}

function harvest(value: unknown): void {
  for (const { path, value: v } of jsonPaths(value))
    remember(
      path.findLast((p): p is string => typeof p === 'string'),
      v,
    );
}

function dictionary(): Dictionary {
  return {
    strings: [...known.strings],
    numbers: [...known.numbers],
    byKey: Object.fromEntries([...knownByKey].map(([k, v]) => [k, { strings: [...v.strings], numbers: [...v.numbers] }])),
  };
}

const RUN_ID = 'fuzzrun0000000001';
/** An experiment that applies, and whose runs end at once: one request to a closed loopback port. */
const EXPERIMENT_FILE = `title: Fuzz probe
description: one request to a closed loopback port
method:
  - type: action
    name: knock
    provider: { type: http, url: 'http://127.0.0.1:1/knock', timeout: 1 }
`;
remember('file', EXPERIMENT_FILE);
/** An SLO file that applies (the routes of SLOs take their file under the same key). */
remember(
  'file',
  `apiVersion: bulwark/v1
kind: SLO
name: fuzz-slo
service: fuzz
objective: 99
window: 7d
sli:
  experiments:
    experiment: fuzz-probe
`,
);
/** A KPI window that is accepted (GET /v1/kpis?window=). */
remember('window', '30d');
for (const source of [WEBHOOK_SOURCE, 'alertmanager', 'cloudevents']) remember('source', source);
remember('runId', RUN_ID);
/** A permission a breakglass may grant. */
remember('permission', 'experiments:read');
/** Incidents: a settings file that applies (the defaults' severities stay), a severity of that model, an evidence digest. */
remember(
  'file',
  `apiVersion: bulwark/v1
kind: IncidentSettings
rules:
  - { name: fuzz, on: signal, match: 'signal.labels.alertname == "Fuzz"', groupBy: [labels.alertname], window: 1h, severity: high }
`,
);
remember('severity', 'SEV2');
/** Incidents: a checklist template, a status report's next update, a tabletop scenario that starts and one of its questions. */
remember('template', 'rotate-credentials');
remember('nextUpdateIn', '30m');
remember('question', 'q1');
remember(
  'file',
  `apiVersion: bulwark/v1
kind: TabletopScenario
title: Fuzz drill
severity: SEV3
injects: [{ at: 0m, text: go }]
questions: [{ id: q1, at: 0m, text: who? }]
`,
);
/** Playbooks: a CACAO v2 playbook that imports (start, one manual action, end). */
remember(
  'cacao',
  JSON.stringify({
    type: 'playbook',
    spec_version: 'cacao-2.0',
    id: 'playbook--1',
    name: 'fuzz',
    workflow_start: 's',
    workflow: {
      s: { type: 'start', on_completion: 'a' },
      a: { type: 'action', name: 'look', commands: [{ type: 'manual', command: 'look' }], on_completion: 'e' },
      e: { type: 'end' },
    },
  }),
);
/** Playbooks: a file that applies (one manual step: no request leaves the machine) and its name. */
remember(
  'file',
  `apiVersion: bulwark/v1
kind: Playbook
name: fuzz-playbook
steps:
  - id: look
    mode: manual
    checklist: [Look at the fuzz]
`,
);
remember('name', 'fuzz-playbook');
/** Access: a roles file that applies (POST /v1/roles), and the role's name. */
remember('file', 'roles:\n  - name: fuzz-role\n    grants: [ledger:read]\n    condition: resource.labels.team in principal.groups\n');
remember('name', 'fuzz-role');
/** Incidents: an impact start the declaration accepts (at most 90 days before it), a technique and the SLO above to link. */
remember('impactStartedAt', new Date(Date.now() - 3_600_000).toISOString());
remember('techniques', 'T1190');
remember('slos', 'fuzz-slo');
/** Roles a principal is created with or given (custom roles are names now, so the schema alone yields none that exist). */
for (const role of ['viewer', 'responder', 'fuzz-role']) remember('roles', role);
remember('sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
/** Coverage: a small ATTiRe log that imports (POST /v1/coverage/imports/attire takes it as `log`; the dictionary keeps strings up to 300 characters). */
remember(
  'log',
  JSON.stringify({
    'execution-data': { 'execution-id': 'fuzz', 'execution-source': 'fuzz', target: { host: 'fuzz-host' } },
    procedures: [{ 'mitre-technique-id': 'T1190', 'procedure-name': 'fuzz', steps: [{ 'time-start': '2026-01-01T00:00:00.000Z' }] }],
  }),
);
/**
 * Routes that answer 2xx only to a person (the fuzzer's tokens are services), to a current TOTP
 * code or a security key's signature, or to a pending OIDC sign-in, which no generator can make: they are fuzzed for their refusals, with no accepted body to sweep.
 */
const NEEDS_A_PERSON_OR_CODE = new Set([
  'POST /v1/second-factor/enroll',
  'POST /v1/second-factor/confirm',
  'POST /v1/second-factor/disable',
  'POST /v1/session/step-up',
  // Security keys: a person's, and a key's signed answer; OIDC: a provider's sign-in waiting in a cookie.
  'POST /v1/webauthn/registration/options',
  'POST /v1/webauthn/credentials',
  'POST /v1/principals/:id/webauthn/reset',
  'POST /v1/session/webauthn/options',
  'POST /v1/session/step-up/webauthn/options',
  'POST /v1/session/step-up/webauthn',
  'POST /v1/oidc/webauthn/options',
  'POST /v1/oidc/complete',
]);

/** Documents the signal formats take, as starting points for routes that parse their own body. */
const CORPUS: unknown[] = [
  {
    version: '4',
    groupKey: '{}:{alertname="Fuzz"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'bulwark',
    groupLabels: { alertname: 'Fuzz' },
    commonLabels: { alertname: 'Fuzz', severity: 'critical' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'Fuzz', severity: 'critical', instance: 'shop-1', bulwark_run: RUN_ID },
        annotations: { summary: 'fuzz' },
        startsAt: '2026-03-01T10:00:03.123Z',
        endsAt: '0001-01-01T00:00:00Z',
        fingerprint: 'c2a5bd0d5e1e8a7b',
      },
    ],
  },
  {
    specversion: '1.0',
    id: 'fuzz-event-1',
    source: 'fuzz.example',
    type: 'fuzz.event.v1',
    time: '2026-03-01T10:00:03.123Z',
    datacontenttype: 'application/json',
    bulwarkrun: RUN_ID,
    data: { rule: 'fuzz', output: 'x' },
  },
  {
    timestamp: '2026-03-01T10:00:03.500Z',
    id: '1740823203.1234',
    rule: { id: '31103', level: 7, description: 'fuzz' },
    agent: { name: 'shop-1' },
    data: { srcip: '127.0.0.1' },
  },
];

// ---------------------------------------------------------------------------------------------
// requests

interface FuzzRequest {
  method: string;
  /** The request target exactly as sent: path and query, percent-encoded by the generator (or not). */
  target: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** What was varied from a valid request, for reports. */
  what: string[];
}

/** The body as a JSON parser that follows RFC 8259 reads it: nothing, a value, or not JSON. */
type SentBody = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'not-json' };

function sentBody(body: Buffer | undefined): SentBody {
  if (body === undefined || body.length === 0) return { kind: 'none' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    return { kind: 'not-json' };
  }
  // A parser may ignore a leading byte order mark (RFC 8259 §8.1).
  if (text.startsWith('\ufeff')) text = text.slice(1);
  try {
    return { kind: 'json', value: JSON.parse(text) };
  } catch {
    return { kind: 'not-json' };
  }
}

const clip = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);
/**
 * Text for a report: what a terminal would not show (controls, format characters such as zero
 * widths and bidi marks, separators, combining marks, surrogates, unassigned code points and
 * noncharacters) as \uXXXX escapes, as JSON would write them, and tokens left out.
 */
const visible = (s: string) =>
  s
    .replace(/bwk_[A-Za-z0-9]+_[A-Za-z0-9_-]+/g, 'bwk_…')
    .replace(/(?! )[\p{C}\p{Z}\p{M}]/gu, (ch) =>
      ch === '\r'
        ? '\\r'
        : ch === '\n'
          ? '\\n'
          : ch === '\t'
            ? '\\t'
            : [...Array(ch.length).keys()].map((i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
    );

function describeRequest(r: FuzzRequest): string {
  const headers = Object.entries(r.headers)
    .filter(([k]) => k !== 'authorization')
    .map(([k, v]) => `${k}: ${clip(v, 80)}`);
  const body = r.body === undefined ? '' : ` body(${r.body.length} bytes): ${visible(clip(r.body.toString('utf8')))}`;
  return `${r.method} ${clip(r.target, 200)}${headers.length ? ` [${headers.join('; ')}]` : ''}${body}  {${r.what.join(', ') || 'valid'}}`;
}

function withToString(r: FuzzRequest): FuzzRequest {
  return Object.assign(r, { [fc.toStringMethod]: () => describeRequest(r) });
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function send(r: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...r.headers };
    if (r.body !== undefined) headers['content-length'] = String(r.body.length);
    const req = http.request({ host: '127.0.0.1', port, agent, method: r.method, path: r.target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error('no answer within 20 s')));
    req.on('error', reject);
    req.end(r.body);
  });
}

// ---------------------------------------------------------------------------------------------
// judging an answer

/** 4xx answers any route may give. */
const COMMON_4XX = new Set([400, 403, 404, 409, 413, 415, 429]);
const ERROR_KEYS = new Set(['error', 'message', 'details']);

/** The route parses its own body (signal ingest): the media types it declares, or undefined. */
const rawBodyOf = (route: AnyRoute): readonly string[] | undefined => route.rawBody;
const declared2xx = (route: AnyRoute) => new Set([route.status ?? 200, ...(route.errors ?? []).filter((s) => s >= 200 && s < 300)]);

function errorShapeProblems(a: Answer): string[] {
  const out: string[] = [];
  if (!/^application\/json\b/i.test(String(a.headers['content-type'] ?? ''))) out.push(`content-type ${a.headers['content-type']}`);
  let body: unknown;
  try {
    body = JSON.parse(a.body.toString('utf8'));
  } catch {
    return [...out, 'the body is not JSON'];
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [...out, 'the body is not a JSON object'];
  const o = body as Record<string, unknown>;
  if (typeof o.error !== 'string' || !/^[a-z][a-z_]*$/.test(o.error)) out.push(`"error" is not a machine code: ${JSON.stringify(o.error)}`);
  if (typeof o.message !== 'string' || o.message.length === 0) out.push('"message" is missing');
  const extra = Object.keys(o).filter((k) => !ERROR_KEYS.has(k));
  if (extra.length > 0) out.push(`keys outside {error, message, details}: ${extra.join(', ')}`);
  return out;
}

interface Judged {
  problems: string[];
  json?: unknown;
  shed: boolean;
}

/**
 * `route` is the declared route the request reached (another one than the route being fuzzed when
 * the method or path was varied), `scopes` what the request's token holds.
 */
/** Digests of the 2xx bodies each route answered that were judged already. */
const judgedBodies = new Map<AnyRoute, Set<string>>();

function judge(route: AnyRoute | undefined, scopes: readonly string[], r: FuzzRequest, a: Answer): Judged {
  const problems: string[] = [];
  const s = a.status;
  const head = r.method === 'HEAD';
  if (!a.headers['x-request-id']) problems.push('no x-request-id header');
  if (s === 503 && a.headers['retry-after'] !== undefined) {
    if (!head) problems.push(...errorShapeProblems(a));
    return { problems, shed: true };
  }
  if (s >= 500) return { problems: [...problems, `answered ${s}`], shed: false };
  if (s >= 200 && s < 300) {
    if (!route) return { problems: [...problems, `answered ${s} to a method the route does not declare`], shed: false };
    const ok = declared2xx(route);
    if (!ok.has(s)) problems.push(`answered ${s}; the route declares ${[...ok].join(', ')}`);
    const sent = sentBody(r.body);
    const encoding = r.headers['content-encoding'];
    if (r.body !== undefined && r.body.length > 0 && encoding !== undefined && encoding.toLowerCase() !== 'identity')
      problems.push(`accepted a body in content coding "${encoding}" that it does not decode`);
    if (route.body) {
      if (sent.kind === 'not-json') problems.push('accepted a body that is not JSON (or not UTF-8)');
      else if (!route.body.safeParse(sent.kind === 'json' ? sent.value : undefined).success)
        problems.push("accepted a body that the route's body schema refuses");
    } else if (rawBodyOf(route)) {
      // A route that reads JSON only (no */* among its media types) takes no other bytes.
      if (rawBodyOf(route)!.every((m) => /^application\/([\w.-]+\+)?json$/.test(m)) && sent.kind !== 'json')
        problems.push('accepted a body that is not JSON (or not UTF-8)');
    } else if (r.method !== 'GET' && r.method !== 'HEAD' && r.body !== undefined && r.body.length > 0) {
      problems.push('accepted a body on a route that takes none');
    }
    // Routes that answer something else than JSON (`produces`: /metrics in Prometheus text, a
    // signal's evidence in its own media type) are judged on status and headers only; a HEAD
    // answer has no body to judge.
    if (head || route.produces) return { problems, shed: false };
    if (!/^application\/json\b/i.test(String(a.headers['content-type'] ?? ''))) {
      problems.push(`2xx with content-type ${a.headers['content-type']}`);
      return { problems, shed: false };
    }
    // A body this route already answered was judged then: a document as large as the OpenAPI
    // one or an ATT&CK export costs a schema check and a harvest of every value each time.
    const text = a.body.toString('utf8');
    const judged = judgedBodies.get(route) ?? new Set<string>();
    judgedBodies.set(route, judged);
    const digest = createHash('sha256').update(text).digest('base64');
    if (judged.has(digest)) return { problems, shed: false };
    if (judged.size < 1000) judged.add(digest);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { problems: [...problems, '2xx whose body is not JSON'], shed: false };
    }
    if (route.response) {
      const parsed = route.response.safeParse(json);
      if (!parsed.success)
        problems.push(
          `2xx body does not match the response schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
        );
    }
    return { problems, json, shed: false };
  }
  if (s >= 400 && s < 500) {
    const allowed = new Set([...COMMON_4XX, ...(route?.errors ?? [])]);
    if (s === 414 && longestSegment(r.target) > MAX_PARAM_LENGTH) allowed.add(414);
    if (s === 431 && headSize(r) > MAX_HEAD) allowed.add(431);
    // A public route that declares 401 checks a credential in its body (signing in): the fuzzed one is not valid.
    if (s === 401 && !(route?.auth === 'public' && route.errors?.includes(401))) problems.push('401 for a valid token');
    else if (s === 403 && route && route.auth !== 'public' && can({ scopes }, route.auth.permission) && !(route.errors ?? []).includes(403))
      problems.push('403 for a token holding the permission the route declares');
    else if (!allowed.has(s)) problems.push(`answered ${s}, which the route does not declare`);
    if (!head) problems.push(...errorShapeProblems(a));
    return { problems, shed: false };
  }
  return { problems: [...problems, `answered ${s}`], shed: false };
}

/** Patterns of the declared routes, as the router matches them: static segments before parameters. */
const patterns = t.spec.map((route) => ({
  route,
  re: new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '[^/]+')}$`),
  statics: route.url.split('/').filter((s) => s && !s.startsWith(':')).length,
}));

/** The declared route a request reaches, if any (HEAD reaches GET's). */
function matchRoute(method: string, target: string): AnyRoute | undefined {
  const path = target.split('?')[0]!;
  const m = method === 'HEAD' ? 'GET' : method;
  return patterns.filter((p) => p.route.method === m && p.re.test(path)).sort((a, b) => b.statics - a.statics)[0]?.route;
}

const longestSegment = (target: string) =>
  Math.max(
    ...target
      .split('?')[0]!
      .split('/')
      .map((s) => s.length),
  );
const headSize = (r: FuzzRequest) => r.target.length + Object.entries(r.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);

// ---------------------------------------------------------------------------------------------
// every entry appended meanwhile reads back as it was hashed

let checkedSize = (await t.deps.store.ledger.head()).size;

/** Entries appended since the last look whose stored text no longer gives their stored leaf hash. */
async function newEntryProblems(): Promise<string[]> {
  const size = (await t.deps.store.ledger.head()).size;
  const out: string[] = [];
  for await (const rows of t.deps.store.ledger.scanRows(checkedSize, size)) {
    for (const row of rows) {
      const stored = Buffer.from(row.tree).subarray(0, 32);
      if (stored.length === 32 && !leafHashOfText(leafText(row)).equals(stored))
        out.push(`ledger entry ${row.seq} (${row.kind}) reads back differently from what was hashed: ${clip(visible(leafText(row)), 300)}`);
    }
  }
  checkedSize = size;
  return out;
}

// ---------------------------------------------------------------------------------------------
// generators

const WRONG_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, 2 ** 53 + 2, '', 'x', '0', 'true', [], [1, 2], {}, { a: 1 }];
const ODD_KEYS = ['zzz', '', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'a.b', '$where', ...ODD_TEXT];
const NUMBER_TEXTS = [
  '1e400',
  '-1e400',
  '-0',
  '1.0',
  '1e2',
  '1E-400',
  '0.1',
  '9007199254740993',
  '00',
  '+1',
  '.5',
  '1.',
  'NaN',
  'Infinity',
  '0x10',
  '1_000',
];
const DEPTHS = [10, 100, 1000, 5000, 20_000];
const BAD_UTF8: Buffer[] = [
  [0xff],
  [0x80],
  [0xc0, 0xae],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
].map((b) => Buffer.from(b));
const HUGE = 200 * 1024;
const CONTENT_TYPES = [
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=iso-8859-1',
  'application/json;;',
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=fuzz',
  'application/cloudevents+json',
  'text/json',
  'application/problem+json',
  'application/octet-stream',
  'application/xml',
  '*/*',
  'application/json, text/plain',
  'json',
  '',
];
const CONTENT_ENCODINGS = ['gzip', 'deflate', 'br', 'identity', 'x-unknown'];
const ODD_SEGMENTS = [
  '..',
  '.',
  '%2e%2e',
  '%2E%2E%2F',
  '..%2f..%2fetc%2fpasswd',
  '%00',
  'a%00b',
  '%2F',
  '%252e%252e',
  '%c0%ae%c0%ae',
  '%ff',
  '%',
  '%zz',
  '%u002e',
  '%ED%A0%80',
  '%EF%BF%BE',
  '%F0%9F%98%80',
  '%E2%80%AE',
  ';',
  ';a=b',
  '*',
  '~',
  '%20',
  '+',
  '-1',
  '1e3',
  '0x10',
  '00',
  '1.5',
  '9007199254740993',
  '',
  'a'.repeat(MAX_PARAM_LENGTH + 1),
  'a'.repeat(2000),
];
/** Query values as sent: already percent-encoded (or deliberately not). */
const ODD_QUERY_VALUES = [
  '',
  '%zz',
  '%',
  '%00',
  '%ff',
  '%c0%ae',
  '%ED%A0%80',
  'NaN',
  'Infinity',
  '-0',
  '1e3',
  '0x10',
  '%201',
  '1%20',
  '+1',
  '-1',
  '1.5',
  'true',
];
const ODD_QUERY_PARTS = [
  '&&',
  '=',
  '=1',
  'k',
  '%zz=1',
  '__proto__=1',
  'constructor[prototype]=1',
  'hasOwnProperty=1',
  'a[]=1&a[]=2',
  'a[0]=1',
];
const OTHER_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** encodeURIComponent throws on lone surrogates; encode those as the CESU bytes a careless client would send. */
function encodeLoose(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...s]
      .map((ch) => {
        const c = ch.charCodeAt(0);
        if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff)
          return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
        return encodeURIComponent(ch);
      })
      .join('');
  }
}

type Mutation<T> = { value: T; what?: string };
const valid = <T>(value: T): Mutation<T> => ({ value });

type Position = { path: (string | number)[]; value: unknown };

/** The n-th position among those passing `keep`, or undefined when none does. */
function nth(value: unknown, n: number, keep: (p: Position) => boolean): Position | undefined {
  const all = jsonPaths(value).filter(keep);
  return all.length === 0 ? undefined : all[n % all.length]!;
}

/** The n-th position among those passing `keep`, or the root. */
const nthOrRoot = (value: unknown, n: number, keep: (p: Position) => boolean): Position => nth(value, n, keep) ?? { path: [], value };
const where = (p: Position) => p.path.join('.') || '(root)';

/** JSON text of `value`, with the node at `at` written by `raw` instead. */
function serialize(
  value: unknown,
  at?: readonly (string | number)[],
  raw?: (node: unknown) => string,
  path: (string | number)[] = [],
): string {
  if (at && raw && at.length === path.length && at.every((p, i) => p === path[i])) return raw(value);
  if (Array.isArray(value)) return `[${value.map((v, i) => serialize(v, at, raw, [...path, i])).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${serialize(v, at, raw, [...path, k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** Set an own property, `__proto__` included (plain assignment would change the prototype instead). */
function withKey(obj: unknown, key: string, v: unknown): unknown {
  const out = Array.isArray(obj) || obj === null || typeof obj !== 'object' ? {} : { ...obj };
  Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

interface BodyPlan {
  bytes: Buffer | undefined;
  what?: string;
}

const json = (v: unknown): BodyPlan => ({ bytes: Buffer.from(serialize(v), 'utf8') });

/** Bodies around a base value: the value itself, and what a careless or hostile client sends instead. */
function bodyMutations(base: fc.Arbitrary<unknown>): fc.Arbitrary<BodyPlan> {
  const isString = (p: Position) => typeof p.value === 'string';
  const objectAt = (p: Position) => p.value !== null && typeof p.value === 'object' && !Array.isArray(p.value);
  return fc.oneof(
    { weight: 12, arbitrary: base.map(json) },
    {
      weight: 2,
      arbitrary: fc.tuple(base, fc.nat(), fc.constantFrom(...WRONG_VALUES)).map(([v, n, w]) => {
        const at = nthOrRoot(v, n, () => true);
        return { ...json(replaceAt(v, at.path, () => w)), what: `wrong type at ${where(at)}` };
      }),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(base, fc.nat(), oddText, fc.constantFrom('replace', 'prefix', 'suffix')).map(([v, n, odd, how]) => {
        const at = nthOrRoot(v, n, isString);
        const put = (old: unknown) => (how === 'replace' || typeof old !== 'string' ? odd : how === 'prefix' ? odd + old : old + odd);
        return { ...json(replaceAt(v, at.path, put)), what: `odd text (${how}) at ${where(at)}` };
      }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(base, fc.nat(), fc.constantFrom(...ODD_KEYS), fc.jsonValue({ maxDepth: 1 })).map(([v, n, key, x]) => {
        const at = nthOrRoot(v, n, objectAt);
        return { ...json(replaceAt(v, at.path, (o) => withKey(o, key, x))), what: `unknown key "${visible(key)}" at ${where(at)}` };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(base, fc.nat()).map(([v, n]) => {
        const at = nth(v, n, (p) => p.path.length > 0);
        if (!at) return { ...json(v), what: 'nothing to remove' };
        const parent = at.path.slice(0, -1);
        const key = at.path.at(-1)!;
        const removed = replaceAt(v, parent, (o) =>
          Array.isArray(o) ? o.filter((_, i) => i !== key) : Object.fromEntries(Object.entries(o as object).filter(([k]) => k !== key)),
        );
        return { ...json(removed), what: `removed ${at.path.join('.')}` };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(base, fc.nat(), fc.constantFrom('x', 'é', '\u{1f600}', '\ud800', '\u0000')).map(([v, n, unit]) => {
        const at = nthOrRoot(v, n, isString);
        const huge = unit.repeat(Math.ceil(HUGE / Buffer.byteLength(unit)));
        return { ...json(replaceAt(v, at.path, () => huge)), what: `${HUGE / 1024} KB string of ${visible(unit)} at ${where(at)}` };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('x', '[').map((unit) => ({
        bytes: Buffer.from(unit === 'x' ? `{"a":"${'x'.repeat(BODY_LIMIT + 1024)}"}` : '['.repeat(BODY_LIMIT + 1024)),
        what: 'body over the size limit',
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(base, fc.nat(), fc.constantFrom(...DEPTHS), fc.constantFrom<'array' | 'object'>('array', 'object'))
        .map(([v, n, depth, kind]) => {
          const at = nthOrRoot(v, n, isString);
          return {
            ...json(replaceAt(v, at.path, () => deepJsonText(depth, kind))),
            what: `text of ${kind}s nested ${depth} deep at ${where(at)}`,
          };
        }),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(base, fc.nat(), fc.constantFrom(...DEPTHS), fc.constantFrom<'array' | 'object'>('array', 'object'))
        .map(([v, n, depth, kind]) => {
          const at = nthOrRoot(v, n, () => true);
          return {
            bytes: Buffer.from(serialize(v, at.path, () => deepJsonText(depth, kind))),
            what: `${kind}s nested ${depth} deep at ${where(at)}`,
          };
        }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(base, fc.nat(), fc.constantFrom(...WRONG_VALUES), fc.boolean()).map(([v, n, w, first]) => {
        const at = nth(v, n, (p) => objectAt(p) && Object.keys(p.value as object).length > 0);
        if (!at) return { bytes: Buffer.from('{"a":1,"a":2}'), what: 'duplicate keys' };
        const raw = (o: unknown) => {
          const [k] = Object.keys(o as object);
          const dup = `${JSON.stringify(k)}:${JSON.stringify(w)}`;
          const inner = serialize(o).slice(1, -1);
          return first ? `{${dup},${inner}}` : `{${inner},${dup}}`;
        };
        return {
          bytes: Buffer.from(serialize(v, at.path, raw)),
          what: `duplicate key (${first ? 'odd value first' : 'odd value last'}) at ${where(at)}`,
        };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(base, fc.nat(), fc.constantFrom(...NUMBER_TEXTS)).map(([v, n, text]) => {
        const at = nth(v, n, (p) => typeof p.value === 'number' || typeof p.value === 'boolean') ?? nthOrRoot(v, n, () => true);
        return { bytes: Buffer.from(serialize(v, at.path, () => text)), what: `number ${text} at ${where(at)}` };
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(base, fc.nat(), fc.constantFrom('truncate', 'trailing', 'quotes', 'bom', 'comma', 'comment', 'nul'))
        .map(([v, n, how]) => {
          const text = serialize(v);
          const broken =
            how === 'truncate'
              ? text.slice(0, n % Math.max(1, text.length))
              : how === 'trailing'
                ? `${text} x`
                : how === 'quotes'
                  ? text.replace(/"/g, "'")
                  : how === 'bom'
                    ? `\ufeff${text}`
                    : how === 'comma'
                      ? text.replace(/([}\]])$/, ',$1')
                      : how === 'comment'
                        ? `/* c */${text}`
                        : `${text}\u0000`;
          return { bytes: Buffer.from(broken, 'utf8'), what: `invalid JSON (${how})` };
        }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(base, fc.nat(), fc.constantFrom(...BAD_UTF8)).map(([v, n, bad]) => {
        const at = nth(v, n, isString);
        const marker = '\u0001MARK\u0001';
        const text = at ? serialize(replaceAt(v, at.path, (old) => `${String(old)}${marker}`)) : serialize(v);
        const [before, after] = text.split(JSON.stringify(marker).slice(1, -1));
        const bytes =
          after === undefined ? Buffer.concat([bad, Buffer.from(text)]) : Buffer.concat([Buffer.from(before!), bad, Buffer.from(after)]);
        return { bytes, what: `invalid UTF-8 ${bad.toString('hex')} ${at ? `in ${at.path.join('.')}` : 'before the body'}` };
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .oneof(fc.constantFrom<unknown>([1, 2], 'x', 1, null, true, [], {}, [{}]), fc.jsonValue({ maxDepth: 2 }))
        .map((v) => ({ ...json(v), what: 'another JSON value as the body' })),
    },
    { weight: 1, arbitrary: fc.constant<BodyPlan>({ bytes: Buffer.alloc(0), what: 'empty body' }) },
    { weight: 1, arbitrary: fc.constant<BodyPlan>({ bytes: undefined, what: 'no body' }) },
  );
}

/** Bodies for a route that takes none: mostly none, sometimes the bodies a client should not send. */
const noBodyPlans: fc.Arbitrary<BodyPlan> = fc.oneof(
  { weight: 10, arbitrary: fc.constant<BodyPlan>({ bytes: undefined }) },
  {
    weight: 3,
    arbitrary: bodyMutations(fc.constantFrom<unknown>({ zzz: 1 }, [1, 2], 'x', {}, 1)).map((p) => ({
      ...p,
      what: `body on a route that takes none${p.what ? `: ${p.what}` : ''}`,
    })),
  },
);

function paramsArb(route: AnyRoute, dict: Dictionary): fc.Arbitrary<Mutation<string>> {
  const names = [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  if (names.length === 0) return fc.constant(valid(route.url));
  const base = (route.params ? schemaArbitrary(route.params, { dictionary: dict }) : fc.constant({})) as fc.Arbitrary<
    Record<string, unknown>
  >;
  const fill = (values: Record<string, string>) => route.url.replace(/:(\w+)/g, (_, name: string) => values[name] ?? 'x');
  const encoded = (v: Record<string, unknown>) =>
    Object.fromEntries(
      names.map((n) => [n, v[n] === undefined ? 'x' : encodeLoose(typeof v[n] === 'string' ? v[n] : JSON.stringify(v[n]))]),
    );
  return fc.oneof(
    { weight: 8, arbitrary: base.map((v) => valid(fill(encoded(v)))) },
    {
      weight: 2,
      arbitrary: fc.tuple(base, fc.nat(), fc.oneof(fc.constantFrom(...ODD_SEGMENTS), oddText.map(encodeLoose))).map(([v, n, seg]) => {
        const name = names[n % names.length]!;
        return { value: fill({ ...encoded(v), [name]: seg }), what: `path ${name}=${clip(seg, 40)}` };
      }),
    },
  );
}

function queryArb(route: AnyRoute, dict: Dictionary): fc.Arbitrary<Mutation<string>> {
  const base = (route.query ? schemaArbitrary(route.query, { dictionary: dict }) : fc.constant({})) as fc.Arbitrary<
    Record<string, unknown>
  >;
  const js = route.query ? toJsonSchema(route.query) : {};
  const declaredKeys = Object.keys((typeof js === 'object' ? (js.properties as object | undefined) : undefined) ?? {});
  const qs = (pairs: [string, string][]) => pairs.map(([k, v]) => `${k}=${v}`).join('&');
  const pairsOf = (v: Record<string, unknown>): [string, string][] =>
    Object.entries(v).map(([k, x]) => [encodeURIComponent(k), encodeLoose(typeof x === 'string' ? x : JSON.stringify(x))]);
  return fc.oneof(
    { weight: 8, arbitrary: base.map((v) => valid(qs(pairsOf(v)))) },
    {
      weight: 1,
      arbitrary: fc.tuple(base, fc.nat()).map(([v, n]) => {
        const pairs = pairsOf(v);
        if (pairs.length === 0) return { value: 'zzz=1&zzz=2', what: 'repeated unknown key' };
        const [k, x] = pairs[n % pairs.length]!;
        return { value: qs([...pairs, [k, x]]), what: `repeated key ${k}` };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(base, fc.nat()).map(([v, n]) => {
        const pairs = pairsOf(v);
        if (pairs.length === 0) return { value: 'a[]=1&a[]=2', what: 'array key' };
        const [k, x] = pairs[n % pairs.length]!;
        return { value: qs([...pairs.filter(([key]) => key !== k), [`${k}[]`, x], [`${k}[]`, x]]), what: `array key ${k}[]` };
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(base, fc.nat(), fc.oneof(fc.constantFrom(...ODD_QUERY_VALUES), oddText.map(encodeLoose), fc.constant('x'.repeat(10_000))))
        .map(([v, n, odd]) => {
          const pairs = pairsOf(v);
          const keys = [...new Set([...pairs.map(([k]) => k), ...declaredKeys])];
          if (keys.length === 0) return { value: `q=${odd}`, what: `query q=${clip(odd, 30)}` };
          const k = keys[n % keys.length]!;
          return { value: qs([...pairs.filter(([key]) => key !== k), [k, odd]]), what: `query ${k}=${clip(odd, 30)}` };
        }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(base, fc.constantFrom(...ODD_QUERY_PARTS)).map(([v, part]) => {
        const q = qs(pairsOf(v));
        return { value: q ? `${q}&${part}` : part, what: `query part ${part}` };
      }),
    },
  );
}

/**
 * JSON bodies each route answered 2xx to, by route: mutating what a route accepts reaches further
 * into it than mutating what it refuses (a CloudEvent it took, then with its data nested deep).
 */
const accepted = new Map<string, unknown[]>();

function requestArb(route: AnyRoute, key: string): fc.Arbitrary<FuzzRequest> {
  const dict = dictionary();
  const raw = rawBodyOf(route);
  if (!accepted.has(key)) accepted.set(key, []);
  const pool = accepted.get(key)!;
  // Read when each case is generated, so that bodies accepted earlier in this route's run are used.
  const acceptedBody = fc.nat().map((i) => (pool.length > 0 ? pool[i % pool.length] : CORPUS[i % CORPUS.length]));
  const baseBody = route.body
    ? fc.oneof({ weight: 3, arbitrary: schemaArbitrary(route.body, { dictionary: dict }) }, { weight: 1, arbitrary: acceptedBody })
    : fc.oneof(
        { weight: 3, arbitrary: acceptedBody },
        { weight: 2, arbitrary: fc.constantFrom(...CORPUS) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
      );
  const bodies = route.body || raw ? bodyMutations(baseBody) : noBodyPlans;
  const jsonType = raw?.find((m) => m !== '*/*') ?? 'application/json';
  const contentTypes: fc.Arbitrary<Mutation<string | undefined>> = fc.oneof(
    { weight: 10, arbitrary: fc.constant(valid(jsonType)) },
    ...(raw && raw.length > 1
      ? [{ weight: 3, arbitrary: fc.constantFrom(...raw).map((m) => ({ value: m, what: `content-type ${m}` })) }]
      : []),
    { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES).map((m) => ({ value: m, what: `content-type "${m}"` })) },
    { weight: 1, arbitrary: fc.constant({ value: undefined, what: 'no content-type' }) },
  );
  const encodings: fc.Arbitrary<Mutation<string | undefined>> = fc.oneof(
    { weight: 20, arbitrary: fc.constant(valid(undefined)) },
    { weight: 1, arbitrary: fc.constantFrom(...CONTENT_ENCODINGS).map((e) => ({ value: e, what: `content-encoding ${e}` })) },
  );
  // Methods no route declares on this URL (those that are declared are fuzzed as routes of their own).
  const sameUrl = new Set<string>(t.spec.filter((r) => r.url === route.url).map((r) => r.method));
  const others = OTHER_METHODS.filter((m) => !sameUrl.has(m));
  const methods: fc.Arbitrary<Mutation<string>> = fc.oneof(
    { weight: 20, arbitrary: fc.constant(valid(route.method)) },
    ...(route.method === 'GET' ? [{ weight: 2, arbitrary: fc.constant({ value: 'HEAD', what: 'HEAD' }) }] : []),
    ...(others.length ? [{ weight: 1, arbitrary: fc.constantFrom(...others).map((m) => ({ value: m, what: `method ${m}` })) }] : []),
  );
  return fc
    .record({
      method: methods,
      path: paramsArb(route, dict),
      query: queryArb(route, dict),
      body:
        route.method === 'GET'
          ? fc.oneof({ weight: 20, arbitrary: fc.constant<BodyPlan>({ bytes: undefined }) }, { weight: 1, arbitrary: bodies })
          : bodies,
      contentType: contentTypes,
      encoding: encodings,
    })
    .map(({ method, path, query, body, contentType, encoding }) => {
      const headers: Record<string, string> = {};
      const token = tokenFor(route);
      if (token) headers.authorization = `Bearer ${token}`;
      const what = [method.what, path.what, query.what, body.what].filter((w): w is string => w !== undefined);
      if (body.bytes !== undefined) {
        if (contentType.value !== undefined) headers['content-type'] = contentType.value;
        if (contentType.what) what.push(contentType.what);
        if (encoding.value !== undefined) headers['content-encoding'] = encoding.value;
        if (encoding.what) what.push(encoding.what);
      }
      return withToString({
        method: method.value,
        target: query.value ? `${path.value}?${query.value}` : path.value,
        headers,
        body: method.value === 'HEAD' ? undefined : body.bytes,
        what,
      });
    });
}

// ---------------------------------------------------------------------------------------------
// the properties

/** Routes that create things first, so that reads and deletes can find them; then reads, then deletes. */
const RANK: Record<string, number> = { POST: 0, PUT: 0, GET: 1, DELETE: 2 };
const routes = [...t.spec].sort((a, b) => (RANK[a.method] ?? 1) - (RANK[b.method] ?? 1));
const stats = new Map<string, RouteStats>();

function seedFor(key: string): number {
  let h = SEED >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h | 0;
}

/** Distinct problems per property (FUZZ_COLLECT=1): the kind of problem → the shortest example. */
const collected = new Map<string, Map<string, { problem: string; request: string; answer: string; count: number }>>();

/** A kind of problem: its text without the values that vary. */
const kindOf = (problem: string) =>
  problem
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\d+/g, 'N')
    .replace(/ at \S+/g, ' at …');

function fail(key: string, problems: string[], request: string, answer: string): void {
  if (!COLLECT) throw new Error(`${key}: ${problems.join('; ')}\n  request: ${request}\n  answer: ${answer}`);
  if (!collected.has(key)) collected.set(key, new Map());
  const kinds = collected.get(key)!;
  for (const problem of problems) {
    const k = kindOf(problem);
    const seen = kinds.get(k);
    if (!seen || request.length < seen.request.length) kinds.set(k, { problem, request, answer, count: (seen?.count ?? 0) + 1 });
    else seen.count += 1;
  }
}

function throwCollected(key: string): void {
  const kinds = collected.get(key);
  if (!kinds || kinds.size === 0) return;
  const lines = [...kinds.values()].map((k) => `- ${k.problem} (${k.count}×)\n    request: ${k.request}\n    answer: ${k.answer}`);
  throw new Error(`${key}: ${kinds.size} kinds of problem (${REPRODUCE} FUZZ_COLLECT=1)\n${lines.join('\n')}`);
}

async function assertProperty(key: string, arb: fc.Arbitrary<unknown>, predicate: (v: never) => Promise<void>, runs: number) {
  const seed = seedFor(key);
  try {
    await fc.assert(fc.asyncProperty(arb, predicate as (v: unknown) => Promise<void>), { seed, numRuns: runs });
  } catch (e) {
    (e as Error).message = `${key}: ${REPRODUCE} (route seed ${seed})\n${(e as Error).message}`;
    throw e;
  }
}

describe('the route table', () => {
  it('declares every route the server answers (each is fuzzed below)', () => {
    const declared = new Set(t.spec.map((r) => `${r.method} ${r.url}`));
    const gets = new Set(t.spec.filter((r) => r.method === 'GET').map((r) => r.url));
    const outside = t
      .routes()
      .filter((r) => !declared.has(`${r.method} ${r.url}`) && !(r.method === 'HEAD' && gets.has(r.url)))
      // The dashboard's static files (public, no data): registered by the dashboard, not declared.
      .filter((r) => r.auth !== 'public');
    expect(outside).toEqual([]);
    expect(t.spec.length).toBeGreaterThan(20);
  });
});

interface RouteStats {
  statuses: Map<number, number>;
  shed: number;
  /** Answers past validation: a 2xx, or an error the route declares other than 400. */
  reached: number;
  /** 2xx JSON answers whose values went into the dictionary. */
  harvested: number;
  ms: number;
  cpuMs: number;
}

const HARVEST_PER_ROUTE = 20;

/** Requests a route answered 2xx with a JSON body: where the sweep starts from. */
const exemplars = new Map<string, FuzzRequest[]>();

/** Send one request for `route`, judge the answer, learn from it; report problems through fail(). */
async function exchange(route: AnyRoute, key: string, s: RouteStats, r: FuzzRequest): Promise<void> {
  let answer: Answer;
  try {
    answer = await send(r);
  } catch (e) {
    return fail(key, [`no answer: ${(e as Error).message}`], describeRequest(r), '(none)');
  }
  s.statuses.set(answer.status, (s.statuses.get(answer.status) ?? 0) + 1);
  const matched = matchRoute(r.method, r.target);
  const { problems, json, shed } = judge(matched, route.auth === 'public' ? [] : [route.auth.permission], r, answer);
  if (shed) s.shed += 1;
  // The dictionary learns from a route's first answers; later ones add little and a large one
  // (an ATT&CK export) costs a walk of every value.
  if (json !== undefined && answer.status < 300 && s.harvested++ < HARVEST_PER_ROUTE) harvest(json);
  // Past validation: a 2xx, or an error the route declares other than 400 (a 404 for a run that
  // does not exist comes from the handler, which runs only once the body was accepted).
  const declared = answer.status !== 400 && (route.errors ?? []).includes(answer.status);
  if (matched === route && (answer.status < 300 || declared)) {
    s.reached += 1;
    const sent = sentBody(r.body);
    if (sent.kind === 'json' && r.body!.length <= 16 * 1024) {
      if (answer.status < 300) {
        const pool = accepted.get(key)!;
        if (pool.length < 50) pool.push(sent.value);
      }
      const examples = exemplars.get(key)!;
      if (examples.length < 10 && problems.length === 0) examples.push(r);
    }
  }
  problems.push(...(await newEntryProblems()));
  if (problems.length > 0)
    fail(
      key,
      problems,
      describeRequest(r),
      `${answer.status} ${answer.headers['content-type'] ?? ''} ${visible(clip(answer.body.toString('utf8'), 400))}`,
    );
}

/** Positions swept per body at most (evenly spread over the body's positions). */
const SWEEP_POSITIONS = 40;

/**
 * After the random cases, the sweep: a body the route accepted, with each of its positions (up to
 * SWEEP_POSITIONS) in turn replaced by values nested 5,000 and 20,000 deep, and each of its
 * strings given a lone surrogate, a NUL and a noncharacter. Random cases find these at some
 * positions some of the time; the sweep finds them at every position every time.
 */
function sweepRequests(example: FuzzRequest): FuzzRequest[] {
  const sent = sentBody(example.body);
  if (sent.kind !== 'json') return [];
  const v = sent.value;
  const all = jsonPaths(v);
  const step = Math.max(1, Math.ceil(all.length / SWEEP_POSITIONS));
  const out: FuzzRequest[] = [];
  const make = (text: string, what: string) =>
    withToString({ ...example, headers: { ...example.headers }, body: Buffer.from(text, 'utf8'), what: [`sweep: ${what}`] });
  for (let i = 0; i < all.length; i += step) {
    const at = all[i]!;
    out.push(
      make(
        serialize(v, at.path, () => deepJsonText(5000, 'array')),
        `arrays nested 5000 deep at ${where(at)}`,
      ),
    );
    out.push(
      make(
        serialize(v, at.path, () => deepJsonText(20_000, 'object')),
        `objects nested 20000 deep at ${where(at)}`,
      ),
    );
    if (typeof at.value === 'string') {
      for (const [odd, name] of [
        ['\ud800', 'a lone surrogate'],
        ['\u0000', 'NUL'],
        ['\ufffe', 'the noncharacter U+FFFE'],
      ] as const)
        out.push(make(serialize(replaceAt(v, at.path, (old) => `${String(old)}${odd}`)), `${name} at ${where(at)}`));
    }
  }
  return out;
}

describe(`every route, ${RUNS} generated requests each, then a sweep of a body it accepted (FUZZ_SEED=${SEED})`, () => {
  for (const route of routes) {
    const key = `${route.method} ${route.url}`;
    it(key, { timeout: Math.max(60_000, RUNS * 400) }, async () => {
      const s: RouteStats = { statuses: new Map(), shed: 0, reached: 0, harvested: 0, ms: 0, cpuMs: 0 };
      stats.set(key, s);
      exemplars.set(key, []);
      const started = performance.now();
      const cpu = process.cpuUsage();
      try {
        await assertProperty(key, requestArb(route, key), (r: FuzzRequest) => exchange(route, key, s, r), RUNS);
        // The smallest body it accepted, so that the sweep stays short.
        const [example] = exemplars.get(key)!.sort((a, b) => (a.body?.length ?? 0) - (b.body?.length ?? 0));
        const takesBody = route.body !== undefined || rawBodyOf(route) !== undefined;
        if (takesBody && RUNS >= 50 && !NEEDS_A_PERSON_OR_CODE.has(key))
          expect(example, `${key}: no generated body was accepted, so there is nothing to sweep`).toBeDefined();
        if (example) for (const r of sweepRequests(example)) await exchange(route, key, s, r);
      } finally {
        s.ms = performance.now() - started;
        const used = process.cpuUsage(cpu);
        s.cpuMs = (used.user + used.system) / 1000;
      }
      throwCollected(key);
      // The generators must fit the route: some requests get past validation to an answer the
      // route gives (a 2xx, or one of its declared errors such as 404 or 409), or nothing deeper is fuzzed.
      if (RUNS >= 50) expect(s.reached, `${key}: no generated request got past validation`).toBeGreaterThan(0);
      // Sequential requests from one client are not load: shedding them is a fault of its own.
      expect(s.shed, `${key}: ${s.shed} of ${RUNS} requests shed with 503`).toBeLessThanOrEqual(Math.max(5, RUNS * 0.1));
    });
  }
});

// ---------------------------------------------------------------------------------------------
// the HTTP layer: request lines and framing only a raw socket can send

interface RawCase {
  text: Buffer;
  what: string;
  /** A request a correct client could send: it must get an answer (garbage may just be dropped). */
  wellFormed: boolean;
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

function sendRaw(c: RawCase): Promise<RawAnswer | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(20_000, () => socket.destroy(new Error('no answer within 20 s')));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
    socket.on('close', () => {
      const all = Buffer.concat(chunks);
      if (all.length === 0) return resolve(undefined);
      const split = all.indexOf('\r\n\r\n');
      const head = all
        .subarray(0, split < 0 ? all.length : split)
        .toString('latin1')
        .split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let body: Buffer = split < 0 ? Buffer.alloc(0) : all.subarray(split + 4);
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
      resolve({ status, headers, body });
    });
    socket.end(c.text);
  });
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(b.subarray(i, eol).toString('latin1'), 16);
    if (!size) break;
    out.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

const allToken = tokens.get('*')!.token;
const ODD_TARGETS = [
  '/%c0%ae%c0%ae/x',
  '/v1/ledger/entries/%c0%ae',
  '/v1/%ff',
  '/v1/%',
  '/v1/ledger/entries/%zz',
  '/v1/ledger/../ledger/keys',
  '/v1/ledger/./keys',
  '//v1//ledger//keys',
  '/v1/ledger/keys/',
  '/V1/LEDGER/KEYS',
  '/v1/ledger/keys;x=1',
  '/v1/ledger/keys%3Fx=1',
  '/v1/ledger/entries?limit=%zz',
  '/v1/ledger/entries?%=1',
  '/v1/ledger/entries?limit=1#frag',
  '/v1/ledger/entries/\u00ff',
  '/v1/\u0080',
  '/\u007f',
  'http://127.0.0.1/v1/ledger/keys',
  'http://evil.example/v1/ledger/keys',
  '*',
  '/v1/tokens/%2e%2e%2f%2e%2e%2f',
  `/v1/ledger/entries/${'9'.repeat(MAX_PARAM_LENGTH + 1)}`,
  `/v1/experiments/${'a'.repeat(20_000)}`,
  `/v1/ledger/entries?kind=${'a'.repeat(20_000)}`,
  '/v1/experiments/%ED%A0%80',
  '/v1/signals/webhook/%00',
];
const METHODS_RAW = ['GET', 'POST', 'HEAD', 'DELETE', 'PUT', 'OPTIONS', 'TRACE', 'CONNECT', 'PATCH', 'get', 'FOO'];

const rawCases: fc.Arbitrary<RawCase> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom('GET', 'POST', 'HEAD', 'DELETE'),
        fc.oneof(
          fc.constantFrom(...ODD_TARGETS),
          fc.array(fc.constantFrom(...ODD_SEGMENTS), { minLength: 1, maxLength: 4 }).map((s) => `/v1/${s.join('/')}`),
        ),
      )
      .map(([method, target]) => ({
        text: Buffer.from(
          `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${allToken}\r\nConnection: close\r\n\r\n`,
          'latin1',
        ),
        what: `${method} ${clip(target, 80)}`,
        wellFormed: !/[\u0080-\u00ff\u007f]/.test(target),
      })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...METHODS_RAW),
        fc.constantFrom('/v1/ledger/keys', '/healthz', '/v1/ledger/notes'),
        fc.constantFrom(
          'no Host',
          'two Hosts',
          'HTTP/1.0',
          'HTTP/2.0',
          'HTTP/1.1 with a lowercase version',
          'content-length and chunked',
          'two content-lengths',
          'negative content-length',
          'bad chunk size',
          'header without colon',
          'obsolete line folding',
          'head over 16 KB',
          'NUL in a header',
          'bare LF line ends',
        ),
      )
      .map(([method, path, odd]) => {
        const auth = `Authorization: Bearer ${allToken}\r\n`;
        const lines: Record<string, string> = {
          'no Host': `${method} ${path} HTTP/1.1\r\n${auth}Connection: close\r\n\r\n`,
          'two Hosts': `${method} ${path} HTTP/1.1\r\nHost: a\r\nHost: b\r\n${auth}Connection: close\r\n\r\n`,
          'HTTP/1.0': `${method} ${path} HTTP/1.0\r\n${auth}\r\n`,
          'HTTP/2.0': `${method} ${path} HTTP/2.0\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`,
          'HTTP/1.1 with a lowercase version': `${method} ${path} http/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`,
          'content-length and chunked': `${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
          'two content-lengths': `${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{} `,
          'negative content-length': `${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: -1\r\nConnection: close\r\n\r\n`,
          'bad chunk size': `${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
          'header without colon': `${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Broken header\r\nConnection: close\r\n\r\n`,
          'obsolete line folding': `${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}X-Folded: a\r\n b\r\nConnection: close\r\n\r\n`,
          'head over 16 KB': `${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}X-Big: ${'a'.repeat(MAX_HEAD + 1)}\r\nConnection: close\r\n\r\n`,
          'NUL in a header': `${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}X-Nul: a\u0000b\r\nConnection: close\r\n\r\n`,
          'bare LF line ends': `${method} ${path} HTTP/1.1\nHost: x\n${auth.replace('\r\n', '\n')}Connection: close\n\n`,
        };
        return { text: Buffer.from(lines[odd]!, 'latin1'), what: `${method} ${path}: ${odd}`, wellFormed: false };
      }),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => ({
      text: Buffer.concat([Buffer.from(b), Buffer.from('\r\n\r\n')]),
      what: `bytes ${Buffer.from(b).toString('hex')}`,
      wellFormed: false,
    })),
  },
);

function judgeRaw(c: RawCase, a: RawAnswer | undefined): string[] {
  if (a === undefined) return c.wellFormed ? ['the connection closed without an answer'] : [];
  const s = a.status;
  if (s === 0) return ['the answer is not HTTP'];
  if (s === 503 && a.headers['retry-after'] !== undefined) return [];
  if (s >= 500) return [`answered ${s}`];
  if (s < 400) {
    // Only the dashboard's shell answers outside the route table; an API path never does by accident.
    if (
      s >= 200 &&
      s < 300 &&
      !/^text\/html\b/.test(a.headers['content-type'] ?? '') &&
      !/^application\/json\b/.test(a.headers['content-type'] ?? '')
    )
      return [`2xx with content-type ${a.headers['content-type']}`];
    return [];
  }
  if (/^HEAD /.test(c.what)) return [];
  return errorShapeProblems({ status: s, headers: a.headers, body: a.body });
}

describe('the HTTP layer', () => {
  it('answers odd request lines and framing with the API error shape, never 5xx', { timeout: Math.max(60_000, RUNS * 400) }, async () => {
    await assertProperty(
      'raw requests',
      rawCases.map((c) => Object.assign(c, { [fc.toStringMethod]: () => `${c.what}: ${visible(clip(c.text.toString('latin1'), 300))}` })),
      async (c: RawCase) => {
        const a = await sendRaw(c);
        const problems = judgeRaw(c, a);
        problems.push(...(await newEntryProblems()));
        if (problems.length > 0)
          fail(
            'raw requests',
            problems,
            `${c.what}: ${visible(clip(c.text.toString('latin1'), 300))}`,
            a ? `${a.status} ${a.headers['content-type'] ?? ''} ${visible(clip(a.body.toString('utf8'), 300))}` : '(none)',
          );
      },
      Math.max(50, Math.round(RUNS / 2)),
    );
    throwCollected('raw requests');
  });
});

// ---------------------------------------------------------------------------------------------
// afterwards

describe('after the fuzzing', () => {
  it('the whole ledger verifies and /healthz answers 200', async () => {
    const report = await verifyStore(t.deps.store);
    expect(report, report.message).toMatchObject({ ok: true });
    const health = await send(withToString({ method: 'GET', target: '/healthz', headers: {}, body: undefined, what: [] }));
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString('utf8'))).toEqual({ status: 'ok' });
    if (REPORT) {
      for (const [key, s] of stats)
        console.info(
          `${key.padEnd(40)} ${(s.ms / 1000).toFixed(1).padStart(5)} s (cpu ${(s.cpuMs / 1000).toFixed(1)} s)  ${[...s.statuses]
            .sort(([a], [b]) => a - b)
            .map(([st, n]) => `${st}×${n}`)
            .join(' ')}${s.shed ? `  shed ${s.shed}` : ''}`,
        );
    }
  });
});
