/**
 * Experiments and runs over HTTP, in process (inject) against a real loopback target: applying
 * (valid, invalid, privileged), running in the background until done, detections arriving
 * through the signal routes' own bus, stopping one run and stopping all with their rollbacks.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { until } from '../../../test/support/wait.ts';
import { createToken } from '../../app/access/tokens.ts';
import { STRUCTURED_MEDIA_TYPE } from '../../core/signals/cloudevents.ts';
import { RUN_HEADER } from '../../core/signals/correlation.ts';
import { systemActor } from '../../core/ledger/actor.ts';

let t: TestApp;
let target: http.Server;
let targetUrl: string;
let ingestToken: string;
/** What reached the target: method, path and the run header. */
const hits: { path: string; runId: string | undefined }[] = [];
const held: http.ServerResponse[] = [];

beforeAll(async () => {
  t = await makeTestApp({ experiments: { policy: { allowExecutables: ['/bin/true'], allowPaths: [] } } });
  ingestToken = (await createToken(t.deps, systemActor('test'), { name: 'test-target', scopes: ['signals:ingest:cloudevents'] })).token;
  target = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const runId = req.headers[RUN_HEADER.toLowerCase()] as string | undefined;
    hits.push({ path: url.pathname, runId });
    req.resume();
    if (url.pathname === '/attack') {
      res.writeHead(403).end('blocked');
      // The target's audit log reports the refusal as a CloudEvent, through the signal route.
      void t.app.inject({
        method: 'POST',
        url: '/v1/signals/cloudevents',
        headers: { ...bearer(ingestToken), 'content-type': STRUCTURED_MEDIA_TYPE },
        payload: JSON.stringify({
          specversion: '1.0',
          id: randomUUID(),
          source: 'test-target',
          type: 'test.blocked',
          time: new Date().toISOString(),
          rule: 'test-rule',
          ...(runId ? { bulwarkrun: runId } : {}),
          data: { path: url.pathname },
        }),
      });
      return;
    }
    if (url.pathname === '/slow') {
      held.push(res); // never answered: the run waits until it is stopped
      return;
    }
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await t.close();
  for (const r of held) r.destroy();
  await new Promise<void>((resolve) => target.close(() => resolve()));
});

const blockedAndDetected = (title = 'The test target blocks the attack and reports it') => `
title: ${title}
description: an attack the target refuses with 403 and reports as a CloudEvent
techniques: [T1190]
configuration:
  target: http://127.0.0.1:1
secrets:
  shop:
    password: hunter2-inline-secret
method:
  - type: action
    name: attack
    provider: { type: http, url: '\${target}/attack', timeout: 3 }
expect:
  blocked:
    tolerance: 403
  detected:
    - name: target-reports-it
      when: signal.labels.rule == "test-rule"
      within: 5s
schedule:
  cron: '*/5 * * * *'
  jitter: 10s
`;

const slowWithRollback = `
title: A slow attack whose rollback must run
description: the attack hangs until the run is stopped; the rollback tells the target
configuration:
  target: http://127.0.0.1:1
method:
  - type: action
    name: slow-attack
    provider: { type: http, url: '\${target}/slow', timeout: 60 }
rollbacks:
  - type: action
    name: undo
    provider: { type: http, url: '\${target}/rollback', timeout: 3 }
`;

const withProcess = `
title: Runs a process on the server
description: a process provider, which acts on the server's own host
method:
  - type: action
    name: run-true
    provider: { type: process, path: /bin/true }
`;

async function apply(token: string, file: string, name?: string) {
  return t.app.inject({ method: 'POST', url: '/v1/experiments', headers: bearer(token), payload: { file, ...(name ? { name } : {}) } });
}

async function startRun(token: string, name: string, body: Record<string, unknown> = {}) {
  return t.app.inject({ method: 'POST', url: `/v1/experiments/${name}/runs`, headers: bearer(token), payload: body });
}

