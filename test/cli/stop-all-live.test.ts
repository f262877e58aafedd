/**
 * The global stop switch from the CLI, while runs are going on: `bulwark experiments stop-all`
 * (a child process, with a token that may only stop) against a `bulwark serve` whose two runs are
 * in a two-minute pause. Both runs end `aborted` at once (the pause does not have to run out),
 * each one's http rollback reaches the loopback shop with its own run id, the CLI says how many
 * runs it stopped and exits 0, and the stop is in the ledger under the token that gave it.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { api, describeRun, runCli, startServer, type RunningServer } from '../support/cli.ts';
import { killAllChildren } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';
import { until } from '../support/wait.ts';

let dir: TmpDir | undefined;
let server: RunningServer | undefined;
let target: http.Server | undefined;

afterAll(async () => {
  await server?.stop('SIGKILL', 5000).catch(() => undefined);
  await killAllChildren();
  target?.closeAllConnections();
  await new Promise((r) => (target ? target.close(r) : r(undefined)));
  await dir?.cleanup();
});

describe('bulwark experiments stop-all with runs going on', () => {
  it('aborts every live run, runs their rollbacks, and says how many it stopped', { timeout: 60_000 }, async () => {
    dir = await tmpDir('bulwark-stop-all-live-');
    const received: { method: string; url: string; run: string | undefined; at: number }[] = [];
    target = http.createServer((req, res) => {
      req.resume();
      const run = req.headers['x-bulwark-run'];
      received.push({ method: req.method ?? '', url: req.url ?? '', run: typeof run === 'string' ? run : undefined, at: Date.now() });
      res.writeHead(req.url === '/admin/rollback' ? 204 : 200).end();
    });
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;

    server = await startServer({ dir: dir.path, expectToken: true, checkpointInterval: 0 });
    const admin = server.token!;
    const logs = () => `--- stderr ---\n${server!.stderr().slice(-3000)}\n--- stdout ---\n${server!.stdout().slice(-3000)}`;

    // The on-call engineer's token: it may stop experiments, nothing else.
    const minted = await runCli([
      'tokens',
      'create',
      '--name',
      'on-call',
      '--scope',
      'experiments:stop',
      '--json',
      '--db',
      server.db,
      '--data-dir',
      dir.path,
    ]);
    expect(minted.code, describeRun(minted)).toBe(0);
    const oncall = JSON.parse(minted.stdout) as { id: string; token: string };

    const file = `
title: The shop holds under a slow attack
description: one request, then two minutes of watching
method:
  - type: action
    name: attack
    provider: {type: http, url: "${targetUrl}/attack", timeout: 5}
    pauses: {after: 120}
rollbacks:
  - type: action
    name: undo-attack
    provider: {type: http, url: "${targetUrl}/admin/rollback", method: POST, expected_status: 204}
`;
    const applied = await api(server, 'POST', '/v1/experiments', { token: admin, body: { file, name: 'slow-attack' } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(201);
    const runIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const started = await api(server, 'POST', '/v1/experiments/slow-attack/runs', { token: admin, body: {} });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      runIds.push(started.body.run.id as string);
    }
    // Both have sent their attack and sit in the pause after it.
    await until(
      'both runs to attack',
      () => (runIds.every((id) => received.some((r) => r.url === '/attack' && r.run === id)) ? true : undefined),
      15_000,
      logs,
    );
    for (const id of runIds) expect((await api(server, 'GET', `/v1/runs/${id}`, { token: admin })).body.run.state).toBe('running');
    expect(received.filter((r) => r.url === '/admin/rollback')).toEqual([]);

    const env = { BULWARK_URL: server.url, BULWARK_TOKEN: oncall.token };
    const stoppedAt = Date.now();
    const stop = await runCli(['experiments', 'stop-all'], { env });
    expect(stop.code, describeRun(stop)).toBe(0);
    expect(stop.stdout).toBe('stopped 2 runs; their rollbacks are running\n');
    expect(stop.stderr).toBe('');

    const done = await Promise.all(
      runIds.map((id) =>
        until(
          `run ${id} to end`,
          async () => {
            const r = await api(server!, 'GET', `/v1/runs/${id}`, { token: admin });
            return r.body.run?.state === 'done' ? r.body.run : undefined;
          },
          15_000,
          logs,
        ),
      ),
    );
    // (Within 15 s of the CLI's answer: well before the two-minute pause would have ended.)
    for (const run of done) {
      expect(run.outcome, logs()).toBe('aborted');
      expect(run.reason).toMatch(new RegExp(`^aborted: .*stopped by token:${oncall.id} \\(stop all\\)$`));
    }
    // Each run's rollback reached the shop, once, with its own run id, after the stop was given.
    const rollbacks = received.filter((r) => r.url === '/admin/rollback');
    expect(rollbacks.map((r) => [r.method, r.run]).sort()).toEqual(runIds.map((id) => ['POST', id]).sort());
    for (const r of rollbacks) expect(r.at).toBeGreaterThanOrEqual(stoppedAt);

    // The stop is in the ledger, by the on-call token, naming the runs it aborted.
    const ledger = await api(server, 'GET', '/v1/ledger/entries?kind=experiments.stop-all', { token: admin });
    expect(ledger.status, JSON.stringify(ledger.body)).toBe(200);
    expect(ledger.body.entries).toHaveLength(1);
    const entry = ledger.body.entries[0] as { actor: { token?: string; how: string }; data: { aborted: string[]; reason: string } };
    expect(entry.actor).toMatchObject({ token: oncall.id, how: 'api' });
    expect([...entry.data.aborted].sort()).toEqual([...runIds].sort());

    // With nothing going on any more, the switch says so (as JSON here).
    const again = await runCli(['experiments', 'stop-all', '--json'], { env });
    expect(again.code, describeRun(again)).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ stopped: 0 });
    expect(received.filter((r) => r.url === '/admin/rollback')).toHaveLength(2);

    // It is not a latch: a run started after it goes to its end.
    const quick = `
title: One quick attack
description: one request, no pause
method:
  - type: action
    name: attack
    provider: {type: http, url: "${targetUrl}/attack", timeout: 5}
`;
    expect((await api(server, 'POST', '/v1/experiments', { token: admin, body: { file: quick, name: 'quick' } })).status).toBe(201);
    const next = await api(server, 'POST', '/v1/experiments/quick/runs', { token: admin, body: {} });
    expect(next.status, JSON.stringify(next.body)).toBe(202);
    const after = await until(
      'the run after the stop to end',
      async () => {
        const r = await api(server!, 'GET', `/v1/runs/${next.body.run.id as string}`, { token: admin });
        return r.body.run?.state === 'done' ? r.body.run : undefined;
      },
      15_000,
      logs,
    );
    expect(after.outcome, logs()).toBe('prevented');

    expect(await server.stop('SIGTERM', 20_000)).toEqual({ code: 0, signal: null });
  });
});
