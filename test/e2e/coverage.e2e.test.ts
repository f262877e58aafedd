/**
 * The ATT&CK page in Chromium against a real `bulwark serve`: runs and experiments stored the
 * way the experiments capability stores them (written to the SQLite file before the server
 * starts), the matrix colouring each technique by its evidence, the filters, and a cell opening
 * its technique with the experiments, last runs and time to detect.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite.ts';
import type { RunRecord } from '../../src/store/experiments/port.ts';
import { ensureWebBuilt, launchChromium, skipBrowserTests } from '../support/browser.ts';
import { mintToken } from '../support/cli.ts';
import { spawnBulwark, waitHealthy, type NodeChild } from '../support/processes.ts';
import { freePort, tmpDir, type TmpDir } from '../support/tmp.ts';

const TEST_TIMEOUT = 90_000;
const skip = skipBrowserTests();

const HOUR = 3_600_000;

function run(id: string, experiment: string, outcome: string, endMs: number, ttdMs: number | null): RunRecord {
  return {
    id,
    experiment,
    state: 'done',
    outcome,
    reason: null,
    startedAt: new Date(endMs - 3000).toISOString(),
    endedAt: new Date(endMs).toISOString(),
    leaseOwner: null,
    leaseUntil: null,
    rollbacks: [],
    journal: {},
    ttdMs,
    dryRun: false,
  };
}

describe.skipIf(skip)('the ATT&CK page in Chromium', () => {
  let dir: TmpDir | undefined;
  let server: NodeChild | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let baseUrl = '';
  let token = '';
  let target: http.Server | undefined;
  let targetUrl = '';
  const log = (): string => server?.output().slice(-8_000) || '(no server output)';

  beforeAll(async () => {
    browser = await launchChromium();
    ensureWebBuilt();
    // A control that blocks: every request to /attack is refused with 403.
    target = http.createServer((req, res) => {
      req.resume();
      res.writeHead(req.url?.startsWith('/attack') ? 403 : 200).end();
    });
    await new Promise<void>((resolve) => target!.listen(0, '127.0.0.1', resolve));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    dir = await tmpDir('bulwark-e2e-coverage-');
    const file = join(dir.path, 'bulwark.db');
    const dbUrl = `sqlite:${file}`;
    token = await mintToken(dbUrl, dir.path, 'e2e', ['--admin']);
    const store = await openSqliteStore(file, { mustExist: true });
    try {
      const now = Date.now();
      const put = (name: string, title: string, techniques: string[]) =>
        store.experiments.put(
          {
            name,
            title,
            description: '',
            techniques,
            file: `title: ${title}\n`,
            fileSha256: 'a'.repeat(64),
            schedule: null,
            privileged: false,
            appliedBy: 'e2e',
          },
          new Date(now - 100 * 24 * HOUR).toISOString(),
        );
      await put('sqli-products', 'SQL injection is blocked', ['T1190']);
      await put('login-brute-force', 'Brute force is detected', ['T1110.001']);
      await put('file-discovery', 'File discovery is seen', ['T1083']);
      await put('log-tamper', 'Log tampering is seen', ['T1070.002']);
      // Per-control results, as the runner records them for expectations that name their control.
      await store.runs.insert({
        ...run('sqli000000000001', 'SQL injection is blocked', 'prevented', now - HOUR, 180),
        journal: { bulwark: { controls: [{ control: 'waf', results: ['blocked', 'logged'], alertedTtdMs: null, loggedTtdMs: 180 }] } },
      });
      await store.runs.insert(run('brute00000000001', 'Brute force is detected', 'detected', now - 2 * HOUR, 1500));
      await store.runs.insert(run('disc000000000001', 'File discovery is seen', 'missed', now - 3 * HOUR, null));
      // Detected, but 40 days ago: stale.
      await store.runs.insert(run('tamper0000000001', 'Log tampering is seen', 'detected', now - 40 * 24 * HOUR, 700));
    } finally {
      await store.close();
    }
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    server = spawnBulwark(['serve', '--db', dbUrl, '--data-dir', dir.path, '--host', '127.0.0.1', '--port', String(port)]);
    await waitHealthy(baseUrl, server, { timeoutMs: 20_000, describe: log });
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop('SIGTERM', 10_000);
    await new Promise((resolve) => target?.close(resolve));
    await dir?.cleanup();
  }, TEST_TIMEOUT);

  it(
    'colours each technique by its evidence, with tactics as columns in matrix order',
    async () => {
      await page.goto(`${baseUrl}/attack`);
      await page.getByTestId('signin-token').fill(token);
      await page.getByTestId('signin-submit').click();
      await page.getByTestId('attack-matrix').waitFor({ state: 'visible' });
      const tactics = await page
        .locator('[data-testid="attack-matrix"] th')
        .evaluateAll((ths) => ths.map((th) => th.getAttribute('data-tactic')));
      expect(tactics.slice(0, 3)).toEqual(['reconnaissance', 'resource-development', 'initial-access']);
      expect(tactics.at(-1)).toBe('impact');
      const status = (id: string) => page.getByTestId(`cell-${id}`).first().getAttribute('data-status');
      expect(await status('T1190')).toBe('blocked');
      expect(await status('T1110.001')).toBe('alerted');
      expect(await status('T1083')).toBe('none');
      expect(await status('T1070.002')).toBe('stale');
      expect(await status('T1486')).toBe('never');
      // A technique with sub-techniques is coloured by its roll-up: T1110 from T1110.001, T1070 from its stale T1070.002.
      expect(await status('T1110')).toBe('alerted');
      expect(await page.getByTestId('cell-T1110').first().getAttribute('data-own-status')).toBe('never');
      expect(await page.getByTestId('rollup-T1110').first().innerText()).toMatch(/1\/\d+/);
      expect(await status('T1070')).toBe('stale');
      const colour = await page
        .getByTestId('cell-T1190')
        .first()
        .evaluate((el) => getComputedStyle(el).backgroundColor);
      expect(colour).toBe('rgb(46, 125, 50)');
      expect(await page.getByTestId('kri-stale').innerText()).toBe('1');
      // The Overview's card counts the same evidence.
      await page.goto(`${baseUrl}/`);
      await page.getByTestId('overview-coverage').waitFor({ state: 'visible' });
      await page.getByTestId('coverage-exercised').waitFor({ state: 'visible' });
      expect(await page.getByTestId('coverage-exercised').innerText()).toBe('4');
      await page.goto(`${baseUrl}/attack`);
      await page.getByTestId('attack-matrix').waitFor({ state: 'visible' });
    },
    TEST_TIMEOUT,
  );

  it(
    'filters by tactic and platform',
    async () => {
      await page.getByTestId('filter-tactic').selectOption('credential-access');
      expect(await page.locator('[data-testid="attack-matrix"] th').count()).toBe(1);
      expect(await page.getByTestId('cell-T1110.001').count()).toBe(1);
      expect(await page.getByTestId('cell-T1190').count()).toBe(0);
      await page.getByTestId('filter-tactic').selectOption('');
      await page.getByTestId('filter-platform').selectOption('Office Suite');
      expect(await page.getByTestId('cell-T1190').count()).toBe(0);
      expect(await page.getByTestId('cell-T1110.001').count()).toBe(1);
      await page.getByTestId('filter-platform').selectOption('');
      // One control: only what the WAF showed; techniques it was not tested on are never exercised for it.
      await page.getByTestId('filter-control').selectOption('waf');
      await page.waitForFunction(() => document.querySelector('[data-testid="cell-T1110.001"]')?.getAttribute('data-status') === 'never');
      expect(await page.getByTestId('cell-T1190').first().getAttribute('data-status')).toBe('blocked');
      await page.getByTestId('filter-control').selectOption('');
      await page.waitForFunction(() => document.querySelector('[data-testid="cell-T1110.001"]')?.getAttribute('data-status') === 'alerted');
    },
    TEST_TIMEOUT,
  );

  it(
    'opens a cell: the technique’s experiments, last runs and time to detect',
    async () => {
      await page.getByTestId('cell-T1110.001').first().click();
      await page.getByTestId('technique-card').waitFor({ state: 'visible' });
      expect(page.url()).toBe(`${baseUrl}/attack/T1110.001`);
      expect(await page.getByTestId('technique-status').first().getAttribute('data-status')).toBe('alerted');
      expect(await page.getByTestId('technique-experiments').innerText()).toContain('login-brute-force');
      expect(await page.getByTestId('technique-ttd').innerText()).toContain('last 1,500 ms');
      const runs = page.getByTestId('technique-run');
      expect(await runs.count()).toBe(1);
      expect(await runs.first().innerText()).toContain('brute00000000001');
      expect(await page.getByTestId('ttd-point').count()).toBe(1);
      // A run from before per-control results is its own control, `default`.
      expect(await page.getByTestId('technique-control').first().getAttribute('data-control')).toBe('default');
      await page.goto(`${baseUrl}/attack/T1190`);
      const waf = page.locator('[data-testid="technique-control"][data-control="waf"]');
      await waf.waitFor({ state: 'visible' });
      expect(await waf.getAttribute('data-status')).toBe('blocked');
      expect(await waf.innerText()).toContain('blocked, logged');
      // Its time to detect per control: last, p50, p90 and n.
      expect(await waf.getByTestId('technique-control-ttd').innerText()).toBe('180 ms · 180 ms · 180 ms, n = 1');
      expect(await page.getByTestId('technique-run-controls').first().innerText()).toContain('waf: blocked, logged');
      await page.goto(`${baseUrl}/attack/T1110`);
      await page.getByTestId('technique-rollup').waitFor({ state: 'visible' });
      expect(await page.getByTestId('technique-rollup').getAttribute('data-status')).toBe('alerted');
      expect(await page.getByTestId('technique-rollup').innerText()).toContain('weakest: T1110.001');
      await page.goto(`${baseUrl}/attack/T1110.001`);
      await page.getByTestId('technique-card').waitFor({ state: 'visible' });
    },
    TEST_TIMEOUT,
  );

  it(
    'starts a run of an experiment that names a never-exercised technique, which then shows blocked',
    async () => {
      const file = `title: Active scanning is blocked
description: a wordlist scan the control refuses with 403
techniques: [T1595.003]
method:
  - type: action
    name: attack
    provider: { type: http, url: '${targetUrl}/attack/admin', timeout: 3 }
expect:
  blocked:
    tolerance: 403
`;
      const applied = await fetch(`${baseUrl}/v1/experiments`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ file, name: 'scan-blocked' }),
      });
      expect(applied.status, await applied.clone().text()).toBe(201);
      await page.goto(`${baseUrl}/attack/T1595.003`);
      await page.getByTestId('technique-applied').waitFor({ state: 'visible' });
      expect(await page.getByTestId('technique-status').first().getAttribute('data-status')).toBe('never');
      await page.getByTestId('run-now-scan-blocked').click();
      await page.getByTestId('technique-started').waitFor({ state: 'visible' });
      // The run ends in the background; refresh until the technique shows its evidence.
      for (let i = 0; i < 40; i++) {
        await page.getByTestId('technique-refresh').click();
        await page.waitForTimeout(250);
        if ((await page.getByTestId('technique-status').first().getAttribute('data-status')) === 'blocked') break;
      }
      expect(await page.getByTestId('technique-status').first().getAttribute('data-status'), log()).toBe('blocked');
      expect(await page.getByTestId('technique-run').count()).toBe(1);
      // The live run recorded its control's result: the file names none, so `default`.
      expect(await page.getByTestId('technique-run-controls').first().innerText()).toBe('default: blocked');
    },
    TEST_TIMEOUT,
  );
});