async function waitDone(id: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.app.inject({ url: `/v1/runs/${id}`, headers: bearer(t.adminToken) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    if (body.run.state === 'done') return body;
    if (Date.now() > deadline) throw new Error(`run ${id} not done after ${timeoutMs} ms: ${JSON.stringify(body.run)}`);
    await sleep(50);
  }
}

describe('applying experiments', () => {
  it('stores a valid file under a slug of its title, and records a digest of it in the ledger, never the file', async () => {
    const res = await apply(t.adminToken, blockedAndDetected());
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toEqual({
      name: 'the-test-target-blocks-the-attack-and-reports-it',
      title: 'The test target blocks the attack and reports it',
      description: 'an attack the target refuses with 403 and reports as a CloudEvent',
      techniques: ['T1190'],
      schedule: { cron: '*/5 * * * *', jitter: '10s' },
      createdAt: expect.any(String),
      updatedAt: body.createdAt,
    });
    const [entry] = await t.deps.store.ledger.page({ limit: 1, order: 'desc', kind: 'experiment.applied' });
    expect(entry).toMatchObject({ kind: 'experiment.applied', subject: `experiment:${body.name}` });
    expect(JSON.parse(entry!.dataJson)).toMatchObject({ name: body.name, version: 1, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(entry!.dataJson).not.toContain('hunter2');
    expect(entry!.dataJson).not.toContain('/attack');
  });

  it('makes a re-apply under the same name its next version (200), and a repeat of the same file changes nothing', async () => {
    const first = await apply(t.adminToken, blockedAndDetected('Version one'), 'versioned');
    expect(first.statusCode).toBe(201);
    const second = await apply(t.adminToken, blockedAndDetected('Version two'), 'versioned');
    expect(second.statusCode).toBe(200);
    expect(second.json()).toMatchObject({ name: 'versioned', title: 'Version two', createdAt: first.json().createdAt });
    expect((await t.deps.store.experiments.get('versioned'))?.version).toBe(2);
    const before = (await t.deps.store.ledger.head()).size;
    expect((await apply(t.adminToken, blockedAndDetected('Version two'), 'versioned')).statusCode).toBe(200);
    expect((await t.deps.store.experiments.get('versioned'))?.version).toBe(2);
    expect((await t.deps.store.ledger.head()).size).toBe(before);
  });

  it("refuses an invalid file with the parser's errors, each with line and column, and stores nothing", async () => {
    const before = (await t.deps.store.ledger.head()).size;
    const res = await apply(
      t.adminToken,
      'title: broken\nmethod:\n  - type: action\n    name: x\n    provider: { type: http }\n',
      'broken',
    );
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error).toBe('invalid');
    expect(body.message).toMatch(/line \d+, column \d+/);
    expect(body.details.length).toBeGreaterThan(0);
    for (const d of body.details)
      expect(d).toMatchObject({ line: expect.any(Number), column: expect.any(Number), message: expect.any(String) });
    expect(await t.deps.store.experiments.get('broken')).toBeUndefined();
    expect((await t.deps.store.ledger.head()).size).toBe(before);
    expect((await apply(t.adminToken, blockedAndDetected(), 'Not A Name')).statusCode).toBe(400);
  });

  it('needs experiments:privileged to apply and to run process or file providers, and the allow-list besides', async () => {
    const writer = (await createToken(t.deps, systemActor('test'), { name: 'writer', scopes: ['experiments:write', 'experiments:run'] }))
      .token;
    const refused = await apply(writer, withProcess, 'proc');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().message).toContain('experiments:privileged');
    expect(await t.deps.store.experiments.get('proc')).toBeUndefined();

    const privileged = (
      await createToken(t.deps, systemActor('test'), {
        name: 'privileged',
        scopes: ['experiments:write', 'experiments:run', 'experiments:privileged'],
      })
    ).token;
    // Not on this server's allow-list (which holds /bin/true only): refused, naming the list to extend.
    const notListed = await apply(privileged, withProcess.replace('/bin/true', '/bin/false'), 'proc-false');
    expect(notListed.statusCode).toBe(403);
    expect(notListed.json().message).toContain('experiments.allowExecutables');
    expect(await t.deps.store.experiments.get('proc-false')).toBeUndefined();

    expect((await apply(privileged, withProcess, 'proc')).statusCode).toBe(201);
    const runRefused = await startRun(writer, 'proc');
    expect(runRefused.statusCode).toBe(403);
    expect(runRefused.json().message).toContain('experiments:privileged');
    const ran = await startRun(privileged, 'proc');
    expect(ran.statusCode).toBe(202);
    expect((await waitDone(ran.json().run.id)).run.outcome).toBe('prevented');
  });

  it('refuses process providers on a server whose allow-lists are empty (the default)', async () => {
    const bare = await makeTestApp();
    try {
      const res = await bare.app.inject({
        method: 'POST',
        url: '/v1/experiments',
        headers: bearer(bare.adminToken),
        payload: { file: withProcess },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().message).toMatch(/experiments\.allowExecutables \(empty\)/);
    } finally {
      await bare.close();
    }
  });

  it('never runs anything when applying', async () => {
    const before = hits.length;
    expect((await apply(t.adminToken, slowWithRollback.replace('http://127.0.0.1:1', targetUrl), 'applied-only')).statusCode).toBe(201);
    await sleep(100);
    expect(hits.length).toBe(before);
    expect((await t.app.inject({ url: '/v1/runs?experiment=applied-only', headers: bearer(t.adminToken) })).json().runs).toEqual([]);
  });
});

describe('runs', () => {
  it('runs in the background (202), is blocked and detected through the signal routes, and tells its timeline', async () => {
    expect((await apply(t.adminToken, blockedAndDetected(), 'blocked')).statusCode).toBe(201);
    const res = await startRun(t.adminToken, 'blocked', { vars: { target: targetUrl } });
    expect(res.statusCode).toBe(202);
    const { run } = res.json();
    expect(run).toMatchObject({ experiment: 'blocked', state: expect.stringMatching(/^(pending|running)$/), outcome: null, dryRun: false });

    const done = await waitDone(run.id);
    expect(done.run).toMatchObject({ id: run.id, state: 'done', outcome: 'prevented', endedAt: expect.any(String) });
    expect(done.run.ttdMs).toBeGreaterThanOrEqual(0);
    expect(hits.filter((h) => h.runId === run.id).map((h) => h.path)).toEqual(['/attack']);

    const kinds = done.timeline.map((e: { kind: string }) => e.kind);
    expect(kinds[0]).toBe('started');
    expect(kinds.at(-1)).toBe('finished');
    expect(kinds).toEqual(expect.arrayContaining(['injection', 'detection']));
    const injection = done.timeline.find((e: { kind: string }) => e.kind === 'injection');
    const detection = done.timeline.find((e: { kind: string }) => e.kind === 'detection');
    expect(injection).toMatchObject({ ok: true, detail: { status: 403, blocked: { ok: true } } });
    expect(detection).toMatchObject({ ok: true, detail: { ttdMs: done.run.ttdMs, signalId: expect.stringMatching(/^sig_/), late: false } });
    expect(Date.parse(detection.at)).toBeGreaterThanOrEqual(Date.parse(injection.at));
    const times = done.timeline.map((e: { at: string }) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(done.journal.bulwark.outcome).toBe('prevented');
    const metrics = (await t.app.inject({ url: '/metrics', headers: bearer(t.adminToken) })).body;
    expect(metrics).toMatch(/^bulwark_experiment_runs_total\{experiment="blocked",outcome="prevented"\} 1$/m);
  });

  it('lists experiments with their last run and history, and one experiment with its file, inline secrets replaced', async () => {
    const list = (await t.app.inject({ url: '/v1/experiments', headers: bearer(t.adminToken) })).json();
    const blocked = list.experiments.find((e: { name: string }) => e.name === 'blocked');
    expect(blocked.lastRun).toMatchObject({ experiment: 'blocked', outcome: 'prevented' });
    expect(blocked.history[0]).toEqual(blocked.lastRun);
    expect(list.experiments.find((e: { name: string }) => e.name === 'applied-only')).toMatchObject({ lastRun: null, history: [] });

    const one = await t.app.inject({ url: '/v1/experiments/blocked', headers: bearer(t.adminToken) });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ name: 'blocked', lastRun: blocked.lastRun, file: expect.stringContaining('/attack') });
    expect(one.json().file).not.toContain('hunter2-inline-secret');
    expect(one.json().file).toContain('[redacted]');
    expect((await t.app.inject({ url: '/v1/experiments/nope', headers: bearer(t.adminToken) })).statusCode).toBe(404);

    const runs = (await t.app.inject({ url: '/v1/runs?experiment=blocked&limit=5', headers: bearer(t.adminToken) })).json().runs;
    expect(runs.map((r: { id: string }) => r.id)).toEqual(blocked.history.slice(0, 5).map((r: { id: string }) => r.id));
    expect((await t.app.inject({ url: '/v1/runs/zzzzzzzzzzzzzzzz', headers: bearer(t.adminToken) })).statusCode).toBe(404);
  });

  it('records a dry run as done without sending anything', async () => {
    const before = hits.length;
    const res = await startRun(t.adminToken, 'blocked', { dryRun: true, vars: { target: targetUrl } });
    expect(res.statusCode).toBe(202);
    expect(res.json().run).toMatchObject({ state: 'done', outcome: null, dryRun: true });
    expect(hits.length).toBe(before);
  });

  it('refuses a run outside the blast radius before anything is sent, and a reader may not run', async () => {
    const res = await startRun(t.adminToken, 'blocked', { vars: { target: 'http://shop.example.com' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/refused before anything was sent/);
    const reader = (await createToken(t.deps, systemActor('test'), { name: 'reader', scopes: ['experiments:read'] })).token;
    expect((await startRun(reader, 'blocked')).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'POST', url: '/v1/experiments/stop-all', headers: bearer(reader), payload: {} })).statusCode).toBe(
      403,
    );
    expect((await startRun(t.adminToken, 'no-such-experiment')).statusCode).toBe(404);
  });

  it('stops one run: it is aborted and its rollback runs', async () => {
    expect((await apply(t.adminToken, slowWithRollback.replace('http://127.0.0.1:1', targetUrl), 'slow-one')).statusCode).toBe(201);
    const { run } = (await startRun(t.adminToken, 'slow-one')).json();
    await until('the slow request', () => hits.some((h) => h.runId === run.id && h.path === '/slow'), 10_000);
    const stop = await t.app.inject({ method: 'POST', url: `/v1/runs/${run.id}/stop`, headers: bearer(t.adminToken), payload: {} });
    expect(stop.statusCode).toBe(202);
    expect(stop.json().run.id).toBe(run.id);
    const done = await waitDone(run.id);
    expect(done.run.outcome).toBe('aborted');
    expect(done.run.reason).toContain('stopped by token:');
    expect(hits.filter((h) => h.runId === run.id).map((h) => h.path)).toEqual(['/slow', '/rollback']);
    const again = await t.app.inject({ method: 'POST', url: `/v1/runs/${run.id}/stop`, headers: bearer(t.adminToken), payload: {} });
    expect(again.statusCode).toBe(409);
  });

  it('stop-all aborts every running run, their rollbacks run, and runs can start again afterwards', async () => {
    expect((await apply(t.adminToken, slowWithRollback.replace('http://127.0.0.1:1', targetUrl), 'slow-all')).statusCode).toBe(201);
    const a = (await startRun(t.adminToken, 'slow-all')).json().run;
    const b = (await startRun(t.adminToken, 'slow-all')).json().run;
    await until('both slow requests', () => [a.id, b.id].every((id) => hits.some((h) => h.runId === id && h.path === '/slow')), 10_000);

    const res = await t.app.inject({ method: 'POST', url: '/v1/experiments/stop-all', headers: bearer(t.adminToken), payload: {} });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ stopped: 2 });
    for (const id of [a.id, b.id]) {
      const done = await waitDone(id);
      expect(done.run.outcome).toBe('aborted');
      const kinds = done.timeline.map((e: { kind: string }) => e.kind);
      expect(kinds).toEqual(expect.arrayContaining(['abort', 'rollback']));
      expect(done.timeline.find((e: { kind: string }) => e.kind === 'rollback')).toMatchObject({ ok: true, label: "rollback 'undo': ok" });
      expect(hits.filter((h) => h.runId === id).map((h) => h.path)).toEqual(['/slow', '/rollback']);
    }
    const ledger = await t.deps.store.ledger.page({ limit: 500, order: 'desc', kind: 'run.rollback' });
    expect(ledger.filter((e) => [a.id, b.id].some((id) => e.subject === `run:${id}`))).toHaveLength(2);

    // Not a latch: the next run starts.
    const next = await startRun(t.adminToken, 'blocked', { vars: { target: targetUrl } });
    expect(next.statusCode).toBe(202);
    expect((await waitDone(next.json().run.id)).run.outcome).toBe('prevented');
  });

  it('aborts running runs when the server closes, and runs their rollbacks before the store goes', async () => {
    const other = await makeTestApp();
    try {
      const file = slowWithRollback.replace('http://127.0.0.1:1', targetUrl);
      expect(
        (
          await other.app.inject({
            method: 'POST',
            url: '/v1/experiments',
            headers: bearer(other.adminToken),
            payload: { file, name: 'closing' },
          })
        ).statusCode,
      ).toBe(201);
      const { run } = (
        await other.app.inject({ method: 'POST', url: '/v1/experiments/closing/runs', headers: bearer(other.adminToken), payload: {} })
      ).json();
      await until('the slow request', () => hits.some((h) => h.runId === run.id && h.path === '/slow'), 10_000);
      await other.app.close();
      expect(hits.filter((h) => h.runId === run.id).map((h) => h.path)).toEqual(['/slow', '/rollback']);
      expect(await other.deps.store.runs.get(run.id)).toMatchObject({ state: 'done', outcome: 'aborted' });
    } finally {
      await other.close();
    }
  });
});

