/**
 * A Chaos Toolkit experiment, written as Chaos Toolkit itself accepts it (JSON, `version`,
 * `{type: env}` configuration and secrets, a steady-state hypothesis with tolerances, an http
 * action with pauses, a `process` probe given a shell line, a rollback that is a `ref` to an
 * earlier activity), runs unchanged through `bulwark run FILE`: a child process over a real SQLite
 * state directory, against a loopback target this test starts. The target's request log shows what
 * was really sent, the rollback included; the journal in the database has Chaos Toolkit's fields.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite.ts';
import { describeRun, runCli } from '../support/cli.ts';
import { startTarget, type Target } from '../support/experiment-target.ts';
import { killAllChildren } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

const T = 60_000;
const TOKEN = 'ctk-admin-token-5f1e0c';

let dir: TmpDir;
let target: Target;
beforeEach(async () => {
  dir = await tmpDir('bulwark-ctk-');
  // The admin endpoints echo the request's headers back as JSON (to see what the journal keeps).
  target = await startTarget({ decide: (r) => ({ status: 200, echo: r.url.startsWith('/admin/') }) });
});
afterEach(async () => {
  await target?.close();
  await dir?.cleanup();
});
afterAll(async () => {
  await killAllChildren();
});

/** As Chaos Toolkit's own documentation writes one; nothing in it is Bulwark's. */
const CHAOS_TOOLKIT_EXPERIMENT = {
  version: '1.0.0',
  title: 'The shop stays up when its cache is flushed',
  description: 'Flush the cache and check that the shop still answers.',
  tags: ['shop', 'cache'],
  contributions: { availability: 'high', security: 'none' },
  configuration: {
    shop_url: { type: 'env', key: 'CTK_SHOP_URL' },
    cache_path: '/admin/cache',
  },
  secrets: {
    shop: {
      admin_token: { type: 'env', key: 'CTK_SHOP_ADMIN_TOKEN' },
    },
  },
  'steady-state-hypothesis': {
    title: 'The shop answers',
    probes: [
      {
        type: 'probe',
        name: 'home-page-is-up',
        tolerance: 200,
        provider: { type: 'http', url: '${shop_url}/health', timeout: 3 },
      },
      {
        type: 'probe',
        name: 'health-is-2xx',
        tolerance: { type: 'range', range: [200, 299], target: 'status' },
        provider: { type: 'http', url: '${shop_url}/health' },
      },
    ],
  },
  method: [
    {
      type: 'action',
      name: 'flush-cache',
      provider: {
        type: 'http',
        url: '${shop_url}${cache_path}',
        method: 'DELETE',
        headers: { Authorization: 'Bearer ${admin_token}' },
        secrets: ['shop'],
        timeout: 3,
      },
      pauses: { after: 0.3 },
    },
    {
      type: 'probe',
      name: 'runs-in-a-shell',
      tolerance: { type: 'regex', pattern: 'run=[a-z0-9]{16}', target: 'stdout' },
      provider: { type: 'process', path: 'sh', arguments: "-c 'echo run=$BULWARK_RUN'", timeout: 5 },
    },
    {
      type: 'action',
      name: 'warm-cache',
      provider: { type: 'http', url: '${shop_url}${cache_path}/warm', method: 'POST', timeout: 3 },
    },
  ],
  rollbacks: [{ ref: 'warm-cache' }],
};

