/**
 * SLIs from a real Prometheus (Debian's): two counters backfilled into its TSDB with
 * `promtool tsdb create-blocks-from openmetrics` before it starts (no scrape to wait for), an SLO
 * whose SLI queries it over the HTTP API, and Bulwark's burn rates compared with the ratio
 * Prometheus itself gives. Then the failures: Prometheus stopped (status unknown, no page, no
 * freeze), a PromQL error, hosts the file does not allow.
 *
 * And the other way round: Prometheus evaluating the rules Bulwark generates for one of its own
 * SLOs (core/slos/counter-series.ts) over the SLI events Bulwark read from its runs, backfilled as
 * counters with one sample a minute (on the minute, so every window starts on a sample), and Bulwark's /metrics as Bulwark served it at the same
 * instant: the burn rate of every alert window that the rules give equals Bulwark's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { evaluatePolicies } from '../../app/slos/policy-job.ts';
import { appliedModel } from '../../app/slos/apply-slo.ts';
import { sliEvents } from '../../app/slos/slo-status.ts';
import { counterSamples, counterSpec } from '../../core/slos/counter-series.ts';
import { slothRules, type RecordingRule } from '../../core/slos/sloth-rules.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import { makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';
import { killPid, markOwned, pidFromFile, reapOrphans, stopPid, trackChild } from '../../../test/support/processes.ts';
import { PROMETHEUS_BIN, PROMTOOL_BIN } from '../../../test/support/prometheus.ts';
import { freePort, tmpDir } from '../../../test/support/tmp.ts';
import { until } from '../../../test/support/wait.ts';

const PREFIX = 'bulwark-slo-prom-';

function prometheusAvailable(): boolean {
  const missing = [PROMETHEUS_BIN, PROMTOOL_BIN].filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  const reason = `Prometheus not found (missing: ${missing.join(', ')}): apt-get install prometheus`;
  if (process.env.CI === 'true') throw new Error(`${reason}. CI=true: the Prometheus SLI tests may not be skipped`);
  console.warn(`[prometheus] ${reason}. The Prometheus SLI tests are skipped.`);
  return false;
}

// The evaluation instant, on a minute; data up to it. Real time: Prometheus keeps blocks by age.
const NOW = Math.floor(Date.now() / 60_000) * 60_000;
const HOURS = 30;

/**
 * 10 requests a minute for 30 hours; none bad except in the last hour, where 5 of 10 are: an
 * error ratio of 0.5 over 1h (a burn rate of 50 at 99%), far above the page factor.
 */
function openMetrics(more = ''): string {
  const lines = ['# HELP shop_requests Requests to the shop.', '# TYPE shop_requests counter'];
  const bad: string[] = ['# HELP shop_requests_bad Requests that failed.', '# TYPE shop_requests_bad counter'];
  let total = 0;
  let failed = 0;
  for (let t = NOW - HOURS * 3_600_000; t <= NOW; t += 60_000) {
    total += 10;
    if (t > NOW - 3_600_000) failed += 5;
    lines.push(`shop_requests_total{job="shop"} ${total} ${t / 1000}`);
    bad.push(`shop_requests_bad_total{job="shop"} ${failed} ${t / 1000}`);
  }
  return [...lines, ...bad, more, '# EOF', ''].join('\n');
}

interface Prom {
  url: string;
  stop(): Promise<void>;
  query(expr: string): Promise<number>;
  /** The instant query's first value at NOW, or null when nothing matched. */
  queryMaybe(expr: string): Promise<number | null>;
}

