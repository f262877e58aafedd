/**
 * A playbook run across a crash, with real processes: a real Alertmanager (Debian's) sends an
 * alert to `bulwark serve`; the signal triggers a playbook; its `auto` step calls a loopback
 * service (which counts calls by Idempotency-Key); its `manual` step waits for a person; the
 * server is killed with SIGKILL while the run waits; a new server on the same database resumes
 * it, the person records the step done, and the last `auto` step runs. Every step ran exactly
 * once: one call per key, one execution per step, one `playbook.step.finished` per step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { api, startServer, type RunningServer } from '../support/cli.ts';
import { killPid, trackChild } from '../support/processes.ts';
import { alertingAvailable, ALERTMANAGER_BIN } from '../support/prometheus.ts';
import { freePort, tmpDir, type TmpDir } from '../support/tmp.ts';

const PLAYBOOK = (service: string) => `apiVersion: bulwark/v1
kind: Playbook
name: contain-host
trigger:
  manual: false
  signal: signal.source == "alertmanager" && signal.labels.alertname == "HostCompromised"
inputs:
  host: { type: string, from: signal.labels.host }
steps:
  - id: isolate
    mode: auto
    http: { url: "${service}/isolate", body: { host: "\${{ inputs.host }}" } }
  - id: reimage
    title: Reimage the host
    mode: manual
    http: { url: "${service}/reimage" }
  - id: release
    mode: auto
    http: { url: "${service}/release", body: { host: "\${{ inputs.host }}" } }
`;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe.skipIf(!alertingAvailable())('a playbook run across SIGKILL, triggered by a real Alertmanager', () => {
  let dir: TmpDir | undefined;
  let server: RunningServer | undefined;
  let am: ChildProcess | undefined;
  let service: Server | undefined;
  const calls = new Map<string, number>();

  afterAll(async () => {
    if (am?.pid) killPid(am.pid, 'SIGKILL');
    await server?.stop('SIGKILL', 5000);
    service?.closeAllConnections();
    await new Promise((r) => (service ? service.close(r) : r(undefined)));
    await dir?.cleanup();
  });

  it('resumes after the kill, and every step ran exactly once', { timeout: 90_000 }, async () => {
    dir = await tmpDir('bulwark-pb-kill-');
    service = createServer((req, res) => {
      const key = `${req.url} ${String(req.headers['idempotency-key'])}`;
      calls.set(key, (calls.get(key) ?? 0) + 1);
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => service!.listen(0, '127.0.0.1', r));
    const serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;

    server = await startServer({ dir: dir.path, expectToken: true });
    const admin = server.token!;
    const applied = await api(server, 'POST', '/v1/playbooks', { token: admin, body: { file: PLAYBOOK(serviceUrl) } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(201);
    const ingest = await api(server, 'POST', '/v1/tokens', {
      token: admin,
      body: { name: 'alertmanager', scopes: ['signals:ingest:alertmanager'] },
    });
    expect(ingest.status, JSON.stringify(ingest.body)).toBe(201);

    // A real Alertmanager, its webhook pointed at the server with the ingest token.
    const amPort = await freePort();
    const config = path.join(dir.path, 'alertmanager.yml');
    writeFileSync(
      config,
      `route: { receiver: bulwark, group_wait: 0s, group_interval: 1s, repeat_interval: 4h, group_by: ['...'] }
receivers:
  - name: bulwark
    webhook_configs:
      - url: ${server.url}/v1/signals/alertmanager
        send_resolved: false
        http_config: { authorization: { credentials: ${(ingest.body as { token: string }).token} } }
`,
    );
    am = spawn(
      ALERTMANAGER_BIN,
      [
        `--config.file=${config}`,
        `--storage.path=${path.join(dir.path, 'am')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=',
      ],
      { stdio: 'ignore' },
    );
    trackChild(am);
    const amUrl = `http://127.0.0.1:${amPort}`;
    await until('Alertmanager ready', async () => ((await fetch(`${amUrl}/-/ready`).catch(() => undefined))?.ok ? true : undefined));
    const posted = await fetch(`${amUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ labels: { alertname: 'HostCompromised', host: 'web-7', severity: 'critical' }, annotations: {} }]),
    });
    expect(posted.status).toBe(200);

    // The alert arrives, the run starts, the auto step calls the service, the manual step waits.
    const runId = await until('a waiting run', async () => {
      const r = await api(server!, 'GET', '/v1/playbook-runs?playbook=contain-host', { token: admin });
      return (r.body as { runs: { id: string; state: string }[] }).runs.find((x) => x.state === 'waiting')?.id;
    }).catch(async (e: unknown) => {
      const signals = await api(server!, 'GET', '/v1/signals?limit=5', { token: admin });
      const runs = await api(server!, 'GET', '/v1/playbook-runs', { token: admin });
      throw new Error(
        `${(e as Error).message}\nsignals: ${JSON.stringify(signals.body).slice(0, 1500)}\nruns: ${JSON.stringify(runs.body).slice(0, 1500)}\n${server!.stderr().slice(-3000)}`,
      );
    });
    expect(calls.get(`/isolate ${runId}.isolate`)).toBe(1);

    // SIGKILL mid-run; a new server on the same database and data directory.
    const killed = server;
    killPid(killed.pid, 'SIGKILL');
    await killed.exited;
    server = await startServer({ dir: dir.path });
    const before = await api(server, 'GET', `/v1/playbook-runs/${runId}`, { token: admin });
    expect((before.body as { state: string }).state).toBe('waiting');

    // The person records the manual step done; the last auto step runs; the run succeeds.
    const done = await api(server, 'POST', `/v1/playbook-runs/${runId}/steps/reimage/complete`, {
      token: admin,
      body: { outcome: 'done', notes: 'reimaged from the golden image', timeSpentMs: 900_000 },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const run = await until('the run to end', async () => {
      const r = await api(server!, 'GET', `/v1/playbook-runs/${runId}`, { token: admin });
      const b = r.body as { state: string; steps: { id: string; state: string; attempts: number }[] };
      return b.state === 'succeeded' || b.state === 'failed' ? b : undefined;
    });
    expect(run.state).toBe('succeeded');
    expect(run.steps.map((s) => [s.id, s.state, s.attempts])).toEqual([
      ['isolate', 'done', 1],
      ['reimage', 'done', 0], // done by a person: recorded once, never attempted by Bulwark
      ['release', 'done', 1],
    ]);
    // Exactly once: one call per idempotency key, and no other call.
    expect(Object.fromEntries(calls)).toEqual({ [`/isolate ${runId}.isolate`]: 1, [`/release ${runId}.release`]: 1 });
    const ledger = await api(server, 'GET', '/v1/ledger/entries?kind=playbook.step.finished&limit=1000', { token: admin });
    expect(ledger.status).toBe(200);
    const finished = (ledger.body as { entries: { subject: string; data: { step?: string } }[] }).entries
      .filter((e) => e.subject === `playbook-run:${runId}`)
      .map((e) => e.data.step);
    // One end per automatic step (the manual one's is its playbook.step.confirmed).
    expect(finished.sort()).toEqual(['isolate', 'release']);
  });
});
