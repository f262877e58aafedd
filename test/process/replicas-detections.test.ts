/**
 * Two `bulwark serve` replicas on one PostgreSQL database. A run on replica A is detected by a
 * signal posted to replica B (A reads it from the store), and runs left behind by a replica that
 * died — killed with SIGKILL mid-run, or a row whose owner is gone — are rolled back by a live
 * replica without a restart. A stop-all given on one replica aborts the runs of the other. Both
 * replicas then stop cleanly on SIGTERM.
 */
import { hostname } from 'node:os';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { Activity } from '../../src/core/experiments/types.ts';
import { api, describeRun, runCli, startServer, type RunningServer } from '../support/cli.ts';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../support/postgres.ts';
import { killAllChildren } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';
import { until, withStore } from '../support/wait.ts';

/** How long a live replica may take to roll back an abandoned run (sweeps every second). */
const RECOVERY_BOUND_MS = 20_000;

let db: TestDatabase | undefined;
let dir: TmpDir | undefined;
const servers: RunningServer[] = [];
let target: http.Server | undefined;

afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL', 5000).catch(() => undefined);
  await killAllChildren();
  target?.closeAllConnections();
  target?.close();
  await db?.drop();
  await dir?.cleanup();
});

const ledgerKinds = (url: string, runId: string) =>
  withStore(url, async (s) =>
    (await s.ledger.page({ limit: 10_000, order: 'asc' })).filter((e) => e.subject === `run:${runId}`).map((e) => e.kind),
  );

