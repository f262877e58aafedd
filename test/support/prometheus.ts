/**
 * A real alerting pipeline for tests: Prometheus (Debian's package) scraping loopback targets and
 * evaluating one alert rule file, sending to an Alertmanager that routes every alert to one
 * webhook, with intervals of a second so that an alert reaches the webhook within seconds.
 *
 *   const target = await startMetricsTarget({ demo_failed_logins: 0 });
 *   const hook = await startWebhookReceiver();
 *   const stack = await startAlerting({ rules, scrapeTargets: [target.hostPort], webhookUrl: hook.url });
 *   target.set('demo_failed_logins', 5);
 *   const [delivery] = await hook.waitFor((p) => p.status === 'firing');
 *   await stack.stop(); await hook.stop(); await target.stop();
 *
 * Both configurations are checked with promtool and amtool before anything starts, and a failed
 * check throws with their output. startAlerting() returns once both answer /-/ready, Prometheus
 * has discovered the Alertmanager (an alert that fires before that is dropped and resent only
 * after --rules.alert.resend-delay) and, unless told otherwise, every scrape target is up. That
 * takes ~5.5 s, nearly all of it Prometheus's discovery manager, which publishes targets (scrape
 * and Alertmanager alike) at most every 5 s; after that an alert reaches the webhook ~1–2 s after
 * the metric moves (scrape + evaluation at 1 s; Prometheus → Alertmanager → webhook takes ms).
 * stop() sends SIGTERM to both by pid, waits (SIGKILL after 10 s) and removes the directory.
 *
 * The metrics target and the webhook receiver are plain loopback HTTP servers: an experiment can
 * move a gauge over HTTP (`POST /set?name=demo_failed_logins&value=5`), as its http provider would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { killPid, markOwned, pidFromFile, reapOrphans, stopPid } from './processes.ts';
import { freePort, tmpDir } from './tmp.ts';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';
export const PROMTOOL_BIN = '/usr/bin/promtool';
export const AMTOOL_BIN = '/usr/bin/amtool';

export const skipReasonAlerting = 'Prometheus and Alertmanager not found: apt-get install prometheus prometheus-alertmanager';

const DIR_PREFIX = 'bulwark-alerting-';
/** A failed fetch's reason: undici puts the useful part (ECONNREFUSED, …) in `cause`. */
const why = (e: unknown): string => {
  const cause = e instanceof Error ? e.cause : undefined;
  return cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e);
};

/** The binaries the harness needs that are missing; empty when everything is installed. */
export function alertingMissing(): string[] {
  return [PROMETHEUS_BIN, ALERTMANAGER_BIN, PROMTOOL_BIN, AMTOOL_BIN].filter((p) => !existsSync(p));
}

/**
 * For `describe.skipIf(!alertingAvailable())`. Outside CI a missing package skips (with a warning
 * that says what to install); under CI=true it throws, so these tests cannot go quietly missing.
 */
export function alertingAvailable(): boolean {
  const missing = alertingMissing();
  if (missing.length === 0) return true;
  const reason = `${skipReasonAlerting} (missing: ${missing.join(', ')})`;
  if (process.env.CI === 'true') throw new Error(`${reason}. CI=true: the alerting tests may not be skipped`);
  console.warn(`[prometheus] ${reason}. Alerting tests are skipped.`);
  return false;
}

export interface AlertingOptions {
  /**
   * The alert rules, YAML: a whole rule file (`groups: [...]`) or one group (`name:`, `rules:`).
   * Checked with `promtool check config` (which checks the rule file too).
   */
  rules: string;
  /** `host:port` of each target Prometheus scrapes (job `bulwark-test`, path /metrics). */
  scrapeTargets: string[];
  /** Where Alertmanager sends every notification (webhook_config, send_resolved: true). */
  webhookUrl: string;
  /** A bearer token Alertmanager sends with each notification (http_config.authorization), e.g. Bulwark's source token. */
  webhookBearerToken?: string;
  scrapeIntervalMs?: number;
  evalIntervalMs?: number;
  /** Alertmanager's group_wait (0 by default: the first notification of a group goes at once). */
  groupWaitMs?: number;
  /** Alertmanager's group_interval (1 s by default): how soon a change in a group (a resolution) is sent. */
  groupIntervalMs?: number;
  /** Alertmanager's group_by; `['...']` (every alert is its own group) by default. */
  groupBy?: string[];
  /** Wait until every scrape target is up before returning (true by default). */
  waitForTargets?: boolean;
  /** How long to wait for everything to be ready, 30 s by default. */
  startTimeoutMs?: number;
}

