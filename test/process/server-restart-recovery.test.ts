/**
 * Crash recovery at the next start of the server: a run of `bulwark serve` that changed a file
 * and was holding (in a slow http probe, or in the pause after the change) is cut short by
 * SIGKILL; the next `bulwark serve` on the same
 * SQLite file and data directory runs its stored rollbacks at start (the automatic restore of
 * the file from the backup in `<dataDir>/backups/<run id>/`, then the file's own http rollback),
 * ends the run `aborted`, and says so in the journal, the ledger and its log.
 *
 * The periodic sweep is off (`experiments.recoverIntervalSeconds: 0`), so only the recovery at
 * start can do it. The killed server ran on this host and its pid is gone, so the restart claims
 * the run at once, before its lease (15 s) has expired (recover.ts: ownerIsDeadHere).
 */
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/app/ledger/verify.ts';
import { api, startServer, type RunningServer } from '../support/cli.ts';
import { killAllChildren } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';
import { until, withStore } from '../support/wait.ts';
import { actorLabel, decodeActor } from '../../src/core/ledger/actor.ts';

let dir: TmpDir | undefined;
const servers: RunningServer[] = [];
let target: http.Server | undefined;

afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop('SIGKILL', 5000).catch(() => undefined);
  target?.closeAllConnections();
  await new Promise((r) => (target ? target.close(r) : r(undefined)));
  target = undefined;
  await dir?.cleanup();
  dir = undefined;
});
afterAll(async () => {
  await killAllChildren();
});

/**
 * How the run holds after its file change: `probe`, a probe whose request the shop never answers
 * (it is sent once the change and its run.injected entry are committed); `pause`, the change's own
 * `pauses.after` (its run.injected entry is committed before the pause begins).
 */
type Hold = 'probe' | 'pause';

describe('a run cut short by SIGKILL is rolled back at the next start of bulwark serve', () => {
  it(
    'holding in a slow probe: restores the changed file, runs the http rollback, ends the run aborted with its ledger entries',
    { timeout: 45_000 },
    () => crashAndRestart('probe'),
  );
  it(
    'holding in the pause after the change: the same, and the change was recorded in the ledger before the crash',
    { timeout: 45_000 },
    () => crashAndRestart('pause'),
  );
});