function run(bin: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${bin} ${args.join(' ')} failed (${code}):\n${out}`))));
  });
}

/** Prometheus over a TSDB backfilled with `data` (OpenMetrics), scraping nothing, with a rule file when given. */
async function startSeededPrometheus(data: string, rules?: string): Promise<Prom> {
  reapOrphans(PREFIX, (dir) => {
    const pid = pidFromFile(path.join(dir, 'prometheus.pid'), dir);
    if (pid !== undefined) killPid(pid, 'SIGKILL');
  });
  const dir = await tmpDir(PREFIX);
  markOwned(dir.path);
  const tsdb = path.join(dir.path, 'tsdb');
  await writeFile(path.join(dir.path, 'data.om'), data);
  await run(PROMTOOL_BIN, ['tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=96h', 'data.om', tsdb], dir.path);
  if (rules !== undefined) {
    await writeFile(path.join(dir.path, 'rules.yml'), rules);
    await run(PROMTOOL_BIN, ['check', 'rules', 'rules.yml'], dir.path);
  }
  await writeFile(
    path.join(dir.path, 'prometheus.yml'),
    rules === undefined ? 'global:\n  evaluation_interval: 1m\n' : 'global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n',
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${path.join(dir.path, 'prometheus.yml')}`,
      `--storage.tsdb.path=${tsdb}`,
      '--storage.tsdb.retention.time=10y',
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  trackChild(child);
  let log = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (log += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (log += s));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await writeFile(path.join(dir.path, 'prometheus.pid'), String(child.pid));
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) await stopPid(child.pid!, exited, 'SIGTERM', 10_000);
      await dir.cleanup();
    })());
  const queryMaybe = async (expr: string) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${NOW / 1000}`);
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    const first = body.data.result[0];
    return first ? Number(first.value[1]) : null;
  };
  const query = async (expr: string) => (await queryMaybe(expr))!;
  try {
    await until(
      'Prometheus /-/ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode})\n${log.slice(-2000)}`);
        const r = await fetch(`${url}/-/ready`).catch(() => undefined);
        await r?.arrayBuffer();
        return r?.status === 200;
      },
      15_000,
      () => log.slice(-2000),
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, stop, query, queryMaybe };
}

const FILE = (url: string, extra = '') => `apiVersion: bulwark/v1
kind: SLO
name: shop-availability
service: shop
objective: 99
window: 7d
sli:
  prometheus:
    url: ${url}
    bad: sum(increase(shop_requests_bad_total{job="shop"}[{{.window}}]))
    total: shop_requests_total{job="shop"}
    timeout: 2s${extra}
policy:
  freezeBelow: 50
`;

const RULES_FILE = `apiVersion: bulwark/v1
kind: SLO
name: waf-rules
service: shop
objective: 99
window: 30d
sli:
  experiments:
    experiment: waf-rules
`;

/**
 * Runs of one experiment over the last 3 days and 2 hours, each ending 30 s into a minute (never
 * on a window's edge): one every 20 minutes, one in 9 missed, then one every 2 minutes in the last
 * hour, one in 3 missed.
 */
function ruleRuns(): RunRecord[] {
  const runs: RunRecord[] = [];
  const add = (minutesAgo: number, missed: boolean) => {
    const end = new Date(NOW - minutesAgo * 60_000 - 30_000).toISOString();
    runs.push({
      id: `rr${String(runs.length).padStart(14, '0')}`,
      experiment: 'waf-rules',
      state: 'done',
      outcome: missed ? 'missed' : 'detected',
      reason: 'test',
      startedAt: end,
      endedAt: end,
      leaseOwner: null,
      leaseUntil: null,
      rollbacks: [],
      journal: { bulwark: { techniques: ['T1190'], detections: [{ name: 'waf' }] } },
      ttdMs: null,
      dryRun: false,
    });
  };
  for (let m = 60; m < (3 * 24 + 2) * 60; m += 20) add(m, m % 9 === 0);
  for (let m = 0; m < 60; m += 2) add(m, m % 3 === 0);
  return runs;
}

/**
 * The rule check's data, from a running Bulwark: the SLO applied, its SLI events as counters
 * every minute up to NOW, Bulwark's own burn-rate gauges from its /metrics at NOW, and the rules.
 */
async function seedRuleCheck(app: TestApp): Promise<{ data: string; rules: string; recordings: RecordingRule[] }> {
  for (const r of ruleRuns()) await app.deps.store.runs.insert(r);
  const auth = { authorization: `Bearer ${app.adminToken}` };
  const applied = await app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth, payload: { file: RULES_FILE } });
  expect(applied.statusCode, applied.body).toBe(201);
  const model = appliedModel((await app.deps.store.slos.get('waf-rules'))!);
  const from = NOW - (3 * 24 + 3) * 3_600_000;
  const events = await sliEvents(app.deps, model, from, NOW);
  const instants: number[] = [];
  for (let t = from; t <= NOW; t += 60_000) instants.push(t);
  const metrics = (await app.app.inject({ url: '/metrics', headers: auth })).body;
  const gauges = metrics
    .split('\n')
    .filter((l) => l.startsWith('bulwark_slo_burn_rate{slo="waf-rules"'))
    .map((l) => `${l} ${NOW / 1000}`);
  expect(gauges.length).toBeGreaterThan(0);
  const data = [
    counterSamples(model, events, instants),
    '# HELP bulwark_slo_burn_rate Burn rate.',
    '# TYPE bulwark_slo_burn_rate gauge',
    ...gauges,
  ].join('\n');
  const groups = slothRules(counterSpec(model), { periodMs: 30 * 86_400_000, version: 'test' });
  const recordings = groups.flatMap((g) => g.rules).filter((r): r is RecordingRule => 'record' in r);
  return { data, rules: stringify({ groups }, { lineWidth: 0 }), recordings };
}