export interface AlertingStack {
  prometheusUrl: string;
  alertmanagerUrl: string;
  prometheusPid: number;
  alertmanagerPid: number;
  /** The configs, rule file and data directories (removed by stop()). */
  dir: string;
  /** Prometheus's current alerts (GET /api/v1/alerts). */
  prometheusAlerts(): Promise<PrometheusAlert[]>;
  /** Alertmanager's current alerts (GET /api/v2/alerts). */
  alertmanagerAlerts(): Promise<unknown[]>;
  /** An instant query; the `data.result` of GET /api/v1/query. */
  query(expr: string): Promise<unknown[]>;
  /** Wait until every scrape target has been scraped successfully. */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  /** Milliseconds each start-up phase took (config checks, readiness, discovery, first scrape). */
  startupMs: Record<string, number>;
  /** The last lines both processes wrote, for failure messages. */
  logTail(lines?: number): string;
  /** SIGTERM to both by pid, wait (SIGKILL after 10 s), remove the directory. Idempotent. */
  stop(): Promise<void>;
}

export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt?: string;
  value: string;
}

const duration = (ms: number) => `${Math.round(ms)}ms`;

/** A rule file's text: `groups:` as given, a single group wrapped in one. */
export function ruleFileText(rules: string): string {
  let doc: unknown;
  try {
    doc = parseYaml(rules);
  } catch (e) {
    throw new Error(`alert rules are not YAML: ${(e as Error).message}`);
  }
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    if ('groups' in doc) return rules;
    if ('rules' in doc) return stringifyYaml({ groups: [doc] });
  }
  throw new Error('alert rules must be a rule file (groups: [...]) or one rule group (name:, rules:)');
}

/** Start Alertmanager and Prometheus on free loopback ports and wait until they are ready. */
export async function startAlerting(opts: AlertingOptions): Promise<AlertingStack> {
  const missing = alertingMissing();
  if (missing.length > 0) throw new Error(`${skipReasonAlerting} (missing: ${missing.join(', ')})`);
  if (opts.scrapeTargets.some((t) => !/^[A-Za-z0-9.\-[\]:]+:\d+$/.test(t))) {
    throw new Error(`scrapeTargets must be host:port, got ${JSON.stringify(opts.scrapeTargets)}`);
  }
  reapOrphanStacks();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts, await freePort(), await freePort());
    } catch (e) {
      lastError = e;
      if (!(e instanceof PortTaken)) throw e;
    }
  }
  throw lastError;
}

class PortTaken extends Error {}

interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  exit: Promise<void>;
  output(): string;
}

function launch(name: string, bin: string, args: string[], cwd: string): Proc {
  const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (s: string) => (s.length > 256 * 1024 ? s.slice(-256 * 1024) : s);
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out = keep(out + s)));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (out = keep(out + s)));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', () => {
      exited ??= { code: null, signal: null };
      resolve();
    });
  });
  if (child.pid === undefined) {
    // spawn reports a missing binary asynchronously; the pid tells us now.
    throw new Error(`could not spawn ${bin}${spawnError ? `: ${spawnError.message}` : ''}`);
  }
  return { name, pid: child.pid, child, exited: () => exited, exit, output: () => out };
}

async function terminate(p: Proc): Promise<void> {
  if (!p.exited()) await stopPid(p.pid, p.exit, 'SIGTERM', 10_000);
}

