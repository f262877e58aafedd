/**
 * One declaration per route, held to what the server does: the route table names a permission
 * (or is public) and a response schema for every route, every permission belongs to a route or
 * is reserved, and real answers parse with the schema their route declares, with nothing
 * undeclared in them. The compiler holds each handler to its schema (route.ts); the last case
 * here keeps that check from being loosened.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bearer, makeTestApp, type TestApp } from '../../test/support/app.ts';
import { until } from '../../test/support/wait.ts';
import { PERMISSIONS, RESERVED_PERMISSIONS } from '../capabilities/index.ts';
import { triageOnce } from '../app/incidents/triage.ts';
import { RouteRegistry, type AnyRoute } from './route.ts';

let t: TestApp;
let target: http.Server;
let targetUrl: string;

const key = (r: { method: string; url: string }) => `${r.method} ${r.url}`;
/** Routes whose success body is not JSON: they declare its media type instead of a schema. */
const NOT_JSON = [
  'GET /metrics',
  'GET /v1/signals/:id/evidence',
  'GET /v1/coverage/export/vectr-csv',
  'GET /v1/coverage/export/dettect',
  'GET /v1/incidents/:id/evidence/:sha256',
  'GET /v1/incidents/:id/export/markdown',
  // The OIDC flow's redirects (303 to the provider, then to the dashboard).
  'GET /v1/oidc/start',
  'GET /v1/oidc/callback',
];

/** GET routes that answer only with an OIDC provider configured: src/server/routes/access-oidc.test.ts calls them against one. */
const NEEDS_A_PROVIDER = new Set(['GET /v1/oidc/start', 'GET /v1/oidc/callback']);

beforeAll(async () => {
  t = await makeTestApp();
  // A loopback target for one real run: it answers 200, so the run is not blocked.
  target = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await t?.close();
  await new Promise<void>((resolve) => target?.close(() => resolve()));
});

const routeOf = (method: string, url: string): AnyRoute => {
  const r = t.spec.find((s) => s.method === method && s.url === url);
  if (!r) throw new Error(`no route ${method} ${url} in the route table`);
  return r;
};

/** Every object key of a JSON schema's `additionalProperties`, which only the output side writes. */
function withoutAdditional(js: unknown): unknown {
  if (Array.isArray(js)) return js.map(withoutAdditional);
  if (typeof js !== 'object' || js === null) return js;
  return Object.fromEntries(
    Object.entries(js)
      .filter(([k]) => k !== 'additionalProperties')
      .map(([k, v]) => [k, withoutAdditional(v)]),
  );
}

describe('the route table', () => {
  it('gives every route a permission or marks it public', () => {
    expect(t.spec.length).toBeGreaterThan(20);
    for (const r of t.spec) {
      if (r.auth === 'public') continue;
      expect(PERMISSIONS, key(r)).toContain(r.auth.permission);
    }
    expect(
      t.spec
        .filter((r) => r.auth === 'public')
        .map(key)
        .sort(),
    ).toEqual([
      'GET /healthz',
      'GET /readyz',
      // Signing in: with an OIDC provider, and the options of a security key's challenge.
      'GET /v1/oidc',
      'GET /v1/oidc/callback',
      'GET /v1/oidc/start',
      'POST /v1/oidc/complete',
      'POST /v1/oidc/webauthn/options',
      'POST /v1/session',
      'POST /v1/session/webauthn/options',
    ]);
  });

  it('gives every JSON route a response schema; the others say their media type', () => {
    const withoutSchema = t.spec.filter((r) => !r.response).map(key);
    expect(withoutSchema.sort()).toEqual([...NOT_JSON].sort());
    for (const k of NOT_JSON) expect(t.spec.find((r) => key(r) === k)?.produces, k).toBeTruthy();
    for (const r of t.spec) if (r.response) expect(r.produces, key(r)).toBeUndefined();
  });

  it('uses every permission on some route, except the reserved ones, which no route declares', () => {
    const used = new Set(t.spec.flatMap((r) => (r.auth === 'public' ? [] : [r.auth.permission])));
    const unused = PERMISSIONS.filter((p) => !used.has(p));
    expect(unused.sort()).toEqual([...RESERVED_PERMISSIONS].sort());
  });

  it('has response schemas that describe what is sent: no transforms, no defaults', () => {
    for (const r of t.spec) {
      if (!r.response) continue;
      // Output throws on a transform; a default makes a field optional on input, required on output.
      const output = z.toJSONSchema(r.response, { io: 'output' });
      const input = z.toJSONSchema(r.response, { io: 'input' });
      expect(withoutAdditional(input), key(r)).toEqual(withoutAdditional(output));
    }
  });
});

