/**
 * The step kinds that act on the rest of Bulwark and on the host, over a real SQLite file with a
 * fake clock: `process` (the experiments' allow-list and process provider, for real), `incident`
 * and `case` (the incidents capability's use cases, in the engine's transaction), `run-experiment`
 * (a run recorded in the experiments store, waited for), in auto, assisted and manual mode; and
 * sealed secrets by name, opened only when a step is executed: a marker value reaches the service
 * and the process, and is found nowhere in the database files afterwards.
 */
import { readFile, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { processProvider } from '../../adapters/providers/process.ts';
import { cliActor } from '../../core/ledger/actor.ts';
import type { ExecutableEntry } from '../../core/experiments/process-policy.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Store } from '../../store/store.ts';
import { ensureOrigin } from '../bootstrap.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { applyPlaybook } from './apply-playbook.ts';
import { PlaybookEngine, type EngineOptions } from './engine.ts';
import { cancelRun, completeStep, startRun } from './runs.ts';
import { fetchTransport } from './transport.ts';

const MARKER = 'mk-7f3c0d9e-sealed-value-never-stored';

let service: Server;
let base: string;
const seen: { key: string; auth: string }[] = [];
beforeAll(async () => {
  service = createServer((req, res) => {
    seen.push({ key: String(req.headers['idempotency-key']), auth: String(req.headers['authorization'] ?? '') });
    req.resume();
    // An echoing service: what it answers quotes the header it got.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ youSent: req.headers['authorization'] ?? null }));
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
});
afterAll(async () => {
  service.closeAllConnections();
  await new Promise((r) => service.close(r));
});

let dir: TmpDir;
let store: Store;
let deps: AppDeps;
let clock: ManualClock;
const alice = cliActor('alice');
const bob = cliActor('bob');
const ALLOW: ExecutableEntry[] = [
  '/bin/echo',
  '/bin/sleep',
  { path: '/bin/sh', env: [{ name: 'TOKEN' }], args: [{ patterns: ['-c', '/bin/echo .*'] }] },
];
const started: string[] = [];

const engine = (o: Partial<EngineOptions> = {}) =>
  new PlaybookEngine(deps, {
    transport: fetchTransport,
    random: () => 0.5,
    owner: 'e1',
    secrets: { resolve: async (name) => (name === 'api-token' ? MARKER : Promise.reject(new Error(`no sealed secret ${name}`))) },
    process: { allowExecutables: ALLOW, run: processProvider() },
    experiments: {
      start: async (req) => {
        const id = `exprun${String(started.length).padStart(10, '0')}`;
        started.push(req.name);
        const rec = {
          id,
          experiment: req.name,
          state: 'running' as const,
          outcome: null,
          reason: null,
          startedAt: clock.now().toISOString(),
          endedAt: null,
          leaseOwner: 'runner',
          leaseUntil: null,
          rollbacks: [],
          journal: {},
          ttdMs: null,
          dryRun: false,
        };
        await deps.store.runs.insert(rec);
        return rec;
      },
    },
    ...o,
  });

beforeEach(async () => {
  seen.length = 0;
  started.length = 0;
  dir = await tmpDir('bulwark-pb-kinds-');
  store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
  clock = new ManualClock();
  deps = { store, clock, keys: memoryKeyRing(), origin: await ensureOrigin(store) };
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

const pb = (steps: string) =>
  `apiVersion: bulwark/v1\nkind: Playbook\nname: kinds\ninputs:\n  host: { type: string, default: web-1 }\nsteps:\n${steps}`;

const ALL = {
  mayApprove: true,
  mayPrivileged: true,
  allowExecutables: ALLOW,
  mayWriteIncidents: true,
  mayRunExperiment: async () => true as const,
};
const apply = (steps: string, name = 'kinds') => applyPlaybook(deps, alice, pb(steps).replace('name: kinds', `name: ${name}`), ALL);

async function runToEnd(e = engine(), name = 'kinds') {
  const r = await startRun(deps, alice, name, { mayPrivileged: true });
  if (!('run' in r)) throw new Error('dry run');
  for (let i = 0; i < 20; i++) {
    await e.tick();
    const now = (await store.playbooks.getRun(r.run.id))!;
    if (now.state !== 'running') break;
    clock.advance(2_000);
  }
  return { run: (await store.playbooks.getRun(r.run.id))!, steps: await store.playbooks.steps(r.run.id) };
}

describe('process steps', () => {
  it('start an allow-listed executable with rendered arguments; its status and output are the outputs', async () => {
    await apply(`  - id: hello\n    mode: auto\n    process: { path: /bin/echo, arguments: ["restart", "\${{ inputs.host }}"] }\n`);
    const { run, steps } = await runToEnd();
    expect(run.state).toBe('succeeded');
    expect(steps[0]!.outputs).toEqual({ status: 0, stdout: 'restart web-1\n', stderr: '' });
    expect(steps[0]!.idempotencyKey).toBe(`${run.id}.hello`);
  });

  it('refuse what the allow-list does not allow, at apply and when the step runs, naming the config key', async () => {
    await expect(apply(`  - id: x\n    mode: auto\n    process: { path: /bin/cat, arguments: [/etc/passwd] }\n`)).rejects.toThrow(
      /\/bin\/cat, which is not on this server's allow-list experiments\.allowExecutables/,
    );
    await expect(
      applyPlaybook(deps, alice, pb(`  - id: x\n    process: { path: /bin/echo }\n`), { mayApprove: true, allowExecutables: ALLOW }),
    ).rejects.toThrow(/experiments:privileged/);
    // A path known only when the step runs is judged then.
    await apply(`  - id: x\n    mode: auto\n    process: { path: "\${{ '/bin/' + 'cat' }}" }\n`);
    const { run } = await runToEnd();
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(/\/bin\/cat, which is not on this server's allow-list experiments\.allowExecutables/);
  });

  it('stop when the run is cancelled', async () => {
    await apply(`  - id: long\n    mode: auto\n    timeout: 10m\n    process: { path: /bin/sleep, arguments: ["30"] }\n`);
    const r = await startRun(deps, alice, 'kinds', { mayPrivileged: true });
    if (!('run' in r)) throw new Error('dry run');
    const ticking = engine({ childPollMs: 20 }).tick();
    while ((await store.playbooks.steps(r.run.id))[0]?.state !== 'running') await new Promise((res) => setImmediate(res));
    await cancelRun(deps, bob, r.run.id);
    const t0 = performance.now();
    await ticking;
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect((await store.playbooks.getRun(r.run.id))!.state).toBe('cancelled');
  });

  it('fail on an exit status not expected, after the retries its policy gives', async () => {
    await apply(
      `  - id: x\n    mode: auto\n    retry: { attempts: 2, backoff: 1s }\n    process: { path: /bin/echo, arguments: [hi], expectStatus: [3] }\n`,
    );
    const { run, steps } = await runToEnd();
    expect(run.state).toBe('failed');
    expect(steps[0]!.attempts).toBe(2);
    expect(run.reason).toMatch(/exited with status 0/);
  });
});

describe('starting a run of a playbook that starts processes', () => {
  it("needs experiments:privileged of the person, also through a playbook it calls; a trigger's run is the applier's", async () => {
    await apply(`  - id: hello\n    mode: auto\n    process: { path: /bin/echo, arguments: ["restart", "\${{ inputs.host }}"] }\n`);
    await expect(startRun(deps, alice, 'kinds')).rejects.toThrow(/playbook kinds starts processes .*experiments:privileged/);
    await applyPlaybook(
      deps,
      alice,
      `apiVersion: bulwark/v1\nkind: Playbook\nname: caller\nsteps:\n  - id: call\n    mode: auto\n    playbook: { name: kinds }\n`,
      { mayApprove: true },
    );
    await expect(startRun(deps, alice, 'caller')).rejects.toThrow(/playbook kinds \(called by caller\) starts processes/);
    expect(await store.playbooks.listRuns({ limit: 10 })).toHaveLength(0);
    const r = await startRun(deps, alice, 'kinds', { mayPrivileged: true });
    expect('run' in r).toBe(true);
  });
});

describe('incident and case steps', () => {
  const STEPS = `  - id: open
    mode: auto
    incident: { open: { title: "Credential stuffing on \${{ inputs.host }}", severity: SEV2, priority: P2 } }
  - id: note
    mode: assisted
    incident: { note: { incident: "\${{ steps.open.incident }}", text: "blocked the source ranges" } }
  - id: task
    mode: auto
    incident: { task: { incident: "\${{ steps.open.incident }}", title: "rotate the exposed keys", dueIn: 4h } }
  - id: mitigate
    mode: manual
    incident: { status: { incident: "\${{ steps.open.incident }}", to: mitigated } }
  - id: resolve
    mode: auto
    incident: { status: { incident: "\${{ steps.open.incident }}", to: resolved, note: "verified" } }
`;

  it('open, note, task and status through the incidents use cases, once each, in every mode', async () => {
    await apply(STEPS);
    const r = await runToEnd();
    // The assisted note waits for a confirmation; then Bulwark does it.
    expect(r.run.state).toBe('waiting');
    await completeStep(deps, bob, r.run.id, 'note', { outcome: 'confirmed' });
    const e = engine();
    await e.tick();
    // The manual status change is done by a person, who records it.
    expect((await store.playbooks.getRun(r.run.id))!.state).toBe('waiting');
    await completeStep(deps, bob, r.run.id, 'mitigate', { outcome: 'done', notes: 'set by hand', timeSpentMs: 60_000 });
    await e.tick();
    await engine({ owner: 'e2' }).tick(); // another engine (a restart) finds nothing left to do
    const run = (await store.playbooks.getRun(r.run.id))!;
    expect(run.state).toBe('succeeded');
    const steps = await store.playbooks.steps(r.run.id);
    const id = (steps[0]!.outputs as { incident: number }).incident;
    const incident = (await store.incidents.getIncident(id))!;
    expect(incident.title).toBe('Credential stuffing on web-1');
    expect(incident.status).toBe('resolved');
    const tasks = await store.incidents.tasks(id);
    expect(tasks.map((t) => t.title)).toEqual(['rotate the exposed keys']);
    expect(Date.parse(tasks[0]!.dueAt!) - Date.parse(tasks[0]!.createdAt)).toBe(4 * 3_600_000);
    const kinds = (await store.incidents.timeline(`incident:${id}`, { limit: 100 })).map((t) => t.kind);
    expect(kinds.filter((k) => k === 'incident.note')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'incident.task.added')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'incident.status.changed')).toHaveLength(1); // resolved (mitigated was by hand)
  });

  it('a refusal of the incidents capability fails the step with its message, and changes nothing', async () => {
    await apply(`  - id: note\n    mode: auto\n    incident: { note: { incident: 999, text: hello } }\n`);
    const { run } = await runToEnd();
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(/incident 999/);
    await apply(`  - id: c\n    mode: auto\n    case: { close: { case: "not-a-number", resolution: benign } }\n`);
    expect((await runToEnd()).run.reason).toMatch(/not a case number/);
  });

  it('applying them needs incidents:write; each playbook acts as itself and reaches only the restricted incidents it opened', async () => {
    const open = `  - id: open
    mode: auto
    incident: { open: { title: secret, severity: SEV1, priority: P1, restricted: true } }
`;
    for (const steps of [
      open,
      `  - id: c
    mode: manual
    case: { close: { case: 1, resolution: benign } }
`,
    ])
      await expect(applyPlaybook(deps, alice, pb(steps), { ...ALL, mayWriteIncidents: false })).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringMatching(/act on incidents or cases; to apply the playbook the token needs the permission incidents:write/),
      });
    expect(await store.playbooks.get('kinds')).toBeUndefined();
    await apply(open);
    const first = await runToEnd();
    expect(first.run.state).toBe('succeeded');
    const id = (first.steps[0]!.outputs as { incident: number }).incident;
    const note = (pb: string) => `  - id: note
    mode: auto
    incident: { note: { incident: ${id}, text: "from ${pb}" } }
`;
    await apply(note('other'), 'other');
    const other = await runToEnd(engine(), 'other');
    expect(other.run.state).toBe('failed');
    expect(other.run.reason).toMatch(new RegExp(`incident ${id}`));
    await apply(open + note('kinds'));
    expect((await runToEnd()).run.state).toBe('succeeded');
    const timeline = await store.incidents.timeline(`incident:${id}`, { limit: 100 });
    // The playbook that opened it (a participant as playbook:kinds) still reaches it; the other one's note is not there.
    expect(timeline.filter((t) => t.kind === 'incident.note')).toHaveLength(1);
    expect(JSON.stringify(timeline)).not.toContain('from other');
  });
});

describe('run-experiment steps', () => {
  it('start a run, wait for its outcome, and give outcome and ttdMs; an unexpected outcome fails', async () => {
    await apply(
      `  - id: verify\n    mode: auto\n    run-experiment: { name: waf-blocks-sqli, expect: [prevented, detected], within: 10m }\n`,
    );
    const r = await startRun(deps, alice, 'kinds');
    if (!('run' in r)) throw new Error('dry run');
    const e = engine();
    await e.tick();
    await e.tick();
    expect(started).toEqual(['waf-blocks-sqli']);
    const exp = (await store.playbooks.steps(r.run.id))[0]!.outputs as { run: string };
    await store.runs.update(exp.run, 'runner', { state: 'done', outcome: 'detected', ttdMs: 1234, endedAt: clock.now().toISOString() });
    clock.advance(2_000);
    await e.tick();
    const steps = await store.playbooks.steps(r.run.id);
    expect(steps[0]!.outputs).toMatchObject({ run: exp.run, outcome: 'detected', ttdMs: 1234 });
    expect(started).toHaveLength(1);
    expect((await store.playbooks.getRun(r.run.id))!.state).toBe('succeeded');

    const r2 = await startRun(deps, alice, 'kinds');
    if (!('run' in r2)) throw new Error('dry run');
    await e.tick();
    const exp2 = (await store.playbooks.steps(r2.run.id))[0]!.outputs as { run: string };
    await store.runs.update(exp2.run, 'runner', { state: 'done', outcome: 'missed', endedAt: clock.now().toISOString() });
    clock.advance(2_000);
    await e.tick();
    expect((await store.playbooks.getRun(r2.run.id))!.reason).toMatch(/ended missed; this step expects prevented or detected/);
  });

  it('a crash between the start of the experiment run and its record does not start a second run on resume', async () => {
    await apply(`  - id: verify\n    mode: auto\n    run-experiment: { name: waf-blocks-sqli }\n`);
    const r = await startRun(deps, alice, 'kinds');
    if (!('run' in r)) throw new Error('dry run');
    // The first engine starts the experiment run and stops before recording it (its start never returns).
    const crashing = engine({
      experiments: {
        start: () => {
          started.push('waf-blocks-sqli');
          return new Promise<never>(() => {});
        },
      },
    });
    void crashing.tick();
    for (let i = 0; i < 50 && started.length === 0; i++) await new Promise((res) => setImmediate(res));
    expect(started).toHaveLength(1);
    clock.advance(120_000); // its lease runs out; another engine takes the run
    await engine({ owner: 'e2' }).tick();
    expect(started).toHaveLength(1);
    const run = (await store.playbooks.getRun(r.run.id))!;
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(
      /experiment waf-blocks-sqli may have been started at .* it is not started again: .*bulwark runs list --experiment waf-blocks-sqli/,
    );
  });

  it('applying one needs the applier to be allowed to run that experiment (asked for the named one)', async () => {
    const step = `  - id: v
    mode: manual
    run-experiment: { name: team-b-exp }
`;
    const asked: string[] = [];
    const onlyTeamA = async (name: string) => (
      asked.push(name),
      name.startsWith('team-a-') ? (true as const) : 'the condition does not hold'
    );
    await expect(applyPlaybook(deps, alice, pb(step), { ...ALL, mayRunExperiment: onlyTeamA })).rejects.toMatchObject({
      code: 'forbidden',
      message:
        'step v runs experiment team-b-exp; to apply the playbook the token must be allowed to run it (experiments:run): the condition does not hold',
    });
    expect(asked).toEqual(['team-b-exp']);
    const without = { mayApprove: true, mayPrivileged: true, allowExecutables: ALLOW, mayWriteIncidents: true };
    await expect(applyPlaybook(deps, alice, pb(step), without)).rejects.toMatchObject({ code: 'forbidden' });
    await applyPlaybook(deps, alice, pb(step.replace('team-b-', 'team-a-')), { ...ALL, mayRunExperiment: onlyTeamA });
  });
});

describe('secrets by name', () => {
  it('are opened only when the step runs: the service and the process get the value, and no database file holds it', async () => {
    await apply(`  - id: call
    mode: auto
    http: { url: "${base}/block", headers: { Authorization: { secret: api-token } }, body: { host: "\${{ inputs.host }}" } }
  - id: each
    mode: auto
    forEach: { items: "[1, 2]", do: { http: { url: "${base}/each", headers: { Authorization: { type: sealed, name: api-token } } } } }
  - id: script
    mode: auto
    process: { path: /bin/echo, arguments: "got $TOKEN", env: { TOKEN: { secret: api-token } } }
`);
    // The process line runs through /bin/sh -c "PATH LINE": its allow-list entry sees that.
    const { run, steps } = await runToEnd();
    expect(run.state, run.reason ?? '').toBe('succeeded');
    expect(seen.map((s) => s.auth)).toEqual([MARKER, MARKER, MARKER]);
    expect(JSON.stringify(steps.map((s) => s.outputs))).not.toContain(MARKER);
    expect((steps[0]!.outputs as { body: unknown }).body).toEqual({ youSent: '[sealed secret api-token]' });
    expect((steps[2]!.outputs as { stdout: string }).stdout).toContain('[sealed secret api-token]');
    // The dry run names the secret, never its value.
    const plan = await startRun(deps, alice, 'kinds', { dryRun: true });
    expect(JSON.stringify(plan)).not.toContain(MARKER);
    await store.close();
    for (const f of await readdir(dir.path)) expect((await readFile(path.join(dir.path, f))).includes(MARKER), f).toBe(false);
    store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
  });

  it('applying a playbook that names one needs experiments:privileged: it sends the value where the playbook says', async () => {
    const header = `  - id: call
    mode: manual
    http: { url: "${base}/x", headers: { Authorization: { secret: api-token } } }
`;
    const inEach = `  - id: each
    mode: manual
    forEach: { items: "[1]", do: { http: { url: "${base}/x", headers: { X: { secret: api-token } } } } }
`;
    for (const steps of [header, inEach])
      await expect(applyPlaybook(deps, alice, pb(steps), { ...ALL, mayPrivileged: false })).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringMatching(
          /name sealed secrets \(api-token\) and send them where the playbook says; .* experiments:privileged/,
        ),
      });
    expect(await store.playbooks.get('kinds')).toBeUndefined();
  });

  it('a secret that cannot be opened fails the step naming it, before anything is sent', async () => {
    await apply(`  - id: call\n    mode: auto\n    http: { url: "${base}/x", headers: { Authorization: { secret: missing-one } } }\n`);
    const { run } = await runToEnd();
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(/sealed secret missing-one, which cannot be opened/);
    expect(seen).toHaveLength(0);
  });
});