/** Run a checker (promtool, amtool); throws with its output when it refuses the file. */
function check(bin: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${bin} ${args.join(' ')}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(bin)} ${args.join(' ')} failed (${code ?? signal}):\n${out.trim()}`));
    });
  });
}

async function getJson(url: string): Promise<any> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

async function startOnce(opts: AlertingOptions, promPort: number, amPort: number): Promise<AlertingStack> {
  const dir = await tmpDir(DIR_PREFIX);
  const d = dir.path;
  markOwned(d);
  const promUrl = `http://127.0.0.1:${promPort}`;
  const amUrl = `http://127.0.0.1:${amPort}`;
  const scrapeMs = opts.scrapeIntervalMs ?? 1000;
  const evalMs = opts.evalIntervalMs ?? 1000;

  const rulesFile = path.join(d, 'rules.yml');
  await writeFile(rulesFile, ruleFileText(opts.rules));
  const promConfig = path.join(d, 'prometheus.yml');
  await writeFile(
    promConfig,
    stringifyYaml({
      global: { scrape_interval: duration(scrapeMs), scrape_timeout: duration(scrapeMs), evaluation_interval: duration(evalMs) },
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      rule_files: [rulesFile],
      scrape_configs: [{ job_name: 'bulwark-test', static_configs: [{ targets: opts.scrapeTargets }] }],
    }),
  );
  const amConfig = path.join(d, 'alertmanager.yml');
  await writeFile(
    amConfig,
    stringifyYaml({
      route: {
        receiver: 'bulwark',
        group_by: opts.groupBy ?? ['...'],
        group_wait: duration(opts.groupWaitMs ?? 0),
        group_interval: duration(opts.groupIntervalMs ?? 1000),
        repeat_interval: '1h',
      },
      receivers: [
        {
          name: 'bulwark',
          webhook_configs: [
            {
              url: opts.webhookUrl,
              send_resolved: true,
              ...(opts.webhookBearerToken
                ? { http_config: { authorization: { type: 'Bearer', credentials: opts.webhookBearerToken } } }
                : {}),
            },
          ],
        },
      ],
    }),
  );

  const startupMs: Record<string, number> = {};
  let mark = Date.now();
  const lap = (phase: string) => {
    const now = Date.now();
    startupMs[phase] = now - mark;
    mark = now;
  };
  try {
    await Promise.all([check(PROMTOOL_BIN, ['check', 'config', promConfig], d), check(AMTOOL_BIN, ['check-config', amConfig], d)]);
  } catch (e) {
    await dir.cleanup();
    throw e;
  }
  lap('checkConfigs');

  const procs: Proc[] = [];
  const onExit = () => {
    for (const p of procs) killPid(p.pid, 'SIGKILL');
  };
  process.once('exit', onExit);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      // Prometheus first: it would otherwise log failed sends to the stopped Alertmanager.
      for (const p of [...procs].reverse()) await terminate(p);
      process.off('exit', onExit);
      await dir.cleanup();
    })());
  const logTail = (lines = 30) =>
    procs.map((p) => `--- ${p.name} (pid ${p.pid}) ---\n${p.output().trimEnd().split('\n').slice(-lines).join('\n')}`).join('\n');

  try {
    const am = launch(
      'alertmanager',
      ALERTMANAGER_BIN,
      [
        `--config.file=${amConfig}`,
        `--storage.path=${path.join(d, 'alertmanager')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=',
      ],
      d,
    );
    procs.push(am);
    await writeFile(path.join(d, 'alertmanager.pid'), String(am.pid));
    const prom = launch(
      'prometheus',
      PROMETHEUS_BIN,
      [
        `--config.file=${promConfig}`,
        `--storage.tsdb.path=${path.join(d, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--rules.alert.resend-delay=1s',
      ],
      d,
    );
    procs.push(prom);
    await writeFile(path.join(d, 'prometheus.pid'), String(prom.pid));

    const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
    const waitFor = async (what: string, probe: () => Promise<boolean | string>): Promise<void> => {
      let last = 'no answer yet';
      for (;;) {
        for (const p of procs) {
          const ex = p.exited();
          if (ex) {
            if (/address already in use/i.test(p.output())) throw new PortTaken(`${p.name}: port taken`);
            throw new Error(`${p.name} exited (${ex.code ?? ex.signal}) while waiting for ${what}\n${logTail()}`);
          }
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})\n${logTail()}`);
        try {
          const state = await probe();
          if (state === true) return;
          last = state === false ? 'not yet' : state;
        } catch (e) {
          last = why(e);
        }
        await sleep(100);
      }
    };
    const ready = async (url: string) => {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    };
    await waitFor('Alertmanager /-/ready', () => ready(amUrl));
    lap('alertmanagerReady');
    await waitFor('Prometheus /-/ready', () => ready(promUrl));
    lap('prometheusReady');
    await waitFor('Prometheus to discover the Alertmanager', async () => {
      const body = await getJson(`${promUrl}/api/v1/alertmanagers`);
      const active: { url: string }[] = body?.data?.activeAlertmanagers ?? [];
      return active.some((a) => a.url.includes(`127.0.0.1:${amPort}`));
    });
    lap('alertmanagerDiscovered');

    const targetsUp = async () => {
      const body = await getJson(`${promUrl}/api/v1/targets?state=active`);
      const active: { health: string; scrapeUrl: string; lastError: string }[] = body?.data?.activeTargets ?? [];
      if (active.length === opts.scrapeTargets.length && active.every((t) => t.health === 'up')) return true;
      return active.length === 0
        ? 'no active targets yet'
        : active.map((t) => `${t.scrapeUrl}: ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`).join('; ');
    };
    if (opts.waitForTargets ?? true) {
      await waitFor('every scrape target to be up', targetsUp);
      lap('targetsUp');
    }

    return {
      prometheusUrl: promUrl,
      alertmanagerUrl: amUrl,
      prometheusPid: prom.pid,
      alertmanagerPid: am.pid,
      dir: d,
      startupMs,
      prometheusAlerts: async () => ((await getJson(`${promUrl}/api/v1/alerts`))?.data?.alerts ?? []) as PrometheusAlert[],
      alertmanagerAlerts: async () => (await getJson(`${amUrl}/api/v2/alerts`)) as unknown[],
      query: async (expr: string) =>
        ((await getJson(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`))?.data?.result ?? []) as unknown[],
      waitForTargetsUp: async (timeoutMs = 10_000) => {
        const until = Date.now() + timeoutMs;
        for (;;) {
          if ((await targetsUp().catch(() => false)) === true) return;
          if (Date.now() > until) throw new Error(`scrape targets not up after ${timeoutMs} ms\n${logTail()}`);
          await sleep(100);
        }
      },
      logTail,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// A metrics target and a webhook receiver

export interface MetricsTarget {
  url: string;
  /** `127.0.0.1:PORT`, for scrapeTargets. */
  hostPort: string;
  /** Set a gauge (created if new); `labels` make it a separate series. */
  set(name: string, value: number, labels?: Record<string, string>): void;
  stop(): Promise<void>;
}

/** The text format's escapes in a label value: backslash, double quote, line feed. */
const escapeLabelValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A loopback HTTP server with gauges in Prometheus's text format at GET /metrics. A gauge moves
 * with set() or over HTTP: `POST /set?name=NAME&value=V[&label=value…]` (204; 400 for a bad name or value).
 */
export async function startMetricsTarget(initial: Record<string, number> = {}): Promise<MetricsTarget> {
  // name → (rendered label set → value)
  const gauges = new Map<string, Map<string, number>>();
  const set = (name: string, value: number, labels: Record<string, string> = {}) => {
    if (!METRIC_NAME.test(name)) throw new Error(`not a metric name: ${JSON.stringify(name)}`);
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    const keys = Object.keys(labels).sort();
    for (const k of keys) if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new Error(`not a label name: ${JSON.stringify(k)}`);
    const rendered = keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k] ?? '')}"`).join(',')}}`;
    let series = gauges.get(name);
    if (!series) gauges.set(name, (series = new Map()));
    series.set(rendered, value);
  };
  for (const [name, value] of Object.entries(initial)) set(name, value);

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/metrics') {
      const lines: string[] = [];
      for (const [name, series] of gauges) {
        lines.push(`# TYPE ${name} gauge`);
        for (const [labels, value] of series) lines.push(`${name}${labels} ${value}`);
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(lines.join('\n') + '\n');
      return;
    }
    if (req.method === 'POST' && url.pathname === '/set') {
      req.resume();
      const name = url.searchParams.get('name') ?? '';
      const value = Number(url.searchParams.get('value'));
      const labels = Object.fromEntries([...url.searchParams].filter(([k]) => k !== 'name' && k !== 'value'));
      try {
        if (url.searchParams.get('value') === null) throw new Error('value is required');
        set(name, value, labels);
      } catch (e) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
        return;
      }
      res.writeHead(204).end();
      return;
    }
    res.writeHead(404).end();
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    set,
    stop: () => close(server),
  };
}

