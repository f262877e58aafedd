/**
 * Playbooks over HTTP, in process: apply (versions kept), a run with a manual step completed from
 * "my checklist", the toil report proposing automation after two manual completions, a promotion
 * that the requester cannot approve and a second person can, after which the next run does the
 * step by itself. Bad input is refused naming what to fix. Then, on the same in-process server
 * (one app for the three, to keep the suite's time down): `bulwark playbooks …` in process over
 * loopback, and the demo's playbook started by the shop's report through the serve job.
 */
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { Command } from 'commander';
import pino from 'pino';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { createToken } from '../../app/access/tokens.ts';
import { systemActor } from '../../core/ledger/actor.ts';
import { playbookJobs } from '../../cli/jobs/playbooks.ts';
import type { JobContext } from '../../cli/jobs-part.ts';
import { playbookCommands } from '../../cli/playbooks.ts';
import type { DemoEvent } from '../../demo/audit.ts';
import { DEMO_PLAYBOOK, startDemoPlaybook } from '../../demo/playbooks.ts';

let t: TestApp;
let svc: Server;
let url: string;
const seen: string[] = [];
let bobToken: string;
let shopCalls = 0;

beforeAll(async () => {
  svc = createServer((req, res) => {
    if (req.url?.startsWith('/shop')) shopCalls++;
    else seen.push(String(req.headers['idempotency-key']));
    req.resume();
    req.on('end', () => res.end('{"ok":true}'));
  });
  await new Promise<void>((r) => svc.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(svc.address() as AddressInfo).port}/restart`;
  t = await makeTestApp();
  bobToken = (await createToken(t.deps, systemActor('test'), { name: 'bob', kind: 'person', admin: true })).token;
});
afterAll(async () => {
  await t?.close();
  await new Promise((r) => svc.close(r));
});

const FILE = () => `apiVersion: bulwark/v1
kind: Playbook
name: restart-proxy
title: Restart the proxy
inputs:
  host: { type: string, required: true }
steps:
  - id: restart
    title: Restart the proxy
    mode: manual
    instructions: systemctl restart proxy on the host
    http: { url: "${url}", body: { host: "\${{ inputs.host }}" } }
  - id: done
    set: { ok: "true" }
`;

const call = (method: 'GET' | 'POST', path: string, body?: unknown, token = t.adminToken) =>
  t.app.inject({ method, url: path, headers: bearer(token), ...(body !== undefined ? { payload: body as object } : {}) });

async function runOnce(): Promise<{ id: string; waited: boolean }> {
  const r = await call('POST', '/v1/playbooks/restart-proxy/runs', { inputs: { host: 'edge-1' } });
  expect(r.statusCode, r.body).toBe(201);
  const id = r.json<{ id: string }>().id;
  await t.playbooks.engine.tick();
  const list = (await call('GET', '/v1/playbook-checklist')).json<{ steps: { run: string; id: string; mine: boolean }[] }>().steps;
  const mine = list.find((s) => s.run === id);
  if (mine) {
    expect(mine).toMatchObject({ id: 'restart', mine: true });
    const c = await call('POST', `/v1/playbook-runs/${id}/steps/restart/complete`, {
      outcome: 'done',
      notes: 'restarted',
      timeSpentMs: 300_000,
    });
    expect(c.statusCode, c.body).toBe(200);
    await t.playbooks.engine.tick();
  }
  const run = (await call('GET', `/v1/playbook-runs/${id}`)).json<{ state: string; steps: { state: string }[] }>();
  expect(run.state).toBe('succeeded');
  return { id, waited: mine !== undefined };
}

describe('playbook routes', () => {
  it('applies a file, keeps each version, and refuses a bad one naming the line', async () => {
    const a = await call('POST', '/v1/playbooks', { file: FILE() });
    expect(a.statusCode, a.body).toBe(201);
    expect(a.json()).toMatchObject({
      name: 'restart-proxy',
      version: 1,
      steps: [
        { id: 'restart', mode: 'manual' },
        { id: 'done', mode: 'auto' },
      ],
    });
    const again = await call('POST', '/v1/playbooks', { file: FILE() });
    expect(again.statusCode).toBe(200);
    const bad = await call('POST', '/v1/playbooks', { file: FILE().replace('mode: manual', 'mode: sometimes') });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ message: string }>().message).toMatch(/line 10, column 11 \(steps\.0\.mode\)/);
    const dry = await call('POST', '/v1/playbooks/restart-proxy/runs', { inputs: { host: 'edge-9' }, dryRun: true });
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({ dryRun: true, steps: [{ id: 'restart', request: { body: { host: 'edge-9' } } }, { id: 'done' }] });
    expect((await call('POST', '/v1/playbooks/restart-proxy/runs', { inputs: {} })).statusCode).toBe(400);
    expect((await call('GET', '/v1/playbooks/nope')).statusCode).toBe(404);
  });

  it('done by hand twice is proposed for automation; a second person approves; the next run does it by itself', async () => {
    expect((await runOnce()).waited).toBe(true);
    expect((await call('GET', '/v1/playbook-toil')).json<{ proposals: unknown[] }>().proposals).toEqual([]);
    expect((await runOnce()).waited).toBe(true);
    const toil = (await call('GET', '/v1/playbook-toil')).json<{ rows: unknown[]; proposals: unknown[]; totals: unknown }>();
    expect(toil.rows).toEqual([
      expect.objectContaining({ playbook: 'restart-proxy', stepId: 'restart', mode: 'manual', done: 2, timeSpentMs: 600_000 }),
    ]);
    expect(toil.proposals).toEqual([expect.objectContaining({ step: 'restart', manualDone: 2, threshold: 2, pending: null })]);
    expect(seen).toEqual([]); // done by hand: nothing was sent

    const p = await call('POST', '/v1/playbooks/restart-proxy/steps/restart/promotions');
    expect(p.statusCode, p.body).toBe(201);
    const id = p.json<{ id: string }>().id;
    const self = await call('POST', `/v1/playbook-promotions/${id}/approve`);
    expect(self.statusCode).toBe(403);
    expect(self.json<{ message: string }>().message).toMatch(/never the requester/);
    const ok = await call('POST', `/v1/playbook-promotions/${id}/approve`, undefined, bobToken);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ state: 'approved', version: 2 });
    const pb = (await call('GET', '/v1/playbooks/restart-proxy')).json<{
      version: number;
      steps: { mode: string }[];
      versions: unknown[];
      file: string;
    }>();
    expect(pb).toMatchObject({ version: 2, steps: [{ mode: 'auto' }, { mode: 'auto' }] });
    expect(pb.versions).toHaveLength(2);

    const third = await runOnce();
    expect(third.waited).toBe(false);
    expect(seen).toEqual([`${third.id}.restart`]);
    const again = await call('POST', `/v1/playbook-promotions/${id}/reject`, undefined, bobToken);
    expect(again.statusCode).toBe(409);
  });

  it('pauses, resumes and cancels over HTTP, and refuses a malformed run id', async () => {
    const r = (await call('POST', '/v1/playbooks/restart-proxy/runs', { inputs: { host: 'x' } })).json<{ id: string }>();
    expect((await call('POST', `/v1/playbook-runs/${r.id}/pause`)).json()).toMatchObject({ state: 'paused' });
    expect((await call('POST', `/v1/playbook-runs/${r.id}/pause`)).statusCode).toBe(409);
    expect((await call('POST', `/v1/playbook-runs/${r.id}/resume`)).json()).toMatchObject({ state: 'running' });
    expect((await call('POST', `/v1/playbook-runs/${r.id}/cancel`)).json()).toMatchObject({ state: 'cancelled' });
    expect((await call('GET', '/v1/playbook-runs/nope')).statusCode).toBe(400);
    expect((await call('GET', '/v1/playbook-runs?playbook=restart-proxy&state=cancelled')).json<{ runs: unknown[] }>().runs).toHaveLength(
      1,
    );
  });
});

const FIXTURE = path.join(import.meta.dirname, '../../../test/fixtures/playbooks/block-ip.yaml');
let cliUrl: string;

async function cli(...args: string[]): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  try {
    const program = new Command('bulwark').exitOverride();
    playbookCommands(program);
    const remoteCmd = !['validate'].includes(args[0]!);
    await program.parseAsync(['node', 'bulwark', 'playbooks', ...args, ...(remoteCmd ? ['--url', cliUrl, '--token', t.adminToken] : [])]);
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

describe('the two-person rule on apply and promotion', () => {
  const TWO = (restartMode: string, extra = '') => `apiVersion: bulwark/v1
kind: Playbook
name: two-person
steps:
  - id: restart
    mode: ${restartMode}
    http: { url: "${url}" }
${extra}`;

  it('refuses a re-apply that makes a manual step auto (409, pointing at promote) and a new auto step without playbooks:approve (403)', async () => {
    const writer = (
      await createToken(t.deps, systemActor('test'), { name: 'wendy', kind: 'person', scopes: ['playbooks:read', 'playbooks:write'] })
    ).token;
    expect((await call('POST', '/v1/playbooks', { file: TWO('manual') }, writer)).statusCode).toBe(201);
    for (const token of [writer, t.adminToken]) {
      const up = await call('POST', '/v1/playbooks', { file: TWO('auto') }, token);
      expect(up.statusCode, up.body).toBe(409);
      expect(up.json<{ message: string }>().message).toMatch(/bulwark playbooks promote two-person restart/);
    }
    const newAuto = `  - id: page\n    mode: auto\n    notify: { url: "${url}", message: hi }\n`;
    const denied = await call('POST', '/v1/playbooks', { file: TWO('assisted', newAuto) }, writer);
    expect(denied.statusCode, denied.body).toBe(403);
    expect(denied.json<{ message: string }>().message).toMatch(/playbooks:approve/);
    expect((await call('GET', '/v1/playbooks/two-person')).json<{ version: number }>().version).toBe(1);
    // Changing a manual step to assisted is fine; an approver may add a new automatic step.
    expect((await call('POST', '/v1/playbooks', { file: TWO('assisted') }, writer)).statusCode).toBe(200);
    expect((await call('POST', '/v1/playbooks', { file: TWO('assisted', newAuto) })).statusCode).toBe(200);
  });

  it('refuses a playbook whose steps do what its applier may not: incidents, experiments, sealed secrets (403 naming the permission)', async () => {
    const writer = (
      await createToken(t.deps, systemActor('test'), { name: 'walt', kind: 'person', scopes: ['playbooks:read', 'playbooks:write'] })
    ).token;
    const pb = (step: string) => `apiVersion: bulwark/v1\nkind: Playbook\nname: reach\nsteps:\n  - id: s\n    mode: manual\n${step}`;
    const cases: [string, RegExp][] = [
      [`    case: { close: { case: 1, resolution: benign } }\n`, /incidents:write/],
      [
        `    run-experiment: { name: someone-elses }\n`,
        /runs experiment someone-elses; .*token "walt" lacks the permission experiments:run/,
      ],
      [
        `    http: { url: "${url}", headers: { Authorization: { secret: api-token } } }\n`,
        /sealed secrets \(api-token\).*experiments:privileged/,
      ],
    ];
    for (const [step, why] of cases) {
      const res = await call('POST', '/v1/playbooks', { file: pb(step) }, writer);
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json<{ message: string }>().message).toMatch(why);
      // An admin holds them all: the same file applies.
      expect([200, 201]).toContain((await call('POST', '/v1/playbooks', { file: pb(step) })).statusCode);
    }
  });

  it('refuses to approve a promotion once the playbook has moved to another version (409)', async () => {
    const file = TWO('manual').replace('name: two-person', 'name: two-person-b');
    expect((await call('POST', '/v1/playbooks', { file })).statusCode).toBe(201);
    const p = await call('POST', '/v1/playbooks/two-person-b/steps/restart/promotions');
    expect(p.statusCode, p.body).toBe(201);
    const id = p.json<{ id: string }>().id;
    // A different file (another URL) applied after the request: the approver never saw it.
    const moved = file.replace('/restart', '/elsewhere');
    expect((await call('POST', '/v1/playbooks', { file: moved })).statusCode).toBe(200);
    const ok = await call('POST', `/v1/playbook-promotions/${id}/approve`, undefined, bobToken);
    expect(ok.statusCode, ok.body).toBe(409);
    expect(ok.json<{ message: string }>().message).toMatch(/requested on version 1 .* now at version 2/);
    const pb = (await call('GET', '/v1/playbooks/two-person-b')).json<{ version: number; steps: { mode: string }[] }>();
    expect(pb).toMatchObject({ version: 2, steps: [{ mode: 'manual' }] });
  });
});

describe('bulwark playbooks', () => {
  beforeAll(async () => {
    cliUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });

  it('validates a file, and names the line of an error', async () => {
    expect(await cli('validate', FIXTURE)).toMatch(/block-sqli-source: .* 5 steps, triggered by signal.labels.alertname/);
    await expect(cli('validate', path.join(import.meta.dirname, '../../core/playbooks/permissions.ts'))).rejects.toThrow(
      /permissions.ts:\d+:\d+: /,
    );
  });

  it('applies, runs, shows the checklist item, records it done, and reports the toil', async () => {
    expect(await cli('apply', FIXTURE)).toMatch(/applied block-sqli-source \(version 1\)/);
    expect(await cli('list')).toMatch(/block-sqli-source .* v1 .*block:auto/);
    expect(await cli('run', 'block-sqli-source', '--input', 'ip=10.0.0.7', '--dry-run')).toMatch(
      /POST http:\/\/127.0.0.1:9\/v1\/blocklist/,
    );
    const started = await cli('run', 'block-sqli-source', '--input', 'ip=10.0.0.7');
    const id = /started (pbr_[a-z0-9]{16})/.exec(started)![1]!;
    // The block step calls port 9 (discard, closed here): make it a manual step's turn by skipping ahead.
    await t.deps.store.playbooks.updateStep(id, 0, { state: 'done', outputs: { status: 200, body: { got: null } } });
    await t.deps.store.playbooks.updateRun(id, { cursor: 1 });
    await t.playbooks.engine.tick();
    const shown = await cli('show-run', id);
    expect(shown).toMatch(/verify_logs .* waiting/);
    expect(shown).toMatch(/\[ \] Search the access log for the user agent/);
    expect(await cli('complete-step', id, 'verify_logs', '--outcome', 'done', '--time', '10m', '--notes', 'nothing else')).toMatch(
      /recorded verify_logs done/,
    );
    expect(await cli('runs', '--playbook', 'block-sqli-source')).toContain(id);
    expect(await cli('toil')).toMatch(/verify_logs +manual +1 done, 0 failed, 10 min/);
  });
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
      await startDemoPlaybook(t.deps, `${url.replace('/restart', '/shop')}`, sink, new Date());
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
      expect(shopCalls).toBe(1);
      // A restart of the demo resends the same report: no second run.
      await startDemoPlaybook(t.deps, `${url.replace('/restart', '/shop')}`, sink, new Date());
      expect(await t.deps.store.playbooks.listRuns({ playbook: DEMO_PLAYBOOK, limit: 5 })).toHaveLength(1);
    } finally {
      await job.stop();
    }
  });
});

describe('CACAO over the API', () => {
  it('imports a CACAO playbook to a file, applies it, exports it; refuses what cannot be mapped, naming it', async () => {
    const { readFile } = await import('node:fs/promises');
    const cacao = await readFile(path.join(import.meta.dirname, '../../../test/fixtures/cacao/soarca-manual-playbook.json'), 'utf8');
    const imported = await call('POST', '/v1/playbooks/import-cacao', { cacao });
    expect(imported.statusCode, imported.body).toBe(200);
    const { name, file } = imported.json<{ name: string; file: string }>();
    expect(name).toBe('cacao-example-manual');
    expect((await call('POST', '/v1/playbooks', { file })).statusCode).toBe(201);
    const exported = await call('GET', `/v1/playbooks/${name}/cacao`);
    expect(exported.statusCode, exported.body).toBe(200);
    expect(exported.json()).toMatchObject({ type: 'playbook', spec_version: 'cacao-2.0', name: 'Example manual' });

    const refused = await call('POST', '/v1/playbooks/import-cacao', { cacao: cacao.replace('"type": "manual"', '"type": "bash"') });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toMatch(/a bash command cannot be mapped/);
    const notExportable = await call('GET', '/v1/playbooks/restart-proxy/cacao');
    expect(notExportable.statusCode).toBe(409);
    expect(notExportable.body).toMatch(/step done: a set step has no CACAO counterpart/);
    expect((await call('GET', '/v1/playbooks/nope/cacao')).statusCode).toBe(404);
  });
});