describe('deleting experiments', () => {
  const del = (token: string, name: string) => t.app.inject({ method: 'DELETE', url: `/v1/experiments/${name}`, headers: bearer(token) });

  it('deletes with experiments:write, records it in the ledger, and keeps the runs readable; a re-apply is the next version', async () => {
    expect((await apply(t.adminToken, blockedAndDetected('To be deleted'), 'to-delete')).statusCode).toBe(201);
    const ran = await startRun(t.adminToken, 'to-delete', { vars: { target: targetUrl } });
    expect(ran.statusCode).toBe(202);
    const runId: string = ran.json().run.id;
    expect((await waitDone(runId)).run.outcome).toBe('prevented');

    // A reader may not delete; nothing changes.
    const reader = (await createToken(t.deps, systemActor('test'), { name: 'delete-reader', scopes: ['experiments:read'] })).token;
    const refused = await del(reader, 'to-delete');
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: 'forbidden', message: expect.stringContaining('experiments:write') });
    expect(await t.deps.store.experiments.get('to-delete')).toBeDefined();

    const writer = await createToken(t.deps, systemActor('test'), { name: 'delete-writer', scopes: ['experiments:write'] });
    const before = (await t.deps.store.ledger.head()).size;
    const res = await del(writer.token, 'to-delete');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      name: 'to-delete',
      title: 'To be deleted',
      version: 1,
      schedule: { cron: '*/5 * * * *', jitter: '10s' },
      deletedAt: expect.any(String),
      deletedBy: `token:${writer.view.id}`,
      unfinished: [],
    });
    expect((await t.deps.store.ledger.head()).size).toBe(before + 1);
    const [entry] = await t.deps.store.ledger.page({ limit: 1, order: 'desc', kind: 'experiment.deleted' });
    expect(entry).toMatchObject({
      kind: 'experiment.deleted',
      subject: 'experiment:to-delete',
      actor: expect.stringContaining(`"token":"${writer.view.id}"`),
    });
    expect(JSON.parse(entry!.dataJson)).toEqual({
      name: 'to-delete',
      version: 1,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      title: 'To be deleted',
      by: `token:${writer.view.id}`,
    });
    expect(entry!.dataJson).not.toContain('hunter2');

    // Gone from the list, from reading, from running; deleting again finds nothing.
    const list = (await t.app.inject({ url: '/v1/experiments', headers: bearer(t.adminToken) })).json();
    expect(list.experiments.map((e: { name: string }) => e.name)).not.toContain('to-delete');
    const one = await t.app.inject({ url: '/v1/experiments/to-delete', headers: bearer(t.adminToken) });
    expect(one.statusCode).toBe(404);
    expect(one.json()).toMatchObject({ error: 'not_found', message: expect.stringContaining("no experiment 'to-delete'") });
    const run = await startRun(t.adminToken, 'to-delete', { vars: { target: targetUrl } });
    expect(run.statusCode).toBe(404);
    expect(run.json().error).toBe('not_found');
    const again = await del(t.adminToken, 'to-delete');
    expect(again.statusCode).toBe(404);
    expect(again.json()).toEqual({ error: 'not_found', message: expect.stringContaining("no experiment 'to-delete' to delete") });

    // The runs are evidence: by id (the Run page, bulwark runs show) and by name.
    const shown = await t.app.inject({ url: `/v1/runs/${runId}`, headers: bearer(t.adminToken) });
    expect(shown.statusCode).toBe(200);
    expect(shown.json().run).toMatchObject({ id: runId, experiment: 'to-delete', outcome: 'prevented' });
    expect(shown.json().timeline.map((e: { kind: string }) => e.kind)).toContain('injection');
    const byName = (await t.app.inject({ url: '/v1/runs?experiment=to-delete', headers: bearer(t.adminToken) })).json();
    expect(byName.runs.map((r: { id: string }) => r.id)).toEqual([runId]);
    expect(
      (await t.deps.store.ledger.page({ limit: 500, order: 'asc' })).filter((e) => e.subject === `run:${runId}`).length,
    ).toBeGreaterThan(0);

    // The name again: a new experiment (201) whose version follows the deleted one's.
    const reapplied = await apply(t.adminToken, blockedAndDetected('To be deleted'), 'to-delete');
    expect(reapplied.statusCode).toBe(201);
    expect(reapplied.json().createdAt).toBe(reapplied.json().updatedAt);
    expect((await t.deps.store.experiments.get('to-delete'))?.version).toBe(2);
    const [applied] = await t.deps.store.ledger.page({ limit: 1, order: 'desc', kind: 'experiment.applied' });
    expect(JSON.parse(applied!.dataJson)).toMatchObject({ name: 'to-delete', version: 2 });
    expect((await t.app.inject({ url: '/v1/experiments/to-delete', headers: bearer(t.adminToken) })).statusCode).toBe(200);
    const rerun = await startRun(t.adminToken, 'to-delete', { vars: { target: targetUrl } });
    expect(rerun.statusCode).toBe(202);
    expect((await waitDone(rerun.json().run.id)).run.outcome).toBe('prevented');
  });

  it('answers 404 for an unknown name and 400 for something that is not a name, changing nothing', async () => {
    const before = (await t.deps.store.ledger.head()).size;
    const unknown = await del(t.adminToken, 'no-such-experiment');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'not_found', message: expect.stringContaining("no experiment 'no-such-experiment'") });
    const bad = await del(t.adminToken, 'Not_A_Name');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('invalid');
    expect((await t.deps.store.ledger.head()).size).toBe(before);
  });

  it('does not stop a run going on: it is named in the answer, finishes its course when stopped, and stays readable', async () => {
    expect((await apply(t.adminToken, slowWithRollback.replace('http://127.0.0.1:1', targetUrl), 'slow-deleted')).statusCode).toBe(201);
    const { run } = (await startRun(t.adminToken, 'slow-deleted')).json();
    await until('the slow request', () => hits.some((h) => h.runId === run.id && h.path === '/slow'), 10_000);
    const res = await del(t.adminToken, 'slow-deleted');
    expect(res.statusCode).toBe(200);
    expect(res.json().unfinished).toEqual([expect.objectContaining({ id: run.id, experiment: 'slow-deleted', state: 'running' })]);
    await sleep(100);
    expect((await t.deps.store.runs.get(run.id))?.state).toBe('running');
    const stop = await t.app.inject({ method: 'POST', url: `/v1/runs/${run.id}/stop`, headers: bearer(t.adminToken), payload: {} });
    expect(stop.statusCode).toBe(202);
    const done = await waitDone(run.id);
    expect(done.run.outcome).toBe('aborted');
    expect(hits.filter((h) => h.runId === run.id).map((h) => h.path)).toEqual(['/slow', '/rollback']);
  });
});