export interface WebhookDelivery {
  /** Date.now() when the request body had been read. */
  receivedAt: number;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body (an Alertmanager v4 payload when Alertmanager sent it). */
  body: any;
}

export interface WebhookReceiver {
  url: string;
  deliveries: WebhookDelivery[];
  /** Resolves with the first delivery (already received or to come) whose body satisfies `match`; throws after `timeoutMs` (default 15 s). */
  waitFor(match: (body: any) => boolean, timeoutMs?: number): Promise<WebhookDelivery>;
  stop(): Promise<void>;
}

/** A loopback HTTP server that records every JSON POST and answers 200. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const deliveries: WebhookDelivery[] = [];
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const receivedAt = Date.now();
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      deliveries.push({ receivedAt, headers: req.headers, body });
      res.writeHead(200).end();
      for (const w of waiters) w();
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    deliveries,
    waitFor: (match, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const look = () => {
          const hit = deliveries.find((d) => match(d.body));
          if (!hit) return false;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(hit);
          return true;
        };
        const check = () => void look();
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching webhook delivery within ${timeoutMs} ms (${deliveries.length} received)\n${JSON.stringify(deliveries.map((d) => d.body)).slice(0, 2000)}`,
            ),
          );
        }, timeoutMs);
        if (!look()) waiters.add(check);
      }),
    stop: () => close(server),
  };
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (addr === null || typeof addr === 'string') reject(new Error('no port'));
      else resolve(addr.port);
    });
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

// ---------------------------------------------------------------------------------------------
// Leftovers of a test process that died without stopping its stack

function reapOrphanStacks(): void {
  reapOrphans(DIR_PREFIX, (dir) => {
    for (const file of ['prometheus.pid', 'alertmanager.pid']) {
      const pid = pidFromFile(path.join(dir, file), dir);
      if (pid !== undefined) killPid(pid, 'SIGKILL');
    }
  });
}
