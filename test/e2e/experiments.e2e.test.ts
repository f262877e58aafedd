/**
 * The Experiments and Run pages in Chromium against a real `bulwark serve`: an experiment is
 * applied through the API, run from the dashboard against a loopback target that blocks the
 * injected request (403) and reports it as a CloudEvent carrying the run id, and the Run page
 * shows the timeline from injection to detection with the time to detect.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt, launchChromium, skipBrowserTests } from '../support/browser.ts';
import { mintToken } from '../support/cli.ts';
import { spawnBulwark, waitHealthy, type NodeChild } from '../support/processes.ts';
import { freePort, tmpDir, type TmpDir } from '../support/tmp.ts';

const TEST_TIMEOUT = 90_000;
/** The WAF rule the target reports; the experiment's detection waits for it. */
const RULE = 'e2e-sqli';
/** How long after blocking the target reports, so the time to detect is measurably above zero. */
const REPORT_DELAY_MS = 120;

const skip = skipBrowserTests();

interface Report {
  runId: string;
  status: number;
  body: string;
}

interface WafTarget {
  url: string;
  /** Run ids seen in X-Bulwark-Run on blocked requests. */
  blocked: string[];
  /** What Bulwark answered to each CloudEvent the target posted. */
  reports: Report[];
  pending: Set<Promise<void>>;
  close(): Promise<void>;
}

/**
 * A shop behind a WAF on loopback: GET /health answers 200; GET /search with a quote in `q` is
 * blocked with 403 and, REPORT_DELAY_MS later, reported to Bulwark as a structured CloudEvent
 * whose `bulwarkrun` extension names the run (from the request's X-Bulwark-Run header); any
 * other request answers 200.
 */
