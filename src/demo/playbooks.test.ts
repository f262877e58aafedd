/**
 * The demo's playbook in process: the shop's report arrives through the CloudEvents route, the
 * playbooks job sees it on the signal bus and starts a run, the automatic step calls the (stand-in)
 * shop, and the manual checklist waits for a person. The report resent starts nothing more.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../test/support/app.ts';
import type { JobContext } from '../cli/jobs-part.ts';
import { playbookJobs } from '../cli/jobs/playbooks.ts';
import type { DemoEvent } from './audit.ts';
import { DEMO_PLAYBOOK, startDemoPlaybook } from './playbooks.ts';

let t: TestApp;
let shop: Server;
let shopUrl: string;
let calls = 0;

beforeAll(async () => {
  shop = createServer((_req, res) => {
    calls++;
    res.end('shop');
  });
  await new Promise<void>((r) => shop.listen(0, '127.0.0.1', r));
  shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  t = await makeTestApp();
});
afterAll(async () => {
  await t?.close();
  await new Promise((r) => shop.close(r));
});

const until = async (ok: () => Promise<boolean>) => {
  for (let i = 0; i < 200; i++) {
    if (await ok()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('condition not reached');
};

describe('the demo playbook', () => {
  it('starts from the shop report, does the automatic step, and waits at the manual checklist', async () => {
    const job = await playbookJobs({ deps: t.deps, server: t, logger: pino({ level: 'silent' }) } as unknown as JobContext);
    try {
      const sink = async (e: DemoEvent) => {
        const r = await t.app.inject({
          method: 'POST',
          url: '/v1/signals/cloudevents',
          headers: { ...bearer(t.adminToken), 'content-type': 'application/cloudevents+json' },
          payload: JSON.stringify(e),
        });
        expect(r.statusCode, r.body).toBeLessThan(300);
      };
      await startDemoPlaybook(t.deps, shopUrl, sink, new Date());
      await until(
        async () => (await t.deps.store.playbooks.listRuns({ playbook: DEMO_PLAYBOOK, state: 'waiting', limit: 5 })).length === 1,
      );
      const [run] = await t.deps.store.playbooks.listRuns({ playbook: DEMO_PLAYBOOK, limit: 5 });
      expect(run!.inputs).toEqual({ client: '203.0.113.7' });
      expect((await t.deps.store.playbooks.steps(run!.id)).map((s) => [s.stepId, s.state])).toEqual([
        ['shop_answers', 'done'],
        ['note', 'done'],
        ['review', 'waiting'],
      ]);
      expect(calls).toBe(1);
      // A restart of the demo resends the same report: no second run.
      await startDemoPlaybook(t.deps, shopUrl, sink, new Date());
      expect(await t.deps.store.playbooks.listRuns({ playbook: DEMO_PLAYBOOK, limit: 5 })).toHaveLength(1);
    } finally {
      await job.stop();
    }
  });
});
