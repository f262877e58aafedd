import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt, launchChromium, skipBrowserTests } from '../support/browser.ts';
import { freePort, tmpDir, type TmpDir } from '../support/tmp.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const TEST_TIMEOUT = 60_000;
// More than one dashboard page (20 entries) so paging is exercised.
const NOTES = 22;

const skip = skipBrowserTests();

function mintToken(dbUrl: string, dataDir: string): string {
  const r = spawnSync(
    process.execPath,
    [...CLI, 'tokens', 'create', '--admin', '--name', 'e2e', '--db', dbUrl, '--data-dir', dataDir, '--json'],
    { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } },
  );
  if (r.status !== 0) {
    throw new Error(`tokens create failed (exit ${r.status}, ${r.error ?? 'no spawn error'}):\n${r.stdout}\n${r.stderr}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout.trim());
  } catch {
    throw new Error(`tokens create --json did not print one JSON object on stdout:\n${r.stdout}`);
  }
  const token = (parsed as { token?: unknown }).token;
  if (typeof token !== 'string' || !token.startsWith('bwk_')) {
    throw new Error(`tokens create --json printed no bwk_ token: ${r.stdout}`);
  }
  return token;
}

async function waitHealthy(baseUrl: string, server: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`bulwark serve exited (${server.exitCode ?? server.signalCode}) before it was healthy:\n${log()}`);
    }
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`bulwark serve was not healthy after ${timeoutMs} ms (last: ${last}):\n${log()}`);
}

function stopServer(server: ChildProcess | undefined): Promise<void> {
  if (!server || server.pid === undefined || server.exitCode !== null || server.signalCode !== null) {
    return Promise.resolve();
  }
  const pid = server.pid;
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 10_000);
    server.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      clearTimeout(force);
      resolve();
    }
  });
}

describe.skipIf(skip)('dashboard in Chromium', () => {
  let dir: TmpDir | undefined;
  let server: ChildProcess | undefined;
  let serverLog = '';
  let browser: Browser | undefined;
  let page: Page;
  let baseUrl = '';
  let token = '';
  let dbFile = '';

  const log = (): string => serverLog.slice(-8_000) || '(no server output)';

  beforeAll(async () => {
    // The browser first: a missing Chromium under CI fails at once, before any server starts.
    browser = await launchChromium();
    ensureWebBuilt();
    dir = await tmpDir('bulwark-e2e-');
    dbFile = join(dir.path, 'bulwark.db');
    const dbUrl = `sqlite:${dbFile}`;
    token = mintToken(dbUrl, dir.path);

    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    server = spawn(
      process.execPath,
      [...CLI, 'serve', '--db', dbUrl, '--data-dir', dir.path, '--host', '127.0.0.1', '--port', String(port)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    const keep = (chunk: Buffer): void => {
      serverLog = (serverLog + chunk.toString('utf8')).slice(-64_000);
    };
    server.stdout?.on('data', keep);
    server.stderr?.on('data', keep);
    await waitHealthy(baseUrl, server, log, 20_000);

    for (let i = 0; i < NOTES; i++) {
      const res = await fetch(`${baseUrl}/v1/ledger/notes`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: 'observation', subject: 'e2e', text: i === 0 ? 'hello' : `hello ${i}` }),
      });
      if (res.status !== 201) throw new Error(`POST /v1/ledger/notes: HTTP ${res.status} ${await res.text()}`);
    }

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await stopServer(server);
    await dir?.cleanup();
  }, TEST_TIMEOUT);

  async function verifyStatus(expected: 'ok' | 'failed'): Promise<string> {
    const result = page.locator(`[data-testid="verify-result"][data-status="${expected}"]`);
    try {
      await result.waitFor({ state: 'visible' });
    } catch {
      const shown = await page.locator('[data-testid="verify-result"], [data-testid="error-banner"]').allInnerTexts();
      throw new Error(`verify result "${expected}" not shown; the page shows: ${JSON.stringify(shown)}\n${log()}`);
    }
    return result.innerText();
  }

  it(
    'serves the sign-in screen on a deep link and shows the API error for a bad token',
    async () => {
      const res = await page.goto(`${baseUrl}/ledger`);
      expect(res?.status()).toBe(200);
      await page.getByTestId('signin-token').fill('bwk_this_token_does_not_exist');
      await page.getByTestId('signin-submit').click();

      const banner = page.getByTestId('error-banner');
      await banner.waitFor();
      const api = await fetch(`${baseUrl}/v1/session`, { headers: { Authorization: 'Bearer bwk_this_token_does_not_exist' } });
      expect(api.status).toBe(401);
      const body = (await api.json()) as { message?: string };
      expect(typeof body.message).toBe('string');
      expect(await banner.innerText()).toContain(body.message);
    },
    TEST_TIMEOUT,
  );

  it(
    'signs in and lists the entries newest first with the checkpoint',
    async () => {
      await page.getByTestId('signin-token').fill(token);
      await page.getByTestId('signin-submit').click();

      await page.getByTestId('entry-row').first().waitFor();
      expect(new URL(page.url()).pathname).toBe('/ledger');
      expect((await page.getByTestId('principal').innerText()).trim()).not.toBe('');
      expect(await page.evaluate(() => sessionStorage.getItem('bulwark.token'))).toBe(token);

      const seqs = await page.getByTestId('entry-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))));
      expect(seqs.length).toBe(20);
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
      expect(await page.getByTestId('ledger-entries').innerText()).toContain('e2e');
      await page.getByTestId('checkpoint').waitFor();
    },
    TEST_TIMEOUT,
  );

  it(
    'pages to older entries and back',
    async () => {
      const firstSeq = Number(await page.getByTestId('entry-row').first().getAttribute('data-seq'));
      await page.getByTestId('page-older').click();
      await page.waitForURL(/\/ledger\?from=\d+$/);
      await page.locator(`[data-testid="entry-row"][data-seq="${firstSeq - 20}"]`).waitFor();
      expect(await page.getByTestId('page-older').isDisabled()).toBe(firstSeq - 20 < 20);

      await page.getByTestId('page-newer').click();
      await page.waitForURL((url) => url.pathname === '/ledger' && url.search === '');
      await page.locator(`[data-testid="entry-row"][data-seq="${firstSeq}"]`).waitFor();
    },
    TEST_TIMEOUT,
  );

  it(
    'shows the parts that are not built yet',
    async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /^SLOs/ }).click();
      expect(await page.getByTestId('not-built').innerText()).toContain('Not built yet');
      expect(new URL(page.url()).pathname).toBe('/slos');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Ledger' }).click();
      await page.getByTestId('entry-row').first().waitFor();
    },
    TEST_TIMEOUT,
  );

  it(
    'verifies an intact ledger',
    async () => {
      await page.getByTestId('verify-button').click();
      const text = await verifyStatus('ok');
      expect(text).toContain('Intact');
      await page.screenshot({ path: '/tmp/ledger-ok.png', fullPage: true });
    },
    TEST_TIMEOUT,
  );

  it(
    'names the first tampered entry',
    async () => {
      const db = new Database(dbFile);
      try {
        db.pragma('busy_timeout = 5000');
        const changed = db.prepare(`UPDATE ledger_entries SET data = '{"tampered":true}' WHERE seq = 1`).run().changes;
        expect(changed).toBe(1);
      } finally {
        db.close();
      }

      await page.getByTestId('verify-button').click();
      const text = await verifyStatus('failed');
      expect(text).toMatch(/Entry 1\b/);
      await page.screenshot({ path: '/tmp/ledger-failed.png', fullPage: true });
    },
    TEST_TIMEOUT,
  );

  it(
    'signs out',
    async () => {
      await page.getByTestId('signout').click();
      await page.getByTestId('signin-token').waitFor();
      expect(await page.evaluate(() => sessionStorage.getItem('bulwark.token'))).toBeNull();
    },
    TEST_TIMEOUT,
  );
});