async function startWafTarget(bulwarkUrl: () => string, signalsToken: string): Promise<WafTarget> {
  const target: WafTarget = { url: '', blocked: [], reports: [], pending: new Set(), close: async () => undefined };
  const report = async (runId: string, path: string): Promise<void> => {
    await sleep(REPORT_DELAY_MS);
    const event = {
      specversion: '1.0',
      id: randomUUID(),
      source: 'e2e-waf',
      type: 'e2e.waf.blocked',
      time: new Date().toISOString(),
      subject: path,
      datacontenttype: 'application/json',
      rule: RULE,
      severity: 'high',
      bulwarkrun: runId,
      data: { rule: RULE, path, status: 403 },
    };
    try {
      const res = await fetch(`${bulwarkUrl()}/v1/signals/cloudevents`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${signalsToken}`, 'Content-Type': 'application/cloudevents+json' },
        body: JSON.stringify(event),
      });
      target.reports.push({ runId, status: res.status, body: await res.text() });
    } catch (err) {
      target.reports.push({ runId, status: 0, body: String(err) });
    }
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://target');
    req.resume();
    if (url.pathname === '/search' && (url.searchParams.get('q') ?? '').includes("'")) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('blocked by rule e2e-sqli\n');
      const header = req.headers['x-bulwark-run'];
      const runId = (Array.isArray(header) ? header[0] : header)?.trim();
      if (runId) {
        target.blocked.push(runId);
        const p = report(runId, url.pathname).finally(() => target.pending.delete(p));
        target.pending.add(p);
      }
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  target.close = async () => {
    await Promise.allSettled([...target.pending]);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return target;
}

function sqliExperiment(targetUrl: string): string {
  return `title: E2E SQL injection is blocked and reported
description: >
  A quote in the search query is refused by the WAF with 403, and the WAF reports it to
  Bulwark as a CloudEvent carrying the run id within seconds.
techniques: [T1190]
steady-state-hypothesis:
  title: the shop answers
  probes:
    - type: probe
      name: shop-up
      tolerance: 200
      provider: { type: http, url: '${targetUrl}/health', timeout: 3 }
method:
  - type: action
    name: inject-sqli
    provider:
      type: http
      url: ${targetUrl}/search
      method: GET
      arguments: { q: "' OR '1'='1" }
      timeout: 3
rollbacks:
  - type: action
    name: reset-shop
    provider: { type: http, url: '${targetUrl}/reset', method: POST, timeout: 3 }
expect:
  blocked:
    tolerance: 403
  detected:
    - name: waf-reports-sqli
      when: signal.labels.rule == "${RULE}"
      within: 10s
safety:
  maxDuration: 30s
  blastRadius:
    hosts: [127.0.0.1]
    paths: [/health, /search, /reset]
`;
}

/** An experiment that pauses after its action long enough to be stopped from the Run page. */
function slowExperiment(targetUrl: string): string {
  return `title: E2E slow experiment to stop
description: Waits after its action, so that a person can stop it.
techniques: [T1499]
method:
  - type: action
    name: touch-shop
    provider: { type: http, url: '${targetUrl}/health', timeout: 3 }
    pauses: { after: 40 }
rollbacks:
  - type: action
    name: reset-shop
    provider: { type: http, url: '${targetUrl}/reset', method: POST, timeout: 3 }
safety:
  maxDuration: 60s
  blastRadius:
    hosts: [127.0.0.1]
    paths: [/health, /reset]
`;
}

describe.skipIf(skip)('experiments and runs in Chromium', () => {
  let dir: TmpDir | undefined;
  let server: NodeChild | undefined;
  let target: WafTarget | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let baseUrl = '';
  let token = '';
  let sqliName = '';
  let runId = '';

  const log = (): string => server?.output().slice(-8_000) || '(no server output)';

  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the text for the failure message
    }
    return { status: res.status, body: parsed as T };
  }

  /** Apply an experiment file and return the name the server gave it. */
  async function apply(file: string, title: string): Promise<string> {
    const res = await api<{ experiment?: { name?: string }; name?: string }>('POST', '/v1/experiments', { file });
    if (res.status !== 200 && res.status !== 201) {
      throw new Error(`POST /v1/experiments: HTTP ${res.status} ${JSON.stringify(res.body)}\n${log()}`);
    }
    const name = res.body.experiment?.name ?? res.body.name;
    if (typeof name === 'string') return name;
    // The contract does not say what applying answers; find the experiment by its title.
    const list = await api<{ experiments: { name: string; title: string }[] }>('GET', '/v1/experiments');
    const found = list.body.experiments.find((e) => e.title === title);
    if (!found) throw new Error(`applied "${title}" but GET /v1/experiments does not list it: ${JSON.stringify(list.body)}`);
    return found.name;
  }

  async function shows(selector: string, what: string, timeout = 15_000): Promise<void> {
    try {
      await page.locator(selector).first().waitFor({ state: 'visible', timeout });
    } catch {
      const banners = await page.getByTestId('error-banner').allInnerTexts();
      const main = (
        await page
          .locator('main')
          .innerText()
          .catch(() => '(no main)')
      ).slice(0, 2_000);
      throw new Error(`${what} not shown (${selector}); errors: ${JSON.stringify(banners)}\npage:\n${main}\nserver:\n${log()}`);
    }
  }

  beforeAll(async () => {
    browser = await launchChromium();
    ensureWebBuilt();
    dir = await tmpDir('bulwark-e2e-exp-');
    const dbUrl = `sqlite:${join(dir.path, 'bulwark.db')}`;
    token = await mintToken(dbUrl, dir.path, 'e2e', ['--admin']);
    const signalsToken = await mintToken(dbUrl, dir.path, 'e2e-waf', ['--scope', 'signals:ingest']);

    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    target = await startWafTarget(() => baseUrl, signalsToken);
    server = spawnBulwark(['serve', '--db', dbUrl, '--data-dir', dir.path, '--host', '127.0.0.1', '--port', String(port)]);
    await waitHealthy(baseUrl, server, { timeoutMs: 20_000, describe: log });

    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop('SIGTERM', 10_000);
    await target?.close();
    await dir?.cleanup();
  }, TEST_TIMEOUT);

  it(
    'shows how to apply an experiment while there is none, then lists an applied one',
    async () => {
      await page.goto(`${baseUrl}/experiments`);
      await page.getByTestId('signin-token').fill(token);
      await page.getByTestId('signin-submit').click();
      await shows('[data-testid="experiments-empty"]', 'the empty state');
      expect(await page.getByTestId('experiments-empty').innerText()).toContain('bulwark experiments apply FILE');

      sqliName = await apply(sqliExperiment(target!.url), 'E2E SQL injection is blocked and reported');
      await page.getByRole('button', { name: 'Refresh' }).click();
      const row = page.locator(`[data-testid="experiment-row"][data-name="${sqliName}"]`);
      await shows(`[data-testid="experiment-row"][data-name="${sqliName}"]`, 'the applied experiment');
      const text = await row.innerText();
      expect(text).toContain('E2E SQL injection is blocked and reported');
      expect(text).toContain('T1190');
      expect(text).toContain('Never run');
      expect(await row.getByTestId('outcome-badge').count()).toBe(0);
    },
    TEST_TIMEOUT,
  );

  it(
    'runs it now and shows the run: injection, detection and time to detect, prevented',
    async () => {
      const row = page.locator(`[data-testid="experiment-row"][data-name="${sqliName}"]`);
      await row.getByTestId('run-now').click();
      await shows('[data-testid="run-started"]', 'the started-run notice');
      await page.getByTestId('open-started-run').click();
      await page.waitForURL(/\/runs\/[^/]+$/);
      runId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      expect(runId).toMatch(/^[a-z0-9]{8,32}$/);

      // The page refreshes itself every 2 s until the run is done.
      await shows('[data-testid="run-header"] [data-testid="outcome-badge"][data-outcome="prevented"]', 'the prevented outcome', 45_000);
      expect(target!.blocked).toContain(runId);
      expect(target!.reports.filter((r) => r.runId === runId).map((r) => r.status)).toEqual([202]);

      const kinds = await page.getByTestId('timeline-event').evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
      expect(kinds).toContain('injection');
      expect(kinds).toContain('detection');
      expect(kinds.indexOf('injection')).toBeLessThan(kinds.indexOf('detection'));
      expect(kinds).toContain('rollback');
      expect(kinds[0]).toBe('started');
      expect(kinds[kinds.length - 1]).toBe('finished');

      // The time to detect is the server's; the dashboard shows it in the header and on the span.
      const detail = await api<{ run: { ttdMs: number | null; outcome: string } }>('GET', `/v1/runs/${runId}`);
      expect(detail.status).toBe(200);
      expect(detail.body.run.outcome).toBe('prevented');
      const ttdMs = detail.body.run.ttdMs;
      expect(ttdMs).not.toBeNull();
      expect(ttdMs!).toBeGreaterThanOrEqual(REPORT_DELAY_MS - 20);
      expect(ttdMs!).toBeLessThan(10_000);
      const shown = new Intl.NumberFormat('en').format(Math.round(ttdMs!));
      expect(await page.getByTestId('ttd').innerText()).toBe(`${shown} ms`);
      expect(await page.getByTestId('ttd-span').innerText()).toContain(`time to detect ${shown} ms`);
      expect(await page.locator('.tl-event.in-ttd').count()).toBeGreaterThanOrEqual(2);
      expect(await page.getByTestId('stop-run').count()).toBe(0);

      // Details and the journal open on demand.
      await page.locator('[data-testid="timeline-event"][data-kind="detection"] summary').first().click();
      await page.getByText('Raw journal (JSON)').click();
      expect(await page.getByTestId('run-journal').innerText()).toContain(runId);
      await page.screenshot({ path: '/tmp/run-page.png', fullPage: true });
    },
    TEST_TIMEOUT,
  );

  it(
    'shows the outcome, the time to detect and the history on the Experiments page and the overview',
    async () => {
      await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Experiments' }).click();
      await page.waitForURL((url) => url.pathname === '/experiments');
      const row = page.locator(`[data-testid="experiment-row"][data-name="${sqliName}"]`);
      await shows(
        `[data-testid="experiment-row"][data-name="${sqliName}"] [data-testid="outcome-badge"][data-outcome="prevented"]`,
        'the last outcome',
      );
      expect(await row.getByTestId('last-ttd').innerText()).toMatch(/^\d[\d,]* ms$/);
      const cells = row.getByTestId('history-run');
      expect(await cells.count()).toBe(1);
      expect(await cells.first().getAttribute('href')).toBe(`/runs/${runId}`);
      expect(await cells.first().getAttribute('aria-label')).toContain('prevented');
      // Every outcome is in the legend, in words.
      const legend = await page.getByTestId('outcome-legend').innerText();
      for (const word of ['prevented', 'detected', 'detected late', 'missed', 'not run', 'aborted', 'errored', 'rollback failed']) {
        expect(legend).toContain(word);
      }
      await page.screenshot({ path: '/tmp/experiments-page.png', fullPage: true });

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
      await shows('[data-testid="experiment-outcome-counts"] [data-outcome="prevented"]', 'the overview count');
      expect(await page.getByTestId('experiments-count').innerText()).toBe('1');
    },
    TEST_TIMEOUT,
  );

  it(
    'stops a running experiment from its Run page; its rollbacks run and it ends aborted',
    async () => {
      const slowName = await apply(slowExperiment(target!.url), 'E2E slow experiment to stop');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Experiments' }).click();
      const row = page.locator(`[data-testid="experiment-row"][data-name="${slowName}"]`);
      await shows(`[data-testid="experiment-row"][data-name="${slowName}"]`, 'the slow experiment');
      await row.getByTestId('run-now').click();
      await shows('[data-testid="run-started"]', 'the started-run notice');
      await page.getByTestId('open-started-run').click();
      await page.waitForURL(/\/runs\/[^/]+$/);
      await shows('[data-testid="stop-run"]', 'the Stop button');
      await shows('[data-testid="auto-refresh"]', 'the auto-refresh note');
      await page.getByTestId('stop-run').click();
      await shows('[data-testid="run-header"] [data-testid="outcome-badge"][data-outcome="aborted"]', 'the aborted outcome', 30_000);
      const kinds = await page.getByTestId('timeline-event').evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
      expect(kinds).toContain('rollback');
      expect(await page.getByTestId('stop-run').count()).toBe(0);
      expect(await page.getByTestId('auto-refresh').count()).toBe(0);
      await page.screenshot({ path: '/tmp/run-aborted.png', fullPage: true });
    },
    TEST_TIMEOUT,
  );

  it(
    'asks before stopping all experiments, then says how many it stopped',
    async () => {
      await page.getByRole('link', { name: 'Experiments' }).first().click();
      await page.waitForURL((url) => url.pathname === '/experiments');
      await page.getByTestId('stop-all').click();
      const dialog = page.getByTestId('stop-all-dialog');
      await dialog.waitFor({ state: 'visible' });
      // Cancel has the focus: Enter on a destructive dialog must not stop anything.
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });

      await page.getByTestId('stop-all').click();
      await page.getByTestId('stop-all-dialog-confirm').click();
      await shows('[data-testid="stopped-all"]', 'the stop-all result');
      expect(await page.getByTestId('stopped-all').innerText()).toContain('No experiment was running');
    },
    TEST_TIMEOUT,
  );

  it(
    'asks before deleting an experiment, then no longer lists it; its run still opens',
    async () => {
      const row = page.locator(`[data-testid="experiment-row"][data-name="${sqliName}"]`);
      await shows(`[data-testid="experiment-row"][data-name="${sqliName}"]`, 'the experiment to delete');
      await row.getByTestId('delete-experiment').click();
      const dialog = page.getByTestId('delete-dialog');
      await dialog.waitFor({ state: 'visible' });
      expect(await dialog.innerText()).toContain('E2E SQL injection is blocked and reported');
      // Cancel has the focus, and cancelling deletes nothing.
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      expect((await api('GET', `/v1/experiments/${sqliName}`)).status).toBe(200);

      await row.getByTestId('delete-experiment').click();
      await page.getByTestId('delete-dialog-confirm').click();
      await shows('[data-testid="experiment-deleted"]', 'the deletion notice');
      expect(await page.getByTestId('experiment-deleted').innerText()).toContain('Its runs stay readable');
      await row.waitFor({ state: 'detached' });
      await page.screenshot({ path: '/tmp/experiment-deleted.png', fullPage: true });
      expect((await api('GET', `/v1/experiments/${sqliName}`)).status).toBe(404);
      const deleted = await api<{ entries: { data: { name?: string } }[] }>('GET', '/v1/ledger/entries?kind=experiment.deleted&order=desc');
      expect(deleted.body.entries.map((e) => e.data.name)).toContain(sqliName);

      // The run of the deleted experiment is evidence: its page still shows it.
      await page.getByTestId('deleted-last-run').click();
      await page.waitForURL((url) => url.pathname === `/runs/${runId}`);
      await shows('[data-testid="run-header"] [data-testid="outcome-badge"][data-outcome="prevented"]', 'the run of a deleted experiment');
      expect(await page.getByTestId('timeline-event').count()).toBeGreaterThan(0);
    },
    TEST_TIMEOUT,
  );
});