describe.skipIf(!prometheusAvailable())('SLIs from a real Prometheus', () => {
  let prom: Prom;
  let app: TestApp;
  const clock = new ManualClock(NOW);
  const auth = () => ({ authorization: `Bearer ${app.adminToken}` });
  const show = async (name: string) => {
    const res = await app.app.inject({ method: 'GET', url: `/v1/slos/${name}`, headers: auth() });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<any>();
  };
  const apply = (file: string) => app.app.inject({ method: 'POST', url: '/v1/slos', headers: auth(), payload: { file } });

  let seeded: Awaited<ReturnType<typeof seedRuleCheck>>;

  beforeAll(async () => {
    app = await makeTestApp({ clock });
    seeded = await seedRuleCheck(app);
    prom = await startSeededPrometheus(openMetrics(seeded.data), seeded.rules);
  }, 30_000);

  it("evaluates the rules Bulwark generated over Bulwark's SLI series: at the same instant, its burn rates equal Bulwark's own", async () => {
    // The rule file loaded, and every rule of it evaluates.
    await until(
      'the rules evaluated once',
      async () => {
        const res = await fetch(`${prom.url}/api/v1/rules`);
        const body = (await res.json()) as { data: { groups: { rules: { health: string; lastError?: string }[] }[] } };
        const rules = body.data.groups.flatMap((g) => g.rules);
        for (const r of rules) expect(r.health, r.lastError).not.toBe('err');
        return rules.length === seeded.recordings.length + 2 && rules.every((r) => r.health === 'ok');
      },
      10_000,
    );
    const auth = { authorization: `Bearer ${app.adminToken}` };
    const s = (await app.app.inject({ url: '/v1/slos/waf-rules', headers: auth })).json<any>();
    const budget = 1 - 0.99;
    let compared = 0;
    for (const w of ['5m', '30m', '1h', '2h', '6h', '1d', '3d']) {
      const own = s.status.burnRates.find((r: { window: string }) => r.window === w).rate as number | null;
      const rule = seeded.recordings.find((r) => r.record === `slo:sli_error:ratio_rate${w}`)!;
      const ratio = await prom.queryMaybe(rule.expr);
      const served = await prom.queryMaybe(`bulwark_slo_burn_rate{slo="waf-rules",window="${w}"}`);
      if (own === null) {
        // No run in the window: no burn rate from Bulwark, none from the rule (0 ÷ 0).
        expect(ratio === null || Number.isNaN(ratio), w).toBe(true);
        expect(served, w).toBeNull();
        continue;
      }
      const rel = (x: number) => Math.abs(x - own) / Math.max(Math.abs(own), 1e-300);
      expect(rel(ratio! / budget), `the rules' burn rate over ${w}: ${ratio! / budget} vs ${own}`).toBeLessThan(1e-9);
      expect(rel(served!), `the /metrics burn rate over ${w}`).toBeLessThan(1e-9);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(6);
    expect(s.status.alerts.find((a: { severity: string }) => a.severity === 'page').firing).toBe(true);
  });
  afterAll(async () => {
    await Promise.all([prom?.stop(), app?.close()]);
  });

  it("reads good and total per window: Bulwark's burn rates equal Prometheus's own ratio, the page fires and the policy freezes", async () => {
    expect((await apply(FILE(prom.url))).statusCode).toBe(201);
    const s = await show('shop-availability');
    expect(s.state).toBe('evaluated');
    expect(s.sli).toBe('prometheus');
    const rate = (w: string) => s.status.burnRates.find((r: { window: string }) => r.window === w).rate as number;
    for (const w of ['5m', '1h', '6h', '1d', '3d']) {
      const ratio = await prom.query(
        `sum(increase(shop_requests_bad_total{job="shop"}[${w}])) / sum(increase(shop_requests_total{job="shop"}[${w}]))`,
      );
      const expected = ratio / 0.01;
      expect(Math.abs(rate(w) - expected) / expected, `burn rate over ${w}`).toBeLessThan(1e-9);
    }
    expect(rate('1h')).toBeGreaterThan(40);
    expect(s.status.alerts.find((a: { severity: string }) => a.severity === 'page').firing).toBe(true);
    expect(s.policy.state).toBe('freeze');
    expect((await app.app.inject({ url: '/metrics', headers: auth() })).body).toContain(
      'bulwark_slo_unknown{slo="shop-availability",service="shop"} 0',
    );
    // The period's totals are Prometheus's own increase over 7d.
    const total = await prom.query('sum(increase(shop_requests_total{job="shop"}[7d]))');
    expect(Math.abs(s.status.total - total) / total).toBeLessThan(1e-9);
  });

  it('OpenSLO ratioMetric with a Prometheus source that names its url maps onto the same SLI', async () => {
    const metric = (query: string) => `
          metricSource:
            type: Prometheus
            spec:
              url: ${prom.url}
              query: '${query}'`;
    const file = `apiVersion: openslo/v1
kind: SLO
metadata:
  name: shop-openslo
spec:
  service: shop
  indicator:
    spec:
      ratioMetric:
        counter: true
        bad:${metric('shop_requests_bad_total{job="shop"}')}
        total:${metric('shop_requests_total{job="shop"}')}
  timeWindow:
    - duration: 7d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
`;
    const res = await apply(file);
    expect(res.statusCode, res.body).toBe(201);
    const [a, b] = [await show('shop-openslo'), await show('shop-availability')];
    expect(a.sli).toBe('prometheus');
    expect(a.status.burnRates).toEqual(b.status.burnRates);
  });

  it('a PromQL error makes the status unknown, saying Prometheus refused the query (not its message)', async () => {
    const file = FILE(prom.url)
      .replace('name: shop-availability', 'name: shop-broken')
      .replace('total: shop_requests_total{job="shop"}', 'total: sum(rate(shop_requests_total[{{.window}}])');
    expect((await apply(file)).statusCode).toBe(201);
    const s = await show('shop-broken');
    expect(s.state).toBe('unknown');
    expect(s.status).toBeNull();
    expect(s.note).toMatch(/Prometheus at .* refused the query: check it in Prometheus/);
    expect(s.note).not.toMatch(/bad_data|parse error/);
  });

  it('hosts the file does not allow, and metadata addresses, are refused when the file is applied', async () => {
    const far = await apply(FILE('http://prometheus.example.com:9090'));
    expect(far.statusCode).toBe(400);
    expect(far.body).toMatch(/prometheus\.example\.com is not in allowHosts/);
    const meta = await apply(FILE('http://169.254.169.254', '\n    allowHosts: ["169.254.0.0/16"]'));
    expect(meta.statusCode).toBe(400);
    expect(meta.body).toMatch(/metadata address/);
    const allowed = await apply(
      FILE('http://prometheus.example.com:9090', '\n    allowHosts: ["*.example.com"]').replace('shop-availability', 'shop-remote'),
    );
    expect(allowed.statusCode, allowed.body).toBe(201);
    expect((await app.app.inject({ method: 'DELETE', url: '/v1/slos/shop-remote', headers: auth() })).statusCode).toBe(200);
  });

  it('with Prometheus down: unknown, saying it cannot be reached; no page, no freeze, nothing recorded', async () => {
    await prom.stop();
    const s = await show('shop-availability');
    expect(s.state).toBe('unknown');
    expect(s.note).toMatch(/gave no query result \(unreachable, too slow/);
    expect(s.note).not.toMatch(/ECONNREFUSED/);
    expect(s.policy).toBeNull();
    const alerts: { slo: string }[] = [];
    const changes = await evaluatePolicies(app.deps, { ingest: { ingest: async () => ({}) as never }, onAlert: (a) => alerts.push(a) });
    expect(changes.filter((c) => c.name === 'shop-availability')).toEqual([]);
    // The rule check's own SLO (waf-rules, from runs) pages; nothing of the unknown one does.
    expect(alerts.filter((a) => a.slo === 'shop-availability')).toEqual([]);
    const metrics = (await app.app.inject({ url: '/metrics', headers: auth() })).body;
    expect(metrics).toContain('bulwark_slo_unknown{slo="shop-availability",service="shop"} 1');
    expect(metrics).not.toMatch(/bulwark_slo_error_budget_remaining_ratio\{slo="shop-availability"/);
  });
});