describe('real answers parse with their route’s response schema', () => {
  const admin = () => bearer(t.adminToken);
  const checked = new Set<string>();

  /** Call `url` (for the route `method pattern`), expect a declared 2xx, and check the body. */
  async function check(method: 'GET' | 'POST' | 'DELETE', pattern: string, url: string, payload?: unknown): Promise<unknown> {
    const route = routeOf(method, pattern);
    const res = await t.app.inject({ method, url, headers: admin(), ...(payload !== undefined ? { payload: payload as object } : {}) });
    const declared = [route.status ?? 200, ...(route.errors ?? []).filter((s) => s >= 200 && s < 300)];
    expect(declared, `${method} ${url}: ${res.statusCode} ${res.body.slice(0, 500)}`).toContain(res.statusCode);
    checked.add(key(route));
    if (!route.response) {
      expect(res.rawPayload.length, `${method} ${url}`).toBeGreaterThan(0);
      return res.body;
    }
    const body: unknown = res.json();
    const parsed = route.response.safeParse(body);
    expect(parsed.error?.issues, `${method} ${url} against its response schema`).toBeUndefined();
    // Object schemas drop what they do not declare: equal means nothing undeclared was sent.
    expect(parsed.data, `${method} ${url}: keys the schema does not declare`).toEqual(body);
    return body;
  }

  let runId: string;
  let signalId: string;
  let incidentId: number;
  let caseId: number;
  let evidenceSha: string;
  let reportNumber: number;
  let exerciseId: number;
  let playbookRunId: string;
  const experiment = 'shapes-probe';

  it('for POST and DELETE routes given minimal valid input', async () => {
    await check('POST', '/v1/ledger/notes', '/v1/ledger/notes', { type: 'observation', subject: 'service:shop', text: 'shapes' });
    await check('POST', '/v1/ledger/checkpoints', '/v1/ledger/checkpoints', {});
    // The head is signed already: 200 with the same checkpoint, in the same shape.
    await check('POST', '/v1/ledger/checkpoints', '/v1/ledger/checkpoints');

    const token = (await check('POST', '/v1/tokens', '/v1/tokens', { name: 'shapes', scopes: ['ledger:read'] })) as { id: string };
    await check('DELETE', '/v1/tokens/:id', `/v1/tokens/${token.id}`);
    await check('POST', '/v1/roles', '/v1/roles', { file: 'roles:\n  - name: shapes-role\n    grants: [ledger:read]\n' });
    await check('POST', '/v1/roles/validate', '/v1/roles/validate', { file: 'roles:\n  - name: shapes-role\n    grants: [ledger:read]\n' });

    const file = [
      'title: Shapes probe',
      'description: one request to a loopback target that answers 200',
      'techniques: [T1190]',
      `configuration: { target: '${targetUrl}' }`,
      'method:',
      '  - type: action',
      '    name: probe',
      "    provider: { type: http, url: '${target}/x', timeout: 3 }",
      'expect:',
      '  blocked: { tolerance: 403 }',
      "schedule: { cron: '0 3 * * *', jitter: 5s }",
    ].join('\n');
    await check('POST', '/v1/experiments', '/v1/experiments', { file, name: experiment });
    // Again: the next version (200), same shape.
    await check('POST', '/v1/experiments', '/v1/experiments', { file, name: experiment });
    const started = (await check('POST', '/v1/experiments/:name/runs', `/v1/experiments/${experiment}/runs`, {})) as {
      run: { id: string };
    };
    runId = started.run.id;
    await check('POST', '/v1/experiments/:name/runs', `/v1/experiments/${experiment}/runs`, { dryRun: true });
    // A finished run has an outcome and a full timeline for the GET routes below.
    await until(
      `run ${runId} done`,
      async () => (await t.app.inject({ url: `/v1/runs/${runId}`, headers: admin() })).json().run.state === 'done',
      20_000,
    );

    await check('POST', '/v1/experiments', '/v1/experiments', { file, name: 'shapes-deleted' });
    await check('DELETE', '/v1/experiments/:name', '/v1/experiments/shapes-deleted');
    await check('POST', '/v1/experiments/stop-all', '/v1/experiments/stop-all');
    const slo = (name: string) =>
      [
        'apiVersion: bulwark/v1',
        'kind: SLO',
        `name: ${name}`,
        'service: shapes',
        'objective: 99',
        'window: 7d',
        'sli:',
        '  experiments:',
        `    experiment: ${experiment}`,
      ].join('\n');
    await check('POST', '/v1/slos', '/v1/slos', { file: slo('shapes-slo') });
    await check('POST', '/v1/slos', '/v1/slos', { file: slo('shapes-slo-deleted') });
    await check('DELETE', '/v1/slos/:name', '/v1/slos/shapes-slo-deleted');

    const accepted = (await check('POST', '/v1/signals/alertmanager', '/v1/signals/alertmanager', {
      version: '4',
      status: 'firing',
      receiver: 'bulwark',
      groupKey: '{}',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager:9093',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'ShapesProbe', severity: 'warning' },
          annotations: {},
          startsAt: '2026-03-01T10:00:00Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus:9090/graph',
          fingerprint: 'shapes-probe',
        },
      ],
    })) as { ids: string[] };
    signalId = accepted.ids[0]!;

    // Incidents: a declared one with evidence, and a case triage opens from a critical alert.
    incidentId = (
      (await check('POST', '/v1/incidents', '/v1/incidents', { title: 'Shapes', severity: 'SEV3', priority: 'P3' })) as { id: number }
    ).id;
    const evidence = { name: 'shapes.txt', origin: 'shapes', text: 'x' };
    evidenceSha = (
      (await check('POST', '/v1/incidents/:id/evidence', `/v1/incidents/${incidentId}/evidence`, evidence)) as { sha256: string }
    ).sha256;
    await check('POST', '/v1/incidents/:id/pins', `/v1/incidents/${incidentId}/pins`, { signal: signalId });
    await check('POST', '/v1/incidents/:id/tasks', `/v1/incidents/${incidentId}/tasks`, { title: 'Shapes task' });
    await check('POST', '/v1/incidents/:id/links', `/v1/incidents/${incidentId}/links`, { techniques: ['T1190'] });
    await check('POST', '/v1/incidents/:id/postmortem/versions', `/v1/incidents/${incidentId}/postmortem/versions`, { baseVersion: 0 });
    reportNumber = (
      (await check('POST', '/v1/incidents/:id/reports', `/v1/incidents/${incidentId}/reports`, { kind: 'tactical' })) as { report: number }
    ).report;
    const scenario = [
      'apiVersion: bulwark/v1',
      'kind: TabletopScenario',
      'title: Shapes drill',
      'severity: SEV3',
      'injects: [{ at: 0m, text: go }]',
      'questions: [{ id: q1, at: 0m, text: who? }]',
    ].join('\n');
    exerciseId = (
      (await check('POST', '/v1/incidents/exercises', '/v1/incidents/exercises', { file: scenario })) as { incident: { id: number } }
    ).incident.id;
    const critical = { name: 'shapes-critical', labels: { alertname: 'ShapesCritical', severity: 'critical' } };
    await t.app.inject({
      method: 'POST',
      url: '/v1/signals/alertmanager',
      headers: admin(),
      payload: {
        version: '4',
        status: 'firing',
        receiver: 'bulwark',
        groupKey: '{}',
        groupLabels: {},
        commonLabels: {},
        commonAnnotations: {},
        externalURL: 'http://a:9093',
        alerts: [
          {
            status: 'firing',
            labels: critical.labels,
            annotations: {},
            startsAt: '2026-03-01T10:00:00Z',
            endsAt: '0001-01-01T00:00:00Z',
            generatorURL: 'http://p:9090',
            fingerprint: critical.name,
          },
        ],
      },
    });
    caseId = (await triageOnce(t.deps)).opened[0]!;
    await check('POST', '/v1/cases/:id/ack', `/v1/cases/${caseId}/ack`);

    // Playbooks: one applied, a run waiting at its manual step (on the checklist, in the toil
    // report once done), and a promotion asked.
    const playbook = [
      'apiVersion: bulwark/v1',
      'kind: Playbook',
      'name: shapes-playbook',
      'steps:',
      '  - id: look',
      '    mode: manual',
      '    http: { url: "http://127.0.0.1:1/look" }',
    ].join('\n');
    await check('POST', '/v1/playbooks', '/v1/playbooks', { file: playbook });
    playbookRunId = ((await check('POST', '/v1/playbooks/:name/runs', '/v1/playbooks/shapes-playbook/runs', {})) as { id: string }).id;
    await t.playbooks.engine.tick();
    await check('POST', '/v1/playbooks/:name/steps/:step/promotions', '/v1/playbooks/shapes-playbook/steps/look/promotions');
  });

  it('for every GET route', async () => {
    const approval = await t.approvals.request(
      { id: 'person:shapes' },
      { id: 'test', kind: 'system', how: 'system' },
      {
        kind: 'shapes.check',
        resource: 'shapes',
        payload: {},
        summary: 'shapes',
        reason: 'shapes',
        policy: { rules: [{ count: 1 }] },
      },
    );
    // The input of the routes that need some; every other GET route is called bare.
    const urls: Record<string, string> = {
      '/v1/approvals/:id': `/v1/approvals/${approval.id}`,
      '/v1/roles/:name': '/v1/roles/shapes-role',
      '/v1/ledger/entries/:seq': '/v1/ledger/entries/0',
      '/v1/ledger/proofs/inclusion': '/v1/ledger/proofs/inclusion?seq=0',
      '/v1/ledger/proofs/consistency': '/v1/ledger/proofs/consistency?from=1',
      '/v1/experiments/:name': `/v1/experiments/${experiment}`,
      '/v1/runs/:id': `/v1/runs/${runId}`,
      '/v1/signals/:id': `/v1/signals/${signalId}`,
      '/v1/signals/:id/evidence': `/v1/signals/${signalId}/evidence`,
      '/v1/coverage/techniques/:id': '/v1/coverage/techniques/T1190',
      '/v1/slos/:name': '/v1/slos/shapes-slo',
      '/v1/slos/:name/series': '/v1/slos/shapes-slo/series',
      '/v1/playbooks/:name': '/v1/playbooks/shapes-playbook',
      '/v1/playbooks/:name/cacao': '/v1/playbooks/shapes-playbook/cacao',
      '/v1/playbook-runs/:id': `/v1/playbook-runs/${playbookRunId}`,
      '/v1/cases/:id': `/v1/cases/${caseId}`,
      '/v1/incidents/:id': `/v1/incidents/${incidentId}`,
      '/v1/incidents/:id/evidence/:sha256': `/v1/incidents/${incidentId}/evidence/${evidenceSha}`,
      '/v1/incidents/:id/tasks': `/v1/incidents/${incidentId}/tasks`,
      '/v1/incidents/:id/reports': `/v1/incidents/${incidentId}/reports`,
      '/v1/incidents/:id/reports/:report': `/v1/incidents/${incidentId}/reports/${reportNumber}`,
      '/v1/incidents/:id/exercise/report': `/v1/incidents/${exerciseId}/exercise/report`,
      '/v1/incidents/:id/links': `/v1/incidents/${incidentId}/links`,
      '/v1/incidents/:id/postmortem/versions': `/v1/incidents/${incidentId}/postmortem/versions`,
      '/v1/incidents/:id/postmortem/versions/:version': `/v1/incidents/${incidentId}/postmortem/versions/1`,
      '/v1/incidents/:id/export': `/v1/incidents/${incidentId}/export`,
      '/v1/incidents/:id/export/markdown': `/v1/incidents/${incidentId}/export/markdown`,
    };
    const gets = t.spec.filter((r) => r.method === 'GET' && !NEEDS_A_PROVIDER.has(key(r)));
    for (const r of gets) {
      const url = urls[r.url] ?? r.url;
      expect(url, `GET ${r.url} needs input: add it to the table above`).not.toContain(':');
      await check('GET', r.url, url);
    }
    // Pages with items in them, not only empty ones.
    await check('GET', '/v1/ledger/entries', '/v1/ledger/entries?order=desc&limit=2');
    await check('GET', '/v1/runs', `/v1/runs?experiment=${experiment}`);
    expect(gets.every((r) => checked.has(key(r)))).toBe(true);
  });

  it('saw finished runs, signals and entries in those answers, not only empty lists', async () => {
    const run = (await check('GET', '/v1/runs/:id', `/v1/runs/${runId}`)) as { run: { outcome: string | null }; timeline: unknown[] };
    expect(run.run.outcome).not.toBeNull();
    expect(run.timeline.length).toBeGreaterThan(0);
    const list = (await check('GET', '/v1/experiments', '/v1/experiments')) as { experiments: { history: unknown[] }[] };
    expect(list.experiments[0]?.history.length).toBeGreaterThan(0);
    const signals = (await check('GET', '/v1/signals', '/v1/signals')) as { signals: unknown[] };
    expect(signals.signals.length).toBeGreaterThan(0);
    const keys = (await check('GET', '/v1/ledger/keys', '/v1/ledger/keys')) as { keys: unknown[] };
    expect(keys.keys.length).toBeGreaterThan(0);
  });
});

