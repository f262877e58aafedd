/**
 * The Experiments page's layout in Chromium, with what `npm start` shows (the demo shop and its
 * three experiments, run once) plus an experiment with a long name, title and description: at
 * common window widths every row's Run now and Delete buttons lie inside the window, whole, and
 * nothing covers them (not the table's scrolling box, not another column), and the page itself
 * does not scroll sideways.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, withConfiguration, type Demo } from '../../src/cli/serve-demo.ts';
import { demoVars, loadDemoExperiments } from '../../src/demo/experiments.ts';
import { bearer, makeTestApp, type TestApp } from '../support/app.ts';
import { ensureWebBuilt, launchChromium, skipBrowserTests } from '../support/browser.ts';
import { until } from '../support/wait.ts';

const TEST_TIMEOUT = 90_000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** 64 characters, the longest name there is, with no space to break at. */
const LONG_NAME = 'sqli-products-copy-with-a-name-as-long-as-names-may-be-012345678';
const WIDTHS = [1400, 1024] as const;

const skip = skipBrowserTests();

interface ButtonView {
  testId: string;
  experiment: string;
  box: { left: number; top: number; right: number; bottom: number };
  viewport: { width: number; height: number };
  /** What is on top at the centre and near each corner: '' when it is the button itself. */
  coveredBy: string[];
}

/** Scroll the window (never the table) so that the button is in view vertically, then look at it. */
async function viewButton(page: Page, selector: string, index: number): Promise<ButtonView> {
  return page.evaluate(
    ([sel, i]) => {
      const button = document.querySelectorAll<HTMLElement>(sel)[i]!;
      const first = button.getBoundingClientRect();
      window.scrollBy(0, first.top - window.innerHeight / 2);
      const r = button.getBoundingClientRect();
      const inset = 2;
      const points: [number, number][] = [
        [(r.left + r.right) / 2, (r.top + r.bottom) / 2],
        [r.left + inset, r.top + inset],
        [r.right - inset, r.top + inset],
        [r.left + inset, r.bottom - inset],
        [r.right - inset, r.bottom - inset],
      ];
      const describe = (el: Element | null) =>
        el === null ? 'nothing (outside the window)' : `${el.tagName.toLowerCase()}.${String(el.className)}`;
      return {
        testId: button.dataset.testid ?? '',
        experiment: button.closest<HTMLElement>('[data-testid="experiment-row"]')?.dataset.name ?? '',
        box: { left: r.left, top: r.top, right: r.right, bottom: r.bottom },
        viewport: { width: window.innerWidth, height: window.innerHeight },
        coveredBy: points.map(([x, y]) => {
          const hit = document.elementFromPoint(x, y);
          return hit !== null && (hit === button || button.contains(hit)) ? '' : describe(hit);
        }),
      };
    },
    [selector, index] as const,
  );
}

describe.skipIf(skip)('Experiments page layout in Chromium', () => {
  let browser: Browser | undefined;
  let t: TestApp | undefined;
  let demo: Demo | undefined;
  let baseUrl = '';

  beforeAll(async () => {
    browser = await launchChromium();
    ensureWebBuilt();
    t = await makeTestApp({ webDir: join(ROOT, 'web/dist') });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as { port: number };
    baseUrl = `http://127.0.0.1:${port}`;
    // What `npm start` shows: the demo's experiments, each run once against the demo shop.
    demo = await startDemo({ deps: t.deps, runs: t.experiments, dataDir: t.dir, bulwarkUrl: baseUrl, log: t.app.log });

    const sqli = (await loadDemoExperiments()).find((f) => f.name === 'sqli-products')!;
    const doc = parseDocument(withConfiguration(sqli.text, demoVars(demo.url)));
    doc.set('title', 'A copy of the SQL injection experiment whose title goes on for much longer than a title should');
    doc.set('description', `${'A long description that wraps over several lines. '.repeat(6)}${'x'.repeat(120)}`);
    doc.set('techniques', ['T1190', 'T1110.001', 'T1078.004', 'T1552.001']);
    const applied = await t.app.inject({
      method: 'POST',
      url: '/v1/experiments',
      headers: bearer(t.adminToken),
      payload: { file: doc.toString({ lineWidth: 0 }), name: LONG_NAME },
    });
    expect(applied.statusCode, applied.body).toBe(201);
    const started = await t.app.inject({
      method: 'POST',
      url: `/v1/experiments/${LONG_NAME}/runs`,
      headers: bearer(t.adminToken),
      payload: {},
    });
    expect(started.statusCode, started.body).toBe(202);

    let last = '';
    // Every experiment has finished its run: the widest content (outcome, time, time to detect) is shown.
    await until(
      'the four experiments to finish a run',
      async () => {
        const res = await t!.app.inject({ url: '/v1/experiments', headers: bearer(t!.adminToken) });
        last = `${res.statusCode} ${res.body.slice(0, 2000)}`;
        if (res.statusCode !== 200) return undefined;
        const list = res.json().experiments as { lastRun: { state: string } | null }[];
        return list.length === 4 && list.every((e) => e.lastRun?.state === 'done') ? true : undefined;
      },
      60_000,
      () => `last answer: ${last}`,
    );
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await demo?.stop();
    await t?.close();
  }, TEST_TIMEOUT);

  for (const width of WIDTHS) {
    it(
      `shows every row's Run now and Delete buttons whole and uncovered in a ${width}-pixel window`,
      async () => {
        const context = await browser!.newContext({ viewport: { width, height: 900 } });
        try {
          const page = await context.newPage();
          page.setDefaultTimeout(15_000);
          await page.goto(`${baseUrl}/experiments`);
          await page.getByTestId('signin-token').fill(t!.adminToken);
          await page.getByTestId('signin-submit').click();
          await page.locator(`[data-testid="experiment-row"][data-name="${LONG_NAME}"]`).waitFor();
          expect(await page.getByTestId('experiment-row').count()).toBe(4);
          await page.screenshot({ path: join(t!.dir, `experiments-${width}.png`), fullPage: true });

          // The page does not scroll sideways; the table may, inside its own box, but is not scrolled.
          const scroll = await page.evaluate(() => ({
            page: document.documentElement.scrollWidth - window.innerWidth,
            table: document.querySelector('.table-wrap')!.scrollLeft,
          }));
          expect(scroll).toEqual({ page: 0, table: 0 });

          for (const testId of ['run-now', 'delete-experiment']) {
            const selector = `[data-testid="experiment-row"] [data-testid="${testId}"]`;
            const count = await page.locator(selector).count();
            expect(count).toBe(4);
            for (let i = 0; i < count; i++) {
              const v = await viewButton(page, selector, i);
              const where = `${v.testId} of ${v.experiment} at ${width} px: ${JSON.stringify(v)}`;
              expect(v.box.left, where).toBeGreaterThanOrEqual(0);
              expect(v.box.top, where).toBeGreaterThanOrEqual(0);
              expect(v.box.right, where).toBeLessThanOrEqual(v.viewport.width);
              expect(v.box.bottom, where).toBeLessThanOrEqual(v.viewport.height);
              expect(v.box.right - v.box.left, where).toBeGreaterThan(20);
              expect(v.coveredBy, where).toEqual(['', '', '', '', '']);
            }
          }
        } finally {
          await context.close();
        }
      },
      TEST_TIMEOUT,
    );
  }
});
