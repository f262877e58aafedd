/**
 * Access in Chromium, against an in-process server on loopback serving the built dashboard: a
 * person with a TOTP second factor signs in (the token, then the code the prompt asks for),
 * opens the Access page, disables a principal with a code that steps the session up, and
 * approves another person's request from the page with a reason and a code; sees a custom role
 * listed with its condition; then, on the sealed
 * secrets page, sets a secret that is sealed (the runner's resolver opens it) and never shown back
 * (not in the page, not in the form once sent) and deletes one, and on the approval rules page
 * configures a rule (two rules, AND) that then holds the next delete of a secret; each change
 * with a fresh code. No page reports a Content-Security-Policy violation.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSync } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../../test/support/app.ts';
import { ensureWebBuilt, launchChromium, skipBrowserTests } from '../../../../test/support/browser.ts';
import { ManualClock } from '../../../../test/support/clock.ts';
import { getApprovalRules } from '../../../../src/app/access/approval-rules.ts';
import { resolveSecret } from '../../../../src/app/access/secrets.ts';

const webDir = path.join(fileURLToPath(new URL('../../../', import.meta.url)), 'dist');
const MARKER = 'MARKER-page-5b1e-never-shown';

describe.skipIf(skipBrowserTests())('access in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let base = '';
  let token = '';
  let secret = '';
  const violations: string[] = [];
  // The server's clock moves a step before each code: each time step is accepted once.
  const clock = new ManualClock(Date.now());
  const nextCode = () => {
    clock.advance(30_000);
    return generateSync({ secret, epoch: Math.floor(clock.now().getTime() / 1000) });
  };

  beforeAll(async () => {
    browser = await launchChromium();
    ensureWebBuilt();
    t = await makeTestApp({ webDir, clock });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const admin = bearer(t.adminToken);
    for (const [kind, name, roles] of [
      ['person', 'alice', ['admin']],
      ['service', 'old-ci', ['viewer']],
    ] as const)
      await t.app.inject({ method: 'POST', url: '/v1/principals', headers: admin, payload: { kind, name, roles } });
    token = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: admin,
        payload: { name: 'alice', principal: 'person:alice', admin: true },
      })
    ).json<{ token: string }>().token;
    secret = (await t.app.inject({ method: 'POST', url: '/v1/second-factor/enroll', headers: bearer(token) })).json<{ secret: string }>()
      .secret;
    const confirmed = await t.app.inject({
      method: 'POST',
      url: '/v1/second-factor/confirm',
      headers: bearer(token),
      payload: { code: nextCode() },
    });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
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

  it('asks for the code after the token, then disables a principal and approves a request with fresh codes', async () => {
    await page.goto(`${base}/access`);
    await page.getByTestId('signin-token').fill(token);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('second-factor-code').fill(nextCode());
    await page.getByTestId('second-factor-submit').click();
    await page.getByTestId('principals').waitFor();
    expect(await page.getByTestId('principal-person:alice').innerText()).toContain('admin');

    await page.getByTestId('disable-service:old-ci').click();
    await page.getByTestId('disable-code').fill(nextCode());
    await page.getByTestId('disable-dialog').getByRole('button', { name: 'Disable' }).click();
    await expect.poll(async () => page.getByTestId('principal-service:old-ci').innerText()).toContain('disabled');
    const disabled = await t.deps.store.principals.get('service:old-ci');
    expect(disabled?.disabledAt).not.toBeNull();

    // A request of someone else waits on the page; alice approves it with her reason and a code.
    const request = await t.approvals.request(
      { id: 'person:bob' },
      { id: 'person:bob', kind: 'person', how: 'api' },
      {
        kind: 'experiment.delete',
        resource: 'experiment:old',
        payload: { name: 'old' },
        summary: 'delete old',
        reason: 'replaced',
        policy: { rules: [{ count: 1, roles: ['admin'] }] },
      },
    );
    await page.reload();
    await page.getByTestId(`approve-${request.id}`).click();
    await page.getByTestId('decide-reason').fill('checked: nothing runs it');
    await page.getByTestId('decide-code').fill(nextCode());
    await page.getByTestId('decide-dialog').getByRole('button', { name: 'Approve' }).click();
    await expect.poll(async () => (await t.approvals.status(request.id)).state).toBe('approved');
    await expect.poll(async () => page.getByTestId(`approval-${request.id}`).count()).toBe(0);
    expect(violations).toEqual([]);
  }, 60_000);

  async function setSecret(name: string, value: string): Promise<void> {
    await page.getByTestId('secret-name').fill(name);
    await page.getByTestId('secret-value').fill(value);
    await page.getByTestId('secret-code').fill(nextCode());
    await page.getByTestId('secret-submit').click();
    await expect.poll(async () => page.getByTestId('secrets-notice').innerText()).toContain(`Set ${name}: version`);
  }

  async function deleteSecret(name: string): Promise<void> {
    await page.getByTestId(`delete-secret-${name}`).click();
    await page.getByTestId('delete-secret-code').fill(nextCode());
    await page.getByTestId('delete-secret-dialog').getByRole('button', { name: 'Delete' }).click();
  }

  it('sets a secret without showing it back, deletes one, and configures an approval rule that then holds a delete', async () => {
    const applied = await t.app.inject({
      method: 'POST',
      url: '/v1/roles',
      headers: bearer(t.adminToken),
      payload: {
        file: 'roles:\n  - name: team-runner\n    grants: [experiments:run]\n    condition: resource.labels.team in principal.groups\n',
      },
    });
    expect(applied.statusCode, applied.body).toBe(200);
    await page.goto(`${base}/access`);
    expect(await page.getByTestId('role-team-runner').innerText()).toContain('resource.labels.team in principal.groups');
    await page.getByTestId('link-secrets').click();
    await page.getByTestId('secrets-empty').waitFor();
    await setSecret('shop.token', MARKER);
    expect(await page.getByTestId('secret-shop.token').innerText()).toContain('v1');
    expect(await page.getByTestId('secret-value').inputValue()).toBe('');
    expect(await page.content()).not.toContain(MARKER);
    expect(await resolveSecret(t.deps, 'shop.token')).toBe(MARKER);

    await setSecret('old.password', `${MARKER}-2`);
    await deleteSecret('old.password');
    await expect.poll(async () => page.getByTestId('secret-old.password').count()).toBe(0);
    expect(await page.getByTestId('secrets-notice').innerText()).toBe('Deleted old.password.');

    // Deleting a secret needs two approvals from security AND one from an admin.
    await page.goto(`${base}/access/approval-rules`);
    expect(await page.getByTestId('rule-secret.delete-policy').innerText()).toContain('off: runs as asked');
    await page.getByTestId('rule-secret.delete-edit').click();
    await page.getByTestId('rule-secret.delete-0-count').fill('2');
    await page.getByTestId('rule-secret.delete-0-groups').fill('security');
    await page.getByTestId('rule-secret.delete-add').click();
    await page.getByTestId('rule-secret.delete-1-roles').fill('admin');
    await page.getByTestId('rule-secret.delete-code').fill(nextCode());
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
    await deleteSecret('shop.token');
    await expect.poll(async () => page.getByTestId('secrets-notice').innerText()).toContain('Deleting shop.token needs approval');
    expect(await page.getByTestId('secret-shop.token').count()).toBe(1);
    expect(await resolveSecret(t.deps, 'shop.token')).toBe(MARKER);
    expect(violations).toEqual([]);
  }, 60_000);
});