describe('the declaration types the handler', () => {
  // What this case asserts is checked by the compiler (npm run typecheck): each @ts-expect-error
  // fails the build if the declaration it marks starts to compile. At run time it only registers.
  function declare(app: FastifyInstance, r: RouteRegistry): void {
    r.add(app, {
      method: 'GET',
      url: '/wrong-shape',
      summary: 'a handler returning another shape than its response schema',
      tag: 'test',
      auth: 'public',
      response: z.object({ n: z.number() }),
      // @ts-expect-error the handler must return the response schema's shape
      handler: async () => ({ n: 'one' }),
    });
    // @ts-expect-error a JSON route must declare its response schema
    r.add(app, { method: 'GET', url: '/no-schema', summary: 'no response schema', tag: 'test', auth: 'public', handler: async () => ({}) });
    r.add(app, {
      method: 'GET',
      url: '/sent-by-reply',
      summary: 'another status and body, sent through the reply',
      tag: 'test',
      auth: 'public',
      response: z.object({ n: z.number() }),
      handler: async ({ reply }) => (Date.now() > 0 ? reply.code(503).send({ error: 'unavailable', message: 'later' }) : { n: 1 }),
    });
    r.add(app, {
      method: 'GET',
      url: '/text',
      summary: 'not JSON: a media type instead of a schema',
      tag: 'test',
      auth: 'public',
      produces: 'text/plain',
      handler: async ({ reply }) => reply.type('text/plain').send('text'),
    });
  }

  it('registers what compiles', async () => {
    const app = Fastify();
    const r = new RouteRegistry();
    declare(app, r);
    expect(r.routes.map(key)).toEqual(['GET /wrong-shape', 'GET /no-schema', 'GET /sent-by-reply', 'GET /text']);
    await app.close();
  });
});
