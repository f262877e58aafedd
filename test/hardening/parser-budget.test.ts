/**
 * The parser budget of a real `bulwark serve` (a child process, SQLite, signal batches on the
 * write thread, a webhook mapping and a tailed ModSecurity log from its config file): every YAML
 * and JSON entry point refuses alias amplification and nesting past its bound with a 4xx in the
 * API's shape `{error, message}` within a fixed time, while GET /healthz, asked concurrently all
 * along, keeps answering within 100 ms. Before the bounds, one 900 KB experiment file held the
 * server 20 s (and its read-back 18 s more), and a webhook body 5,000 levels deep answered 500.
 *
 * The entry points: POST /v1/experiments (the file as YAML and as JSON, and the request body
 * itself), GET and run of an experiment stored before the bounds, Alertmanager, CloudEvents in
 * both modes, a mapped webhook, the tailed ModSecurity log, `bulwark experiments import-atomic`
 * and the config file (read by `bulwark serve --config` and by loadConfig).
 *
 * BUDGET_REPORT=1 prints the health-check latencies of each round.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfigFile } from '../../src/config.ts';
import { importAtomic } from '../../src/core/experiments/atomic.ts';
import { INPUT_LIMITS } from '../../src/core/input/limits.ts';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite.ts';
import { api, describeRun, runCli, startServer, type RunningServer } from '../support/cli.ts';
import { killAllChildren } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

/** The longest any refusal may take, from sending the request to its answer. */
const ANSWER_MS = 1000;
/** The longest GET /healthz may take while the refusals go on. */
const HEALTHZ_MS = 100;

const RUN = 'r7k2m9x4p1';
const J = INPUT_LIMITS.json;
const Y = INPUT_LIMITS.yaml;

const nest = (n: number, leaf = '1') => `${'['.repeat(n)}${leaf}${']'.repeat(n)}`;
/** The review's example: one anchored list of 450,000 items referenced 99 times (900 KB). */
const reviewExample = `title: t\ndescription: d\nmethod: []\nx-a: &a [${'1,'.repeat(449_999)}1]\nx-b: [${'*a,'.repeat(98)}*a]\n`;
/** The same attack made to fit the length and token bounds: 4,000 items referenced 99 times. */
const amplified = `title: t\ndescription: d\nmethod: []\nx-a: &a [${'1,'.repeat(3999)}1]\nx-b: [${'*a,'.repeat(98)}*a]\n`;
/** Nested anchors, ten times each: a billion values from 400 bytes. */
const laughs = [
  'title: t',
  'description: d',
  'method: []',
  'x-0: &l0 [x, x, x, x, x, x, x, x, x, x]',
  ...Array.from({ length: 8 }, (_, i) => `x-${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`),
  `x-9: [${Array(10).fill('*l8').join(', ')}]`,
].join('\n');

const alertmanager = (extra: string) =>
  `{"version":"4","status":"firing","receiver":"bulwark","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","alerts":[{"status":"firing","labels":{"alertname":"X","bulwark_run":"${RUN}"},"annotations":{},"startsAt":"2026-03-01T10:00:03Z","extra":${extra}}]}`;
const cloudEvent = (data: string) =>
  `{"specversion":"1.0","id":"e-${Math.random().toString(36).slice(2)}","source":"falco.org","type":"falco.rule.output.v1","datacontenttype":"application/json","data":${data}}`;

interface Bad {
  name: string;
  method: string;
  url: string;
  body?: string;
  headers?: Record<string, string>;
  status: number[];
  message: RegExp;
}

let dir: TmpDir;
let server: RunningServer;
let token: string;
let log: string;

afterAll(async () => {
  await server?.stop('SIGKILL', 5000).catch(() => undefined);
  await killAllChildren();
  await dir?.cleanup();
});