describe('a Chaos Toolkit experiment through bulwark run', () => {
  it(
    'runs unchanged: hypothesis, method with pauses, process probe, the ref rollback, and a Chaos Toolkit journal',
    { timeout: T },
    async () => {
      const file = path.join(dir.path, 'experiment.json');
      writeFileSync(file, JSON.stringify(CHAOS_TOOLKIT_EXPERIMENT, null, 2));

      const valid = await runCli(['experiments', 'validate', file]);
      expect(valid.code, describeRun(valid)).toBe(0);
      expect(valid.stderr).toBe(''); // no warning: nothing in the file is unsupported

      const r = await runCli(['run', file, '--state-dir', dir.path, '--json'], {
        env: { CTK_SHOP_URL: target.url, CTK_SHOP_ADMIN_TOKEN: TOKEN },
      });
      expect(r.code, describeRun(r)).toBe(0);
      const out = JSON.parse(r.stdout) as { runId: string; outcome: string; dryRun: boolean; exitCode: number; experiment: string };
      // A plain Chaos Toolkit file: the steady state held after the method, so the system held.
      expect(out).toMatchObject({ outcome: 'prevented', dryRun: false, exitCode: 0, experiment: CHAOS_TOOLKIT_EXPERIMENT.title });

      // What the target saw, in order: the hypothesis (before), the method, the hypothesis (after),
      // then the rollback, which is the ref'd 'warm-cache' running a second time.
      expect(target.requests.map((q) => `${q.method} ${q.url}`)).toEqual([
        'GET /health',
        'GET /health',
        'DELETE /admin/cache',
        'POST /admin/cache/warm',
        'GET /health',
        'GET /health',
        'POST /admin/cache/warm',
      ]);
      for (const q of target.requests) {
        expect(q.runId).toBe(out.runId);
        expect(q.headers['user-agent']).toContain(`bulwark-run/${out.runId}`);
      }
      const flush = target.requests[2]!;
      expect(flush.headers.authorization).toBe(`Bearer ${TOKEN}`); // the secret from the environment was sent
      // pauses.after 0.3 s: the next request of the method came at least 300 ms later.
      expect(target.requests[3]!.at - flush.at).toBeGreaterThanOrEqual(290);

      const store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
      try {
        const row = await store.runs.get(out.runId);
        expect(row).toMatchObject({ state: 'done', outcome: 'prevented', dryRun: false, experiment: CHAOS_TOOLKIT_EXPERIMENT.title });
        const j = row!.journal as any;
        // Chaos Toolkit's journal fields.
        expect(j).toMatchObject({ status: 'completed', deviated: false });
        expect(Object.keys(j)).toEqual(
          expect.arrayContaining(['chaoslib-version', 'platform', 'node', 'experiment', 'start', 'end', 'duration', 'status', 'deviated']),
        );
        expect(j.duration).toBeCloseTo((Date.parse(j.end) - Date.parse(j.start)) / 1000, 3);
        expect(j.duration).toBeGreaterThanOrEqual(0.3);
        // The experiment as written.
        expect(j.experiment).toEqual(CHAOS_TOOLKIT_EXPERIMENT);
        expect(j.steady_states.before.steady_state_met).toBe(true);
        expect(j.steady_states.after.steady_state_met).toBe(true);
        expect(j.steady_states.before.probes.map((p: any) => [p.activity.name, p.status, p.tolerance_met])).toEqual([
          ['home-page-is-up', 'succeeded', true],
          ['health-is-2xx', 'succeeded', true],
        ]);
        expect(j.run.map((a: any) => [a.activity.name, a.status])).toEqual([
          ['flush-cache', 'succeeded'],
          ['runs-in-a-shell', 'succeeded'],
          ['warm-cache', 'succeeded'],
        ]);
        for (const a of [...j.run, ...j.rollbacks]) {
          expect(Date.parse(a.end)).toBeGreaterThanOrEqual(Date.parse(a.start));
          expect(typeof a.duration).toBe('number');
        }
        // The process probe ran through a shell with the run id in its environment.
        expect(j.run[1].output).toMatchObject({ status: 0, stdout: `run=${out.runId}\n` });
        expect(j.run[1].tolerance_met).toBe(true);
        // The ref'd rollback ran, after the method, and the target answered it.
        expect(j.rollbacks).toHaveLength(1);
        expect(j.rollbacks[0]).toMatchObject({ status: 'succeeded', activity: { name: 'warm-cache' }, output: { status: 200 } });
        expect(Date.parse(j.rollbacks[0].start)).toBeGreaterThanOrEqual(Date.parse(j.run[2].end));
        // The secret was sent but is not kept: the echoed header is redacted in the journal.
        expect(j.run[0].output.body.headers.authorization).toBe('Bearer [redacted]');
        expect(JSON.stringify(j)).not.toContain(TOKEN);
        expect(j.bulwark).toMatchObject({ runId: out.runId, dryRun: false, outcome: 'prevented' });
        expect(j.bulwark.injections.map((i: any) => i.activity)).toEqual(['flush-cache', 'warm-cache']);
      } finally {
        await store.close();
      }
    },
  );
});