describe.skipIf(!pgAvailable())('replicas over PostgreSQL', () => {
  it(
    'detects on replica A a signal posted to replica B, rolls back runs of dead replicas without a restart, and stops across replicas',
    { timeout: 150_000 },
    async () => {
      db = await createTestDatabase({ migrated: true });
      dir = await tmpDir('bulwark-replicas-');
      const shared = dir.path;
      const dirA = path.join(shared, 'a');
      const dirB = path.join(shared, 'b');
      const dirC = path.join(shared, 'c');
      const config = path.join(shared, 'bulwark.yaml');
      writeFileSync(
        config,
        [
          'signals:',
          '  webhooks:',
          '    siem: { id: $.id, runId: $.run, labels: { rule: $.rule } }',
          'experiments:',
          `  allowPaths: [${JSON.stringify(shared)}]`,
          '  pollSignalsMs: 100',
          '  recoverIntervalSeconds: 1',
        ].join('\n'),
      );
      // Replicas share one sealing key file (docs/operations.md): a replica that recovers another's
      // runs opens the rollbacks that replica sealed.
      const keyFile = path.join(shared, 'secret-keys.json');
      const start = (d: string, expectToken = false) =>
        startServer({
          dir: d,
          db: db!.url,
          expectToken,
          checkpointInterval: 0,
          extraArgs: ['--config', config, '--secrets-key-file', keyFile],
        });
      const a = await start(dirA, true);
      servers.push(a);
      const b = await start(dirB);
      servers.push(b);
      const admin = a.token!;
      const logs = () => servers.map((s, i) => `--- replica ${i} ---\n${s.stderr().slice(-3000)}\n${s.stdout().slice(-3000)}`).join('\n');

      const created = await runCli(['tokens', 'create', '--name', 'siem', '--scope', 'signals:ingest:siem', '--json', '--db', db.url]);
      expect(created.code, describeRun(created)).toBe(0);
      const siem = JSON.parse(created.stdout).token as string;

      // A shop behind a WAF: it blocks the injection, and its SIEM reports it to replica B.
      const posts: Promise<unknown>[] = [];
      target = http.createServer((req, res) => {
        req.resume();
        if (req.url === '/hold') return; // answered never: the run holds here until it is killed
        const run = req.headers['x-bulwark-run'];
        res.writeHead(403, { 'content-type': 'text/plain' }).end('blocked');
        if (typeof run === 'string') {
          const t = setTimeout(() => {
            posts.push(
              api(b, 'POST', '/v1/signals/webhook/siem', { token: siem, body: { id: `alert-${run}`, run, rule: '942100' } }).then((r) => {
                if (r.status !== 202) throw new Error(`webhook on replica B: ${r.status} ${JSON.stringify(r.body)}`);
              }),
            );
          }, 50);
          t.unref();
        }
      });
      target.listen(0, '127.0.0.1');
      await once(target, 'listening');
      const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;

      // 1. A run on A, its signal on B.
      const sqli = `
title: SQL injection is blocked and reported
description: the WAF blocks a classic injection and the SIEM reports it
techniques: [T1190]
method:
  - type: action
    name: inject-sqli
    provider: {type: http, url: "${targetUrl}/search", arguments: {q: "' OR 1=1--"}}
expect:
  blocked: {tolerance: 403}
  detected:
    - name: siem-alert
      when: signal.source == "siem" && signal.labels.rule == "942100"
      within: 15s
`;
      const applied = await api(a, 'POST', '/v1/experiments', { token: admin, body: { file: sqli, name: 'sqli' } });
      expect(applied.status, JSON.stringify(applied.body)).toBe(201);
      const started = await api(a, 'POST', '/v1/experiments/sqli/runs', { token: admin, body: {} });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const runId = started.body.run.id as string;
      const done = await until(
        'the run on replica A to end',
        async () => {
          const r = await api(a, 'GET', `/v1/runs/${runId}`, { token: admin });
          return r.body.run?.state === 'done' ? r.body : undefined;
        },
        30_000,
        logs,
      );
      await Promise.all(posts);
      expect(done.run, logs()).toMatchObject({ outcome: 'prevented' });
      expect(done.run.ttdMs).toBeGreaterThanOrEqual(50);
      expect(done.run.ttdMs).toBeLessThan(15_000);
      const detections = (done.timeline as { kind: string; detail?: { source?: string; by?: string } }[]).filter(
        (e) => e.kind === 'detection',
      );
      expect(detections.map((d) => [d.detail?.source, d.detail?.by])).toEqual([['siem', 'run-id']]);
      // The signal is B's: A never ingested it.
      const signal = await api(b, 'GET', '/v1/signals?source=siem&limit=10', { token: admin });
      expect(signal.body.signals.map((s: { runId: string }) => s.runId)).toEqual([runId]);
      expect((await ledgerKinds(db.url, runId)).filter((k) => k === 'run.detected')).toHaveLength(1);

      // 2. A third replica is killed with SIGKILL while its run holds a changed file.
      const c = await start(dirC);
      servers.push(c);
      const conf = path.join(shared, 'app.conf');
      writeFileSync(conf, 'filter = on\n');
      const flip = `
title: config flip
description: turn the input filter off, then hold
method:
  - type: action
    name: disable-filter
    provider: {type: file, operation: modify, path: "${conf}", find: "filter = on", replace: "filter = off"}
  - type: action
    name: hold
    provider: {type: http, url: "${targetUrl}/hold", timeout: 120}
`;
      expect((await api(c, 'POST', '/v1/experiments', { token: admin, body: { file: flip, name: 'flip' } })).status).toBe(201);
      const held = await api(c, 'POST', '/v1/experiments/flip/runs', { token: admin, body: {} });
      expect(held.status, JSON.stringify(held.body)).toBe(202);
      const heldId = held.body.run.id as string;
      await until('the file to be changed', async () => (readFileSync(conf, 'utf8') === 'filter = off\n' ? true : undefined), 20_000, logs);
      expect(await c.stop('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
      const killedAt = Date.now();
      const recovered = await until(
        'a live replica to roll back the killed replica’s run',
        async () => {
          const r = await api(a, 'GET', `/v1/runs/${heldId}`, { token: admin });
          return r.body.run?.state === 'done' ? r.body.run : undefined;
        },
        RECOVERY_BOUND_MS,
        logs,
      );
      expect(Date.now() - killedAt).toBeLessThan(RECOVERY_BOUND_MS);
      expect(recovered).toMatchObject({ outcome: 'aborted' });
      expect(readFileSync(conf, 'utf8')).toBe('filter = on\n');

      // 3. A row left by a replica on another host, its lease expired, with a file to restore.
      const other = path.join(shared, 'other.conf');
      const backup = path.join(shared, 'other.conf.bak');
      writeFileSync(backup, 'auth = on\n');
      writeFileSync(other, 'auth = off\n');
      const rollback: Activity = {
        type: 'action',
        name: 'restore other.conf',
        provider: { type: 'file', operation: 'restore', path: other, backup },
        pauses: {},
        background: false,
        controls: [],
      };
      const now = Date.now();
      await withStore(db.url, (s) =>
        s.runs.insert({
          id: 'gonehost00000001',
          experiment: 'flip',
          state: 'running',
          outcome: null,
          reason: null,
          startedAt: new Date(now - 60_000).toISOString(),
          endedAt: null,
          // A dead process of this host (above any pid_max): its file rollbacks belong here.
          leaseOwner: `${hostname()}:4194399:abcd`,
          leaseUntil: new Date(now - 1000).toISOString(),
          rollbacks: [rollback] as never,
          journal: { status: 'running', rollbacks: [], bulwark: { runId: 'gonehost00000001' } },
          ttdMs: null,
          dryRun: false,
        }),
      );
      const gone = await until(
        'a live replica to roll back the abandoned row',
        async () => {
          const r = await api(b, 'GET', '/v1/runs/gonehost00000001', { token: admin });
          return r.body.run?.state === 'done' ? r.body.run : undefined;
        },
        RECOVERY_BOUND_MS,
        logs,
      );
      expect(gone).toMatchObject({ outcome: 'aborted' });
      expect(readFileSync(other, 'utf8')).toBe('auth = on\n');
      // Two replicas sweep every second: each run is rolled back by one of them, once.
      await sleep(2500);
      expect(await ledgerKinds(db.url, heldId)).toEqual(expect.arrayContaining(['run.finished']));
      expect((await ledgerKinds(db.url, heldId)).filter((k) => k === 'run.finished')).toHaveLength(1);
      expect(await ledgerKinds(db.url, 'gonehost00000001')).toEqual(['run.rollback', 'run.finished']);
      const said = [a, b].map(
        (s) =>
          s
            .stdout()
            .split('\n')
            .filter((l) => l.includes('recovered run gonehost00000001')).length,
      );
      expect(said[0]! + said[1]!, logs()).toBe(1);

      // 4. The global stop given on B aborts a run going on in A.
      const hold = `
title: hold
description: a request that is never answered
method:
  - type: action
    name: hold
    provider: {type: http, url: "${targetUrl}/hold", timeout: 120}
`;
      expect((await api(a, 'POST', '/v1/experiments', { token: admin, body: { file: hold, name: 'hold' } })).status).toBe(201);
      const holding = await api(a, 'POST', '/v1/experiments/hold/runs', { token: admin, body: {} });
      expect(holding.status, JSON.stringify(holding.body)).toBe(202);
      const holdingId = holding.body.run.id as string;
      await until(
        'the run on A to be running',
        async () => ((await api(a, 'GET', `/v1/runs/${holdingId}`, { token: admin })).body.run?.state === 'running' ? true : undefined),
        20_000,
        logs,
      );
      const stopped = await api(b, 'POST', '/v1/experiments/stop-all', { token: admin, body: {} });
      expect(stopped.status, JSON.stringify(stopped.body)).toBe(200);
      expect(stopped.body).toEqual({ stopped: 0 });
      const stopAt = Date.now();
      const aborted = await until(
        'replica A to abort its run after the stop given on B',
        async () => {
          const r = await api(a, 'GET', `/v1/runs/${holdingId}`, { token: admin });
          return r.body.run?.state === 'done' ? r.body.run : undefined;
        },
        10_000,
        logs,
      );
      expect(Date.now() - stopAt).toBeLessThan(10_000);
      expect(aborted.outcome).toBe('aborted');
      expect(aborted.reason).toMatch(/stop all/);
      expect(
        await withStore(db.url, async (st) => (await st.ledger.page({ limit: 10, order: 'desc', kind: 'experiments.stop-all' })).length),
      ).toBe(1);

      // Timers do not hold a replica up: both stop on SIGTERM.
      expect(await a.stop('SIGTERM', 20_000)).toEqual({ code: 0, signal: null });
      expect(await b.stop('SIGTERM', 20_000)).toEqual({ code: 0, signal: null });
    },
  );
});