beforeAll(async () => {
  dir = await tmpDir('bulwark-parser-budget-');
  log = path.join(dir.path, 'modsec_audit.log');
  writeFileSync(log, '');
  const config = path.join(dir.path, 'bulwark.yaml');
  writeFileSync(
    config,
    [
      'signals:',
      '  webhooks:',
      '    hook: { id: $.id, labels: { rule: $.rule } }',
      '  files:',
      `    - { path: ${JSON.stringify(log)}, format: modsecurity, source: waf, startAt: beginning }`,
    ].join('\n'),
  );
  server = await startServer({ dir: dir.path, expectToken: true, checkpointInterval: 0, extraArgs: ['--config', config] });
  token = server.token!;
  // An experiment stored by a version without the bounds (its 1 MiB limit took the review's
  // example), with an inline secret: reading it must cost no more than applying it would now.
  const store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
  try {
    const file = reviewExample.replace('method: []', 'secrets:\n  shop:\n    password: s3cret-value\nmethod: []');
    await store.experiments.put(
      {
        name: 'stored-before',
        title: 't',
        description: 'd',
        techniques: [],
        file,
        fileSha256: '0'.repeat(64),
        schedule: null,
        privileged: false,
        appliedBy: 'token:old',
      },
      new Date().toISOString(),
    );
  } finally {
    await store.close();
  }
}, 120_000);

/** Every bad request of the HTTP entry points, and what each must answer. */
function badRequests(): Bad[] {
  const json = (body: unknown) => JSON.stringify(body);
  const apply = (name: string, file: string, message: RegExp, status = [400]): Bad => ({
    name,
    method: 'POST',
    url: '/v1/experiments',
    body: json({ file }),
    status,
    message,
  });
  const deep = (_levels: number) => new RegExp(`nests deeper than ${J.depth} levels`);
  const yamlDeep = /the file nests too deeply; keep it under 64 levels/;
  return [
    // Experiment files, YAML.
    apply('YAML: the review example (900 KB)', reviewExample, new RegExp(`${Y.length}`)),
    apply('YAML: one list referenced 99 times', amplified, new RegExp(`expands to more than ${Y.nodes} values`)),
    apply('YAML: nested anchors', laughs, new RegExp(`expands to more than ${Y.nodes} values`)),
    apply('YAML: 30,000 levels of flow nesting', `title: t\ndescription: d\nmethod: []\nx: ${nest(30_000)}\n`, yamlDeep),
    apply(
      'YAML: 100 levels of block nesting',
      `title: t\ndescription: d\nmethod: []\nx:\n${Array.from({ length: 100 }, (_, i) => `${'  '.repeat(i + 1)}k:`).join('\n')} 1\n`,
      yamlDeep,
    ),
    // Experiment files, JSON (which the YAML parser reads).
    apply('JSON file: 5,000 levels', `{"title":"t","description":"d","method":[],"x":${nest(5000)}}`, yamlDeep),
    apply(
      'JSON file: 30,000 values',
      `{"title":"t","description":"d","method":[],"x":[${'0,'.repeat(30_000)}0]}`,
      new RegExp(`more than ${Y.tokens} YAML tokens`),
    ),
    // The request body itself, on any JSON route.
    {
      name: 'body: 5,000 levels',
      method: 'POST',
      url: '/v1/experiments',
      body: `{"file":"x","x":${nest(5000)}}`,
      status: [400],
      message: deep(5000),
    },
    {
      name: 'body: 100,000 levels',
      method: 'POST',
      url: '/v1/experiments',
      body: `{"file":"x","x":${nest(100_000)}}`,
      status: [400],
      message: deep(100_000),
    },
    {
      name: 'body: run vars 5,000 levels',
      method: 'POST',
      url: '/v1/experiments/none/runs',
      body: `{"vars":${nest(5000)}}`,
      status: [400],
      message: deep(5000),
    },
    // An experiment stored before the bounds: read back and run.
    {
      name: 'GET a stored bomb',
      method: 'GET',
      url: '/v1/experiments/stored-before',
      status: [400],
      message: /no longer parses: .*longer than/,
    },
    {
      name: 'run a stored bomb',
      method: 'POST',
      url: '/v1/experiments/stored-before/runs',
      body: '{}',
      status: [400],
      message: /no longer parses/,
    },
    // Signals.
    {
      name: 'Alertmanager: 5,000 levels',
      method: 'POST',
      url: '/v1/signals/alertmanager',
      body: alertmanager(nest(5000)),
      status: [400],
      message: deep(5000),
    },
    {
      name: 'Alertmanager: 100,000 levels',
      method: 'POST',
      url: '/v1/signals/alertmanager',
      body: alertmanager(nest(100_000)),
      status: [400],
      message: deep(100_000),
    },
    {
      name: 'Alertmanager: 150,000 values',
      method: 'POST',
      url: '/v1/signals/alertmanager',
      body: alertmanager(`[${'0,'.repeat(150_000)}0]`),
      status: [400],
      message: new RegExp(`more than ${J.nodes} values`),
    },
    {
      name: 'CloudEvents structured: 5,000 levels',
      method: 'POST',
      url: '/v1/signals/cloudevents',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: cloudEvent(nest(5000)),
      status: [400],
      message: deep(5000),
    },
    {
      name: 'CloudEvents binary: 100,000 levels',
      method: 'POST',
      url: '/v1/signals/cloudevents',
      headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': 'b1', 'ce-source': 'falco.org', 'ce-type': 'x' },
      body: nest(100_000),
      status: [400],
      message: deep(100_000),
    },
    {
      name: 'webhook: 5,000 levels (was a 500)',
      method: 'POST',
      url: '/v1/signals/webhook/hook',
      body: `{"id":"w1","rule":"r","data":${nest(5000)}}`,
      status: [400],
      message: deep(5000),
    },
    {
      name: 'webhook: 100,000 levels',
      method: 'POST',
      url: '/v1/signals/webhook/hook',
      body: `{"id":"w2","data":${nest(100_000)}}`,
      status: [400],
      message: deep(100_000),
    },
  ];
}

