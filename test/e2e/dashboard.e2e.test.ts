import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt, launchChromium, skipBrowserTests } from '../support/browser.ts';
import { mintToken } from '../support/cli.ts';
import { spawnBulwark, waitHealthy, type NodeChild } from '../support/processes.ts';
import { freePort, tmpDir, type TmpDir } from '../support/tmp.ts';

const TEST_TIMEOUT = 60_000;
// More than one dashboard page (20 entries) so paging is exercised.
const NOTES = 22;

const skip = skipBrowserTests();

describe.skipIf(skip)('dashboard in Chromium', () => {
  let dir: TmpDir | undefined;
  let server: NodeChild | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let baseUrl = '';
  let token = '';
  let dbFile = '';
  let sessionCookie = '';

  const log = (): string => server?.output().slice(-8_000) || '(no server output)';

  beforeAll(async () => {
    // The browser first: a missing Chromium under CI fails at once, before any server starts.
    browser = await launchChromium();
    ensureWebBuilt();
    dir = await tmpDir('bulwark-e2e-');
    dbFile = join(dir.path, 'bulwark.db');
    const dbUrl = `sqlite:${dbFile}`;
    token = await mintToken(dbUrl, dir.path, 'e2e', ['--admin']);

    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    server = spawnBulwark(['serve', '--db', dbUrl, '--data-dir', dir.path, '--host', '127.0.0.1', '--port', String(port)]);
    await waitHealthy(baseUrl, server, { timeoutMs: 20_000, describe: log });

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
    await server?.stop('SIGTERM', 10_000);
    await dir?.cleanup();
  }, TEST_TIMEOUT);

  /**
   * Wait until `locator` is visible; on timeout, fail with what the page shows instead (its URL,
   * an error banner, its text) and the server's output, not only "Timeout exceeded".
   */
  async function shown(locator: Locator, what: string): Promise<void> {
    try {
      await locator.waitFor({ state: 'visible' });
    } catch (e) {
      const banner = await page.getByTestId('error-banner').allInnerTexts();
      const text = (
        await page
          .locator('body')
          .innerText({ timeout: 2_000 })
          .catch(() => '(no body)')
      ).slice(0, 2_000);
      throw new Error(
        `${what} not shown at ${page.url()}: ${(e as Error).message.split('\n')[0]}\nerror banner: ${JSON.stringify(banner)}\npage text:\n${text}\n--- server ---\n${log()}`,
      );
    }
  }

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
      expect(res?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
      // The page runs (its script loaded): the sign-in form is there.
      await shown(page.getByTestId('signin-token'), 'the sign-in form');
      await page.getByTestId('signin-token').fill('bwk_this_token_does_not_exist');
      await page.getByTestId('signin-submit').click();

      const banner = page.getByTestId('error-banner');
      await banner.waitFor();
      const api = await fetch(`${baseUrl}/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: 'bwk_this_token_does_not_exist' }),
      });
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

      await shown(page.getByTestId('entry-row').first(), 'the ledger entries');
      expect(new URL(page.url()).pathname).toBe('/ledger');
      expect((await page.getByTestId('principal').innerText()).trim()).not.toBe('');
      // The token is not kept by the page: the session is an HttpOnly, SameSite=Strict cookie.
      expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }))).not.toContain(token);
      expect(await page.evaluate(() => document.cookie)).not.toContain('bulwark_session');
      const cookie = (await page.context().cookies()).find((c) => c.name === 'bulwark_session');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
      sessionCookie = `bulwark_session=${cookie!.value}`;
      expect((await fetch(`${baseUrl}/v1/session`, { headers: { cookie: sessionCookie } })).status).toBe(200);

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
      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: /^Deploys/ })
        .click();
      expect(await page.getByTestId('not-built').innerText()).toContain('Not built yet');
      expect(new URL(page.url()).pathname).toBe('/deploys');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Ledger' }).click();
      await shown(page.getByTestId('entry-row').first(), 'the ledger entries');
    },
    TEST_TIMEOUT,
  );

  it(
    'shows an SLO with the numbers the API gives',
    async () => {
      const file = [
        'apiVersion: bulwark/v1',
        'kind: SLO',
        'name: e2e-slo',
        'service: e2e',
        'objective: 99',
        'window: 7d',
        'sli:',
        '  experiments:',
        '    experiment: none-yet',
      ].join('\n');
      const applied = await fetch(`${baseUrl}/v1/slos`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ file }),
      });
      expect(applied.status, await applied.clone().text()).toBe(201);
      const api = (await (await fetch(`${baseUrl}/v1/slos`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        slos: { name: string; objective: number; status: { remaining: number } | null }[];
      };
      const slo = api.slos.find((s) => s.name === 'e2e-slo')!;
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'SLOs' }).click();
      const row = page.locator('[data-testid="slo-row"][data-slo="e2e-slo"]');
      await row.waitFor();
      expect(await row.locator('td').nth(1).innerText()).toBe(`${(slo.objective * 100).toFixed(2)}%`);
      expect(await row.getByTestId('slo-remaining').innerText()).toContain(`${(slo.status!.remaining * 100).toFixed(2)}%`);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Ledger' }).click();
      await shown(page.getByTestId('entry-row').first(), 'the ledger entries');
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
      await shown(page.getByTestId('signin-token'), 'the sign-in form');
      expect((await page.context().cookies()).find((c) => c.name === 'bulwark_session')).toBeUndefined();
      // The session ended on the server: its cookie, replayed, opens nothing.
      expect((await fetch(`${baseUrl}/v1/session`, { headers: { cookie: sessionCookie } })).status).toBe(401);
      await page.reload();
      await shown(page.getByTestId('signin-token'), 'the sign-in form');
    },
    TEST_TIMEOUT,
  );
});
