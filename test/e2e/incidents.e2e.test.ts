/**
 * The incident page in real Chromium: an incident declared over the API, a commander assigned, a
 * note added, a signal pinned, evidence attached and a technique linked (with an experiment that
 * exercises it); one page load shows the roles, the coverage and the timeline, and the postmortem
 * is generated from the page and shown as version 1; the list page shows the webhook outbox.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitSignals, evidenceOf } from '../../src/app/signals/ingest.ts';
import { systemActor } from '../../src/core/ledger/actor.ts';
import { makeSignal } from '../../src/core/signals/signal.ts';
import { bearer, makeTestApp, type TestApp } from '../support/app.ts';
import { ensureWebBuilt, launchChromium, skipBrowserTests } from '../support/browser.ts';

const TEST_TIMEOUT = 90_000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = skipBrowserTests();

describe.skipIf(skip)('the incident page in Chromium', () => {
  let browser: Browser | undefined;
  let t: TestApp | undefined;
  let baseUrl = '';
  let id = 0;

  beforeAll(async () => {
    browser = await launchChromium();
    ensureWebBuilt();
    t = await makeTestApp({ webDir: join(ROOT, 'web/dist') });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
    const api = async (method: 'POST', url: string, payload: object, status: number) => {
      const r = await t!.app.inject({ method, url, headers: bearer(t!.adminToken), payload });
      expect(r.statusCode, r.body).toBe(status);
      return r.json<Record<string, unknown>>();
    };
    const now = new Date().toISOString();
    const signal = makeSignal({
      source: 'alertmanager',
      time: now,
      receivedAt: now,
      severity: 'critical',
      labels: { alertname: 'TokenReplay', service: 'api' },
      body: { status: 'firing' },
      dedup: { kind: 'webhook-id', id: 'e2e-replay-1' },
    });
    await commitSignals(t.deps, [
      { actor: systemActor('test'), items: [{ signal, raw: evidenceOf(Buffer.from('{"status":"firing"}'), 'application/json') }] },
    ]);
    await t.deps.store.experiments.put(
      {
        name: 'token-replay',
        title: 'Token replay drill',
        description: '',
        techniques: ['T1550.001'],
        file: 'x',
        fileSha256: '0'.repeat(64),
        schedule: null,
        privileged: false,
        appliedBy: 'e2e',
      },
      now,
    );
    id = (await api('POST', '/v1/incidents', { title: 'Replayed session tokens', severity: 'SEV2', priority: 'P1' }, 201)).id as number;
    await api('POST', `/v1/incidents/${id}/roles`, { role: 'commander', holder: 'person:olga' }, 200);
    await api('POST', `/v1/incidents/${id}/notes`, { text: 'Sessions revoked for the affected accounts' }, 201);
    await api('POST', `/v1/incidents/${id}/pins`, { signal: signal.id }, 201);
    await api('POST', `/v1/incidents/${id}/evidence`, { name: 'api-excerpt.log', origin: 'api-1', text: 'GET /me 200 x 400\n' }, 201);
    await api('POST', `/v1/incidents/${id}/links`, { techniques: ['T1550'] }, 200);
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await t?.close();
  }, TEST_TIMEOUT);

  it(
    'shows roles, coverage, evidence and the timeline, and generates the postmortem from the page',
    async () => {
      const page = await browser!.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(`${baseUrl}/incidents/${id}`);
      await page.getByTestId('signin-token').fill(t!.adminToken);
      await page.getByTestId('signin-submit').click();
      await page.getByTestId('incident-title').waitFor({ state: 'visible' });
      expect(await page.getByTestId('incident-title').innerText()).toBe(`INC-${id} Replayed session tokens`);
      expect(await page.getByTestId('role').first().innerText()).toContain('Incident commander: person:olga');
      expect(await page.getByTestId('link-experiment').first().innerText()).toContain('token-replay (T1550)');
      expect(await page.getByTestId('evidence').count()).toBe(2); // the pinned signal's payload and the upload
      const kinds = await page.getByTestId('timeline-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')));
      expect(kinds).toEqual(
        expect.arrayContaining(['incident.note', 'incident.signal.pinned', 'incident.evidence.added', 'incident.linked']),
      );
      await page.getByTestId('postmortem-generate').click();
      await page.getByTestId('postmortem-text').waitFor({ state: 'visible' });
      const text = await page.getByTestId('postmortem-text').inputValue();
      expect(text).toContain(`# Postmortem: INC-${id} Replayed session tokens`);
      expect(text).toContain('## Coverage by experiments');
      expect(await page.getByTestId('incident-postmortem').getByRole('heading').innerText()).toBe('Postmortem (version 1)');
      // Back to the list (in the page, no new load): the incident, and the webhook outbox (empty: no webhooks are set).
      await page.getByRole('link', { name: '← Incidents' }).click();
      await page.getByTestId('incident-outbox').waitFor({ state: 'visible' });
      expect(await page.getByTestId('incident-outbox').innerText()).toContain('No notifications sent or waiting');
    },
    TEST_TIMEOUT,
  );
});
