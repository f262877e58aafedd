/**
 * The playbook pages in real Chromium: a run started over the API waits at a manual step; the
 * person completes it from "My checklist"; the run then waits for an approval, which a second
 * person approves from the Access page; the run's page shows it succeeded. The engine is driven
 * as `bulwark serve` drives it (ticks), with the clock moved past the approval's poll.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../support/app.ts';
import { ensureWebBuilt, launchChromium, skipBrowserTests } from '../support/browser.ts';
import { ManualClock } from '../support/clock.ts';

const TEST_TIMEOUT = 120_000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = skipBrowserTests();

const FILE = `apiVersion: bulwark/v1
kind: Playbook
name: rotate-keys
steps:
  - id: check
    title: Check the key is no longer used
    checklist: [no requests signed with the old key in the last hour]
  - id: gate
    approval: { rules: [{ count: 1, groups: [sre] }], summary: "Rotate the signing key" }
  - id: rotated
    set: { ok: "true" }
`;

describe.skipIf(skip)('the playbook pages in Chromium', () => {
  let browser: Browser | undefined;
  let t: TestApp | undefined;
  let baseUrl = '';
  let bobToken = '';
  let runId = '';
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    browser = await launchChromium();
    ensureWebBuilt();
    t = await makeTestApp({ webDir: join(ROOT, 'web/dist'), clock });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
    const api = async (url: string, payload: object, status: number, token = t!.adminToken) => {
      const r = await t!.app.inject({ method: 'POST', url, headers: bearer(token), payload });
      expect(r.statusCode, r.body).toBe(status);
      return r.json<Record<string, unknown>>();
    };
    await api('/v1/principals', { kind: 'person', name: 'bob', roles: ['approver', 'viewer'], groups: ['sre'] }, 201);
    bobToken = (await api('/v1/tokens', { name: 'bob', principal: 'person:bob', scopes: ['*'] }, 201)).token as string;
    await api('/v1/playbooks', { file: FILE }, 201);
    runId = (await api('/v1/playbooks/rotate-keys/runs', {}, 201)).id as string;
    await t.playbooks.engine.tick();
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await t?.close();
  }, TEST_TIMEOUT);

  const signIn = async (page: Page, path: string, token: string) => {
    await page.goto(`${baseUrl}${path}`);
    await page.getByTestId('signin-token').fill(token);
    await page.getByTestId('signin-submit').click();
  };

  it(
    'completes a manual step from the checklist, approves the waiting step, and shows the run finished',
    async () => {
      const page = await browser!.newPage();
      page.setDefaultTimeout(20_000);
      await signIn(page, '/playbooks/checklist', t!.adminToken);
      const item = page.locator('[data-testid="checklist-item"][data-step="check"]');
      await item.waitFor({ state: 'visible' });
      await item.getByTestId('step-notes').fill('checked the signing logs');
      await item.getByTestId('step-minutes').fill('5');
      await item.getByTestId('step-yes').click();
      await item.waitFor({ state: 'detached' });

      // The engine asks for the approval; a second person approves it from the Access page.
      await t!.playbooks.engine.tick();
      const step = (await t!.deps.store.playbooks.steps(runId))[1]!;
      const approval = (step.outputs as { approval: string }).approval;
      expect(approval).toMatch(/./);
      const bobs = await browser!.newPage();
      bobs.setDefaultTimeout(20_000);
      await signIn(bobs, '/access', bobToken);
      await bobs.getByTestId(`approve-${approval}`).click();
      await bobs.getByTestId('decide-reason').fill('the old key is unused');
      await bobs.getByTestId('decide-dialog-confirm').click();
      await bobs.getByTestId(`approval-${approval}`).waitFor({ state: 'detached' });

      // The run looks at the approval at its next poll, consumes it and finishes.
      clock.advance(11_000);
      await t!.playbooks.engine.tick();
      await page.goto(`${baseUrl}/playbooks/runs/${runId}`);
      await expect.poll(() => page.getByTestId('playbook-run-state').innerText(), { timeout: 20_000 }).toContain('succeeded');
      const states = await page.getByTestId('playbook-step').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
      expect(states).toEqual(['done', 'done', 'done']);
      expect(await page.locator('[data-testid="playbook-step"][data-step="check"]').innerText()).toContain('5 min');
    },
    TEST_TIMEOUT,
  );
});