interface Answer {
  name: string;
  status: number;
  body: unknown;
  /** Wall time from sending to the whole answer. */
  ms: number;
  /** CPU time the server's main thread (its event loop) spent meanwhile, in 10 ms ticks. */
  cpuMs: number;
}

/**
 * CPU time of a process's main thread so far, in ms: utime + stime of /proc/PID/task/PID/stat,
 * in clock ticks of 10 ms. The main thread only: V8 compiles and collects garbage on threads of
 * its own too, which do not hold up the event loop.
 */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function send(b: Bad): Promise<Answer> {
  const cpu = cpuOf(server.pid);
  const t = performance.now();
  const res = await fetch(`${server.url}${b.url}`, {
    method: b.method,
    headers: { authorization: `Bearer ${token}`, ...(b.body !== undefined ? { 'content-type': 'application/json' } : {}), ...b.headers },
    ...(b.body !== undefined ? { body: b.body } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  const ms = performance.now() - t;
  const cpuMs = cpuOf(server.pid) - cpu;
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the assertion on the shape says so
  }
  return { name: b.name, status: res.status, body, ms, cpuMs };
}

/** Run `work` while asking GET /healthz over and over; the latency of every answer. */
async function withHealthz<T>(work: () => Promise<T>): Promise<{ result: T; healthz: number[] }> {
  const healthz: number[] = [];
  let done = false;
  const poll = (async () => {
    while (!done) {
      const t = performance.now();
      const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      healthz.push(performance.now() - t);
      expect(res.status).toBe(200);
      await sleep(5);
    }
  })();
  try {
    const result = await work();
    return { result, healthz };
  } finally {
    done = true;
    await poll;
  }
}

/**
 * How many times over the machine's cores are asked for (1 when they are not): on shared cores
 * a process that needs 10 ms of CPU can take 10 ms times this of wall time, whatever it does.
 */
const contention = () => Math.max(1, loadavg()[0]! / availableParallelism());

describe('parser budget of bulwark serve', () => {
  it('refuses amplification and nesting past the bounds at every HTTP entry point with a 4xx, fast, while /healthz answers', async () => {
    const bad = badRequests();
    const check = (answers: Answer[]) => {
      for (const [i, a] of answers.entries()) {
        const want = bad[i]!;
        const what = `${a.name}: ${JSON.stringify(a.body).slice(0, 300)}`;
        expect(want.status, what).toContain(a.status);
        expect(Object.keys(a.body as object).sort(), what).toEqual(expect.arrayContaining(['error', 'message']));
        expect(['invalid', 'payload_too_large'], what).toContain((a.body as { error: string }).error);
        expect((a.body as { message: string }).message, what).toMatch(want.message);
        expect(JSON.stringify(a.body), what).not.toContain('s3cret-value');
      }
    };
    // A few times first, as a server that has been running has done: V8 compiles the parsers'
    // code over its first uses (the first YAML parse of a process takes up to 300 ms of CPU, the
    // tenth 30 to 50), which is not what is measured here.
    for (let i = 0; i < 5; i++) for (const b of bad) await send(b);
    // Then measured. The server's CPU time per refusal is bounded as it is; the wall times as on
    // a machine with a core to spare, scaled by how oversubscribed this one is. A round whose
    // slowest health check was a pause of the machine is run again, at most twice: a parse that
    // blocks the server's loop fails every round.
    const rounds: string[] = [];
    let passed = false;
    for (let round = 0; round < 3 && !passed; round++) {
      const scale = contention();
      const { result: answers, healthz } = await withHealthz(async () => {
        const out: Answer[] = [];
        for (const b of bad) out.push(await send(b));
        return out;
      });
      check(answers);
      healthz.sort((x, y) => x - y);
      const slowest = healthz.at(-1)!;
      rounds.push(
        [
          `round ${round + 1} (load ${scale.toFixed(1)} times the cores): ${healthz.length} health checks, median ${healthz[healthz.length >> 1]!.toFixed(1)} ms, slowest ${slowest.toFixed(1)} ms`,
          ...answers.map((a) => `  ${a.ms.toFixed(0).padStart(5)} ms, server CPU ${String(a.cpuMs).padStart(3)} ms: ${a.name}`),
        ].join('\n'),
      );
      for (const a of answers) expect(a.cpuMs, `${a.name}\n${rounds.join('\n')}`).toBeLessThan(HEALTHZ_MS);
      passed = healthz.length >= 10 && slowest < HEALTHZ_MS * scale && answers.every((a) => a.ms < ANSWER_MS * scale);
    }
    if (process.env.BUDGET_REPORT === '1') console.log(rounds.join('\n'));
    expect(passed, rounds.join('\n')).toBe(true);
    // Nothing was stored, and the server still takes good input.
    const posted = await api(server, 'POST', '/v1/signals/webhook/hook', { token, body: { id: 'good', rule: '942100' } });
    expect(posted.status).toBe(202);
    const signals = await api(server, 'GET', '/v1/signals?limit=500', { token });
    // Only the good one of what was sent; Bulwark's own announcements (source bulwark: a KRI's
    // colour on a fresh install) are not from these requests.
    const sources = signals.body.signals.map((s: { source: string }) => s.source) as string[];
    expect(sources.filter((s) => s !== 'bulwark')).toEqual(['hook']);
    const verify = await api(server, 'GET', '/v1/ledger/verify', { token });
    expect(verify.body).toMatchObject({ ok: true });
  }, 300_000);

  it('skips a ModSecurity audit line nested past the bound in the tailed log, and reads the next one', async () => {
    const line = (id: string, extra: string) =>
      `${JSON.stringify({
        transaction: {
          client_ip: '127.0.0.1',
          time_stamp: 'Sun Mar  1 10:00:03 2026',
          unique_id: id,
          request: { method: 'GET', uri: '/', headers: { Host: 'shop', 'X-Bulwark-Run': RUN } },
          response: { http_code: 403 },
          messages: [{ message: 'm', details: { ruleId: '942100', severity: '2' } }],
          extra: '@',
        },
      }).replace('"@"', extra)}\n`;
    const { healthz } = await withHealthz(async () => {
      appendFileSync(log, line('deep', nest(100_000)) + line('deep2', nest(5000)) + line('good', '1'));
      for (let i = 0; i < 200; i++) {
        const res = await api(server, 'GET', '/v1/signals?source=waf&limit=10', { token });
        if (res.body.signals.length > 0) return;
        await sleep(50);
      }
    });
    const res = await api(server, 'GET', '/v1/signals?source=waf&limit=10', { token });
    expect(res.body.signals.map((s: { labels: Record<string, string> }) => s.labels.unique_id)).toEqual(['good']);
    expect(healthz.length).toBeGreaterThan(0);
    expect(Math.max(...healthz)).toBeLessThan(1000);
  }, 120_000);
});

describe('parser budget of the files Bulwark reads', () => {
  /** The error `f` throws, and its best time of three (the first call also compiles the parser). */
  const refused = (f: () => unknown): { error: unknown; ms: number } => {
    let error: unknown;
    let ms = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      try {
        f();
      } catch (e) {
        error = e;
      }
      ms = Math.min(ms, performance.now() - t);
    }
    return { error, ms };
  };

  it('refuses a config file past the bounds, in loadConfig and in bulwark serve --config', async () => {
    const d = await tmpDir('bulwark-parser-budget-config-');
    try {
      const cases: [string, RegExp][] = [
        [reviewExample.replace('title: t\ndescription: d\nmethod: []\n', ''), /longer than 65536 characters/],
        [amplified.replace('title: t\ndescription: d\nmethod: []\n', ''), new RegExp(`expands to more than ${Y.nodes} values`)],
        [laughs.replace('title: t\ndescription: d\nmethod: []\n', ''), new RegExp(`expands to more than ${Y.nodes} values`)],
        [`signals: ${nest(5000)}\n`, /nests too deeply/],
      ];
      for (const [i, [text, message]] of cases.entries()) {
        const file = path.join(d.path, `config-${i}.yaml`);
        writeFileSync(file, text);
        const r = refused(() => readConfigFile(file));
        expect(r.error).toMatchObject({ code: 'invalid', message: expect.stringMatching(message) as string });
        expect(r.ms).toBeLessThan(500);
      }
      const file = path.join(d.path, 'config-1.yaml');
      const start = await runCli(['serve', '--config', file, '--data-dir', d.path, '--port', '0'], { timeoutMs: 60_000 });
      expect(start.code, describeRun(start)).not.toBe(0);
      expect(start.stderr).toMatch(new RegExp(`expands to more than ${Y.nodes} values`));
    } finally {
      await d.cleanup();
    }
  }, 120_000);

  it('refuses an Atomic Red Team file past the bounds, in importAtomic and in bulwark experiments import-atomic', async () => {
    const atomic = (rest: string) => `attack_technique: T1000\ndisplay_name: x\n${rest}`;
    const A = INPUT_LIMITS.atomicYaml;
    const cases: [string, RegExp][] = [
      [atomic(reviewExample), /longer than 262144 characters|more than 65536 YAML tokens/],
      [atomic(`x-a: &a [${'1,'.repeat(20_000)}1]\nx-b: [${'*a,'.repeat(98)}*a]\n`), new RegExp(`expands to more than ${A.nodes} values`)],
      [atomic(laughs), new RegExp(`expands to more than ${A.nodes} values`)],
      [atomic(`atomic_tests: ${nest(30_000)}\n`), /nests too deeply/],
    ];
    const d = await tmpDir('bulwark-parser-budget-atomic-');
    try {
      for (const [i, [text, message]] of cases.entries()) {
        let ms = Infinity;
        let r = importAtomic(text);
        for (let k = 0; k < 3; k++) {
          const t = performance.now();
          r = importAtomic(text);
          ms = Math.min(ms, performance.now() - t);
        }
        expect(r.ok).toBe(false);
        expect(r.ok ? '' : r.errors[0]!.message).toMatch(message);
        expect(ms).toBeLessThan(1000);
        if (i === 1) {
          const file = path.join(d.path, 'T1000.yaml');
          writeFileSync(file, text);
          const run = await runCli(['experiments', 'import-atomic', file, '--out', d.path], { timeoutMs: 60_000 });
          expect(run.code, describeRun(run)).toBe(2);
          expect(run.stderr).toMatch(message);
        }
      }
    } finally {
      await d.cleanup();
    }
  }, 120_000);
});
