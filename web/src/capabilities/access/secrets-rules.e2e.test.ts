/**
 * The sealed-secrets and approval-rules pages in Chromium, against an in-process server on
 * loopback serving the built dashboard: a secret set through the form is sealed (the runner's
 * resolver opens it) and never shown back (not in the page, not in the form once sent); a delete
 * goes through; an approval rule configured on the page (two rules, AND) is stored, and the next
 * delete of a secret answers that it needs approval and deletes nothing; no page reports a
 * Content-Security-Policy violation.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../../../../test/support/app.ts';
import { ensureWebBuilt, launchChromium, skipBrowserTests } from '../../../../test/support/browser.ts';
import { resolveSecret } from '../../../../src/app/access/secrets.ts';
import { getApprovalRules } from '../../../../src/app/access/approval-rules.ts';

const webDir = path.join(fileURLToPath(new URL('../../../', import.meta.url)), 'dist');
const MARKER = 'MARKER-page-5b1e-never-shown';

describe.skipIf(skipBrowserTests())('sealed secrets and approval rules in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let base = '';
  const violations: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    ensureWebBuilt();
    t = await makeTestApp({ webDir });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(15_000);
    await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as unknown as { reportViolation: (v: string) => void }).reportViolation(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await t?.close();
  });

  async function setSecret(name: string, value: string): Promise<void> {
    await page.getByTestId('secret-name').fill(name);
    await page.getByTestId('secret-value').fill(value);
    await page.getByTestId('secret-submit').click();
    await expect.poll(async () => page.getByTestId('secrets-notice').innerText()).toContain(`Set ${name}: version`);
  }

  it('sets a secret without showing it back, deletes one, and configures an approval rule that then holds a delete', async () => {
    await page.goto(`${base}/access/secrets`);
    await page.getByTestId('signin-token').fill(t.adminToken);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('secrets-empty').waitFor();

    await setSecret('shop.token', MARKER);
    expect(await page.getByTestId('secret-shop.token').innerText()).toContain('v1');
    expect(await page.getByTestId('secret-value').inputValue()).toBe('');
    expect(await page.content()).not.toContain(MARKER);
    expect(await resolveSecret(t.deps, 'shop.token')).toBe(MARKER);

    await setSecret('old.password', `${MARKER}-2`);
    await page.getByTestId('delete-secret-old.password').click();
    await page.getByTestId('delete-secret-dialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(async () => page.getByTestId('secret-old.password').count()).toBe(0);
    expect(await page.getByTestId('secrets-notice').innerText()).toBe('Deleted old.password.');

    // Approval rules: deleting a secret needs two from security AND one admin.
    await page.goto(`${base}/access/approval-rules`);
    expect(await page.getByTestId('rule-secret.delete-policy').innerText()).toContain('off: runs as asked');
    await page.getByTestId('rule-secret.delete-edit').click();
    await page.getByTestId('rule-secret.delete-0-count').fill('2');
    await page.getByTestId('rule-secret.delete-0-groups').fill('security');
    await page.getByTestId('rule-secret.delete-add').click();
    await page.getByTestId('rule-secret.delete-1-roles').fill('admin');
    await page.getByTestId('rule-secret.delete-save').click();
    await expect
      .poll(async () => page.getByTestId('rule-secret.delete-policy').innerText())
      .toContain('needs 2 approvals from group security AND 1 approval from role admin');
    expect((await getApprovalRules(t.deps)).actions['secret.delete']).toEqual({
      rules: [
        { count: 2, groups: ['security'] },
        { count: 1, roles: ['admin'] },
      ],
    });

    await page.goto(`${base}/access/secrets`);
    await page.getByTestId('delete-secret-shop.token').click();
    await page.getByTestId('delete-secret-dialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(async () => page.getByTestId('secrets-notice').innerText()).toContain('Deleting shop.token needs approval');
    expect(await page.getByTestId('secret-shop.token').count()).toBe(1);
    expect(await resolveSecret(t.deps, 'shop.token')).toBe(MARKER);
    expect(violations).toEqual([]);
  }, 60_000);
});