async function crashAndRestart(hold: Hold): Promise<void> {
  dir = await tmpDir('bulwark-restart-recovery-');
  const allowed = path.join(dir.path, 'shop');
  const dataDir = path.join(dir.path, 'data');
  mkdirSync(allowed);
  mkdirSync(dataDir);
  const config = path.join(dir.path, 'bulwark.yaml');
  writeFileSync(
    config,
    ['experiments:', `  allowPaths: [${JSON.stringify(allowed)}]`, '  recoverIntervalSeconds: 0', '  pollSignalsMs: 0'].join('\n'),
  );
  const conf = path.join(allowed, 'shop.conf');
  const original = 'filter = on\nlog = on\n';
  writeFileSync(conf, original);

  // The shop: /hold is never answered (the run holds there until it is killed); the admin
  // endpoint the experiment's rollback calls answers 204. Every request is recorded.
  const received: { method: string; url: string; run: string | undefined }[] = [];
  target = http.createServer((req, res) => {
    req.resume();
    const run = req.headers['x-bulwark-run'];
    received.push({ method: req.method ?? '', url: req.url ?? '', run: typeof run === 'string' ? run : undefined });
    if (req.url === '/hold') return;
    res.writeHead(204).end();
  });
  target.listen(0, '127.0.0.1');
  await once(target, 'listening');
  const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;

  // The tests' CLI bundle starts fast enough that the SIGTERM below can land while the
  // capabilities' jobs are still starting: serve arms its graceful stop as soon as it listens
  // (src/cli/serve.ts), so that stop must still abort and roll back the run.
  const start = (expectToken: boolean) =>
    startServer({ dir: dataDir, expectToken, checkpointInterval: 0, extraArgs: ['--config', config] });
  const first = await start(true);
  servers.push(first);
  const token = first.token!;
  const logs = () => servers.map((s, i) => `--- server ${i} ---\n${s.stderr().slice(-3000)}\n${s.stdout().slice(-3000)}`).join('\n');

  const file = `
title: The input filter is off and nobody notices
description: turn the shop's input filter off, then watch the shop for two minutes
method:
  - type: action
    name: disable-filter
    provider: {type: file, operation: modify, path: "${conf}", find: "filter = on", replace: "filter = off"}
${
  hold === 'probe'
    ? `  - type: probe
    name: shop-keeps-answering
    provider: {type: http, url: "${targetUrl}/hold", timeout: 120}`
    : '    pauses: {after: 120}'
}
rollbacks:
  - type: action
    name: reload-shop
    provider: {type: http, url: "${targetUrl}/admin/reload", method: POST, expected_status: 204}
`;
  const applied = await api(first, 'POST', '/v1/experiments', { token, body: { file, name: 'filter-off' } });
  expect(applied.status, JSON.stringify(applied.body)).toBe(201);
  const started = await api(first, 'POST', '/v1/experiments/filter-off/runs', { token, body: {} });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const runId = started.body.run.id as string;

  if (hold === 'probe') {
    // The probe's request comes after the file change and its run.injected entry are committed.
    await until('the run to hold in its probe', () => (received.some((r) => r.url === '/hold') ? true : undefined), 15_000, logs);
  } else {
    // In the pause: the change is made and recorded in the ledger; the method goes on no further.
    await until(
      'the file change to be recorded in the ledger',
      async () => {
        const r = await api(first, 'GET', '/v1/ledger/entries?kind=run.injected&order=desc&limit=10', { token });
        return (r.body.entries as { subject: string }[] | undefined)?.some((e) => e.subject === `run:${runId}`) ? true : undefined;
      },
      15_000,
      logs,
    );
  }
  expect(readFileSync(conf, 'utf8')).toBe('filter = off\nlog = on\n');
  // Its row says running, under the first server's lease.
  const live = await until(
    'the run to be running',
    async () => {
      const r = await api(first, 'GET', `/v1/runs/${runId}`, { token });
      return r.body.run?.state === 'running' ? r.body.run : undefined;
    },
    10_000,
    logs,
  );
  expect(live.outcome).toBeNull();

  expect(await first.stop('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
  const killedAt = Date.now();

  // Dead, and nothing rolled back: the file is still changed, its original is in the backup,
  // the row is running under a lease naming the dead pid, the rollback was never called.
  expect(readFileSync(conf, 'utf8')).toBe('filter = off\nlog = on\n');
  const backupDir = path.join(dataDir, 'backups', runId);
  const backups = readdirSync(backupDir);
  expect(backups).toHaveLength(1);
  expect(readFileSync(path.join(backupDir, backups[0]!), 'utf8')).toBe(original);
  const dead = await withStore(first.db, async (s) => s.runs.get(runId));
  expect(dead).toMatchObject({ state: 'running', outcome: null, endedAt: null });
  expect(dead!.leaseOwner).toMatch(new RegExp(`:${first.pid}:[0-9a-f]+$`));
  expect(Date.parse(dead!.leaseUntil!)).toBeGreaterThan(killedAt);
  const held = hold === 'probe' ? [{ method: 'GET', url: '/hold', run: runId }] : [];
  expect(received).toEqual(held);

  // The next start on the same database and data directory.
  const second = await start(false);
  servers.push(second);
  const done = await until(
    'the restarted server to recover the run',
    async () => {
      const r = await api(second, 'GET', `/v1/runs/${runId}`, { token });
      return r.body.run?.state === 'done' ? r.body : undefined;
    },
    15_000,
    logs,
  );
  expect(done.run.outcome, logs()).toBe('aborted');
  expect(done.run.reason).toMatch(
    new RegExp(`the process running it \\(${dead!.leaseOwner}\\) stopped while the run was running; its rollbacks ran at recovery`),
  );
  // Claimed at once, not after the lease ran out: its owner's pid is gone on this host.
  expect(Date.parse(done.run.endedAt)).toBeLessThan(Date.parse(dead!.leaseUntil!));

  // Rolled back: the file is the original again, the backup is gone, the http rollback came once.
  expect(readFileSync(conf, 'utf8')).toBe(original);
  expect(existsSync(path.join(backupDir, backups[0]!))).toBe(false);
  expect(received.slice(held.length)).toEqual([{ method: 'POST', url: '/admin/reload', run: runId }]);

  // The journal says who recovered it and how each rollback went.
  const journal = done.journal as {
    status: string;
    rollbacks: { activity: { name: string }; ok: boolean }[];
    bulwark: { outcome: string; recovery: { previousOwner: string; previousState: string; by: string } };
  };
  expect(journal.status).toBe('aborted');
  expect(journal.bulwark.outcome).toBe('aborted');
  expect(journal.bulwark.recovery).toMatchObject({ previousOwner: dead!.leaseOwner, previousState: 'running' });
  expect(journal.bulwark.recovery.by).not.toBe(dead!.leaseOwner);
  expect(journal.rollbacks.map((r) => [r.activity.name, r.ok])).toEqual([
    [`restore ${conf}`, true],
    ['reload-shop', true],
  ]);
  // The recovery at start logs it (warn), with the run and the experiment.
  expect(second.stdout()).toContain(`recovered run ${runId} of filter-off: aborted`);

  // It stops cleanly on SIGTERM; then the ledger, read from the file, tells the whole story.
  expect(await second.stop('SIGTERM', 20_000)).toEqual({ code: 0, signal: null });
  await withStore(second.db, async (s) => {
    const entries = (await s.ledger.page({ limit: 10_000, order: 'asc' }))
      .filter((e) => e.subject === `run:${runId}`)
      .map((e) => ({ kind: e.kind, actor: actorLabel(decodeActor(e.actor)), data: JSON.parse(e.dataJson) as unknown }));
    const kinds = entries.map((e) => e.kind);
    // What the first server wrote before it died: the start and the file change.
    expect(kinds.slice(0, 2)).toEqual(['run.started', 'run.injected']);
    expect(entries[1]!.data).toMatchObject({ run: runId, activity: 'disable-filter', ok: true });
    // Then what recovery wrote: each rollback, and the end.
    const recovery = entries.slice(2);
    expect(recovery.map((e) => [e.kind, e.actor])).toEqual([
      ['run.rollback', 'recovery'],
      ['run.rollback', 'recovery'],
      ['run.finished', 'recovery'],
    ]);
    expect(recovery.map((e) => e.data)).toEqual([
      { run: runId, rollback: `restore ${conf}`, ok: true, recovery: true },
      { run: runId, rollback: 'reload-shop', ok: true, recovery: true },
      expect.objectContaining({ run: runId, experiment: 'filter-off', outcome: 'aborted', recovered: true, expectationsMet: false }),
    ]);
    expect(kinds.filter((k) => k === 'run.finished')).toHaveLength(1);
    expect(await s.runs.get(runId)).toMatchObject({ state: 'done', outcome: 'aborted', leaseUntil: null });
    expect(await verifyStore(s)).toMatchObject({ ok: true });
  });
  expect(Date.now() - killedAt).toBeLessThan(30_000);
}
