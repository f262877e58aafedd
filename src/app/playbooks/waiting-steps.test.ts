/**
 * Steps that wait for others, over a real SQLite file with a fake clock: an `approval` step asks
 * Access for a multi-party approval and the run waits with nothing in memory (a second engine, a
 * restart, picks it up), resumes when approved (the approval consumed once), fails when denied or
 * expired; a `wait` for a signal resumes on a matching signal and times out when none comes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import type { Principal } from '../../core/access/permissions.ts';
import { cliActor, systemActor } from '../../core/ledger/actor.ts';
import type { SignalRecord } from '../../store/signals/port.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Store } from '../../store/store.ts';
import { decideApproval, listApprovals } from '../access/approvals.ts';
import { ensureOrigin } from '../bootstrap.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { applyPlaybook } from './apply-playbook.ts';
import { PlaybookEngine } from './engine.ts';
import { cancelRun, completeStep, MAX_CALL_DEPTH, pauseRun, resumeRun, startRun } from './runs.ts';
import { resumeSignalWaits } from './signal-waits.ts';
import { fetchTransport, type HttpTransport } from './transport.ts';

let dir: TmpDir;
let store: Store;
let deps: AppDeps;
let clock: ManualClock;
const alice = cliActor('alice');
const noHttp: HttpTransport = { send: () => Promise.reject(new Error('no http in these tests')) };
const engine = (owner = 'engine-1') => new PlaybookEngine(deps, { transport: noHttp, random: () => 0.5, owner, approvalPollMs: 10_000 });

beforeEach(async () => {
  dir = await tmpDir('bulwark-pbw-');
  store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
  clock = new ManualClock();
  deps = { store, clock, keys: memoryKeyRing(), origin: await ensureOrigin(store) };
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

const file = (steps: string) => `apiVersion: bulwark/v1
kind: Playbook
name: rollback
inputs:
  service: { type: string, default: checkout }
steps:
${steps}`;

async function start(steps: string) {
  await applyPlaybook(deps, alice, file(steps));
  const r = await startRun(deps, alice, 'rollback', {});
  if (!('run' in r)) throw new Error('not started');
  return r.run.id;
}

const person = (id: string): Principal => ({ id, name: id, kind: 'person', tokenId: `tok-${id}`, tokenName: id, scopes: [] });
const kinds = async () =>
  (await store.ledger.page({ limit: 200, order: 'asc' })).map((e) => e.kind).filter((k) => /^(playbook|approval)\./.test(k));

const APPROVAL = `  - id: ask
    approval:
      summary: "Roll back \${{ inputs.service }}"
      rules: [{ count: 2 }]
      expiresIn: 1h
  - id: after
    set: { ok: "steps.ask.state == 'executed'" }
`;

describe('an approval step', () => {
  it('asks Access, waits holding nothing across a restart, and goes on once approved, consuming the approval once', async () => {
    const id = await start(APPROVAL);
    await engine('first').tick();
    const [req] = await listApprovals(deps);
    expect(req).toMatchObject({
      kind: 'playbook.step',
      resource: `playbook-run:${id}/ask`,
      summary: 'Roll back checkout',
      requestedBy: 'alice',
      state: 'pending',
    });
    let run = (await store.playbooks.getRun(id))!;
    expect(run).toMatchObject({ state: 'running', cursor: 0, leaseOwner: null, wakeAt: '2026-01-02T03:04:15.000Z' });
    expect((await store.playbooks.steps(id))[0]).toMatchObject({ state: 'running', outputs: { approval: req!.id, state: 'pending' } });

    // A restart: another engine looks at the due run; still pending, it sleeps again, asking nothing new.
    clock.advance(10_000);
    await decideApproval(deps, person('bob'), alice, req!.id, 'approve', { reason: 'looks right' });
    expect(await engine('second').tick()).toBe(1);
    expect(await listApprovals(deps)).toHaveLength(1);
    expect((await store.playbooks.getRun(id))!.state).toBe('running');

    await decideApproval(deps, person('carol'), alice, req!.id, 'approve', { reason: 'fine' });
    clock.advance(10_000);
    await engine('second').tick();
    run = (await store.playbooks.getRun(id))!;
    expect(run).toMatchObject({ state: 'succeeded' });
    const steps = await store.playbooks.steps(id);
    expect(steps[0]).toMatchObject({ state: 'done', outputs: { approval: req!.id, state: 'executed', approvedBy: ['bob', 'carol'] } });
    expect(steps[1]).toMatchObject({ state: 'done', outputs: { ok: true } });
    expect((await listApprovals(deps))[0]!.state).toBe('executed');
    expect(await kinds()).toEqual([
      'playbook.applied',
      'playbook.run.started',
      'playbook.step.started',
      'approval.requested',
      'playbook.step.approval-requested',
      'approval.decided',
      'approval.decided',
      'approval.executed',
      'playbook.step.finished',
      'playbook.step.finished',
      'playbook.run.finished',
    ]);
  });

  it('fails the step when denied, and when it expires without enough approvals', async () => {
    const denied = await start(APPROVAL);
    await engine().tick();
    const [req] = await listApprovals(deps);
    await decideApproval(deps, person('bob'), alice, req!.id, 'deny', { reason: 'not during the freeze' });
    clock.advance(10_000);
    await engine().tick();
    expect(await store.playbooks.getRun(denied)).toMatchObject({ state: 'failed' });
    expect((await store.playbooks.steps(denied))[0]!.error).toMatch(/denied by bob \(not during the freeze\)/);

    const r = await startRun(deps, alice, 'rollback', {});
    const expiring = 'run' in r ? r.run.id : '';
    await engine().tick();
    clock.advance(59 * 60_000);
    await engine().tick();
    expect((await store.playbooks.getRun(expiring))!.state).toBe('running');
    clock.advance(60_000);
    await engine().tick();
    expect(await store.playbooks.getRun(expiring)).toMatchObject({ state: 'failed' });
    expect((await store.playbooks.steps(expiring))[0]!.error).toMatch(/expired at .* without enough approvals/);
  });

  it("names the run's starter as the requester, so they never approve it; a signal's run, who applied the version", async () => {
    const id = await start(APPROVAL);
    await engine().tick();
    const [mine] = await listApprovals(deps);
    await expect(decideApproval(deps, person('alice'), alice, mine!.id, 'approve', { reason: 'my own' })).rejects.toThrow(
      /someone else must approve it/,
    );
    expect((await store.playbooks.getRun(id))!.startedById).toBe('alice');

    // bob applies the next version; a run a signal starts is bob's: bob cannot approve it, alice can.
    await applyPlaybook(deps, cliActor('bob'), file(APPROVAL.replace('Roll back', 'Roll')));
    const r = await startRun(deps, systemActor('playbooks-trigger'), 'rollback', { trigger: { id: 'sig_x' } });
    const bySignal = 'run' in r ? r.run.id : '';
    await engine().tick();
    const req = (await listApprovals(deps)).find((a) => a.resource === `playbook-run:${bySignal}/ask`)!;
    expect(req.requestedBy).toBe('bob');
    await expect(decideApproval(deps, person('bob'), alice, req.id, 'approve', { reason: 'mine' })).rejects.toThrow(/someone else/);
    await decideApproval(deps, person('alice'), alice, req.id, 'approve', { reason: 'fine' });

    // A called playbook's run is its parent's starter's: carol starts the parent, carol is the requester.
    await applyPlaybook(deps, alice, named('outer', `  - id: call\n    playbook: { name: rollback }\n`));
    const outer = await startRun(deps, cliActor('carol'), 'outer', {});
    await engine().tick();
    await engine().tick();
    const child = ((await store.playbooks.steps('run' in outer ? outer.run.id : ''))[0]!.outputs as { run: string }).run;
    expect((await store.playbooks.getRun(child))!.startedById).toBe('carol');
    expect((await listApprovals(deps)).find((a) => a.resource === `playbook-run:${child}/ask`)!.requestedBy).toBe('carol');
  });

  it('is refused in any mode but auto, and without rules', async () => {
    await expect(
      applyPlaybook(deps, alice, file(`  - id: ask\n    mode: manual\n    approval: { rules: [{ count: 1 }] }\n`)),
    ).rejects.toThrow(/approval step waits for its approvers/);
    await expect(applyPlaybook(deps, alice, file(`  - id: ask\n    approval: { rules: [] }\n`))).rejects.toThrow(/at least one rule/);
  });
});

let n = 0;
const signal = (labels: Record<string, string>, resolved = false): SignalRecord => {
  n++;
  return {
    id: `sig_${n}`,
    source: 'alertmanager',
    time: clock.now().toISOString(),
    receivedAt: clock.now().toISOString(),
    severity: 'high',
    labels,
    body: {},
    fingerprint: `fp${n}`,
    resolved,
    rawDigest: 'x',
  };
};

const WAIT = (onTimeout = 'fail') => `  - id: recovered
    wait:
      signal: signal.resolved && signal.labels.service == inputs.service
      timeout: 30m
      onTimeout: ${onTimeout}
  - id: after
    set: { by: steps.recovered.signal.id }
`;

describe('a wait for a signal', () => {
  it('resumes when a matching signal arrives (not an earlier one, not another), also while paused', async () => {
    const early = signal({ service: 'checkout' }, true);
    const id = await start(WAIT());
    await engine().tick();
    expect(await store.playbooks.getRun(id)).toMatchObject({ state: 'running', wakeAt: '2026-01-02T03:34:05.000Z' });
    clock.advance(1000);
    expect((await resumeSignalWaits(deps, { ...early, id: 'sig_early', receivedAt: '2026-01-02T03:00:00.000Z' })).resumed).toEqual([]);
    expect((await resumeSignalWaits(deps, signal({ service: 'search' }, true))).resumed).toEqual([]);
    expect((await resumeSignalWaits(deps, signal({ service: 'checkout' }, false))).resumed).toEqual([]);
    await pauseRun(deps, alice, id);
    const match = signal({ service: 'checkout' }, true);
    expect((await resumeSignalWaits(deps, match)).resumed).toEqual([{ run: id, step: 'recovered', signal: match.id }]);
    // Seen again (another replica): nothing more.
    expect((await resumeSignalWaits(deps, match)).resumed).toEqual([]);
    await resumeRun(deps, alice, id);
    await engine().tick();
    expect(await store.playbooks.getRun(id)).toMatchObject({ state: 'succeeded' });
    expect((await store.playbooks.steps(id))[1]).toMatchObject({ outputs: { by: match.id } });
    expect(await kinds()).toContain('playbook.step.signal-matched');
  });

  it('times out when no signal matches: the step fails, or with onTimeout continue the run goes on', async () => {
    const failing = await start(WAIT());
    await engine().tick();
    clock.advance(29 * 60_000);
    await engine().tick();
    expect((await store.playbooks.getRun(failing))!.state).toBe('running');
    clock.advance(60_000);
    await engine().tick();
    expect(await store.playbooks.getRun(failing)).toMatchObject({ state: 'failed' });
    expect((await store.playbooks.steps(failing))[0]!.error).toMatch(/no signal matched .* within 1800s/);
    // A signal after the end resumes nothing.
    expect((await resumeSignalWaits(deps, signal({ service: 'checkout' }, true))).resumed).toEqual([]);

    await applyPlaybook(deps, alice, file(WAIT('continue').replace('steps.recovered.signal.id', 'steps.recovered.timedOut')));
    const r = await startRun(deps, alice, 'rollback', {});
    const going = 'run' in r ? r.run.id : '';
    await engine().tick();
    clock.advance(30 * 60_000);
    await engine().tick();
    expect(await store.playbooks.getRun(going)).toMatchObject({ state: 'succeeded' });
    expect((await store.playbooks.steps(going))[1]).toMatchObject({ outputs: { by: true } });
  });

  it('names what to fix in a bad wait', async () => {
    await expect(applyPlaybook(deps, alice, file(`  - id: w\n    wait: 5 parsecs\n`))).rejects.toThrow(/wait/);
    await expect(applyPlaybook(deps, alice, file(`  - id: w\n    wait: { signal: "signal.labels.x ==", timeout: 5m }\n`))).rejects.toThrow(
      /CEL syntax error/,
    );
    await expect(applyPlaybook(deps, alice, file(`  - id: w\n    wait: [1]\n`))).rejects.toThrow(/a duration such as 10m, or \{ signal/);
  });
});

const named = (name: string, steps: string, inputs = '') => `apiVersion: bulwark/v1
kind: Playbook
name: ${name}
${inputs}steps:
${steps}`;

describe('a switch', () => {
  it('runs the steps of the case matched, or of default, and skips the others', async () => {
    const steps = `  - id: route
    switch:
      value: inputs.service
      cases:
        checkout:
          - id: a
            set: { went: "'checkout'" }
        "7":
          - id: b
            set: { went: "'seven'" }
      default:
        - id: c
          set: { went: "'default'" }
`;
    await applyPlaybook(deps, alice, file(steps));
    const states = async (inputs: Record<string, unknown>) => {
      const r = await startRun(deps, alice, 'rollback', { inputs });
      await engine().tick();
      const id = 'run' in r ? r.run.id : '';
      return (await store.playbooks.steps(id)).map((s) => `${s.stepId}:${s.state}`).join(' ');
    };
    expect(await states({})).toBe('route:done b:skipped a:done c:skipped');
    expect(await states({ service: 'search' })).toBe('route:done b:skipped a:skipped c:done');
    await expect(applyPlaybook(deps, alice, file(steps.replace('"7"', 'default')))).rejects.toThrow(/the default branch is switch.default/);
  });
});

describe('a playbook step', () => {
  it('starts a child run, waits for it, takes its outputs; a failed child fails the step', async () => {
    await applyPlaybook(
      deps,
      alice,
      named(
        'child',
        `  - id: ack\n    set: { got: inputs.host }\n  - id: check\n    mode: manual\n    checklist: [Look]\n`,
        'inputs:\n  host: { type: string, required: true }\n',
      ),
    );
    await applyPlaybook(
      deps,
      alice,
      named(
        'parent',
        `  - id: call\n    playbook: { name: child, inputs: { host: "'web-1'" } }\n  - id: after\n    set: { host: steps.call.outputs.ack.got }\n`,
      ),
    );
    const r = await startRun(deps, alice, 'parent', {});
    const parent = 'run' in r ? r.run.id : '';
    await engine().tick(); // starts the child
    await engine().tick(); // the child runs to its manual step
    const call = (await store.playbooks.steps(parent))[0]!;
    const child = (call.outputs as { run: string }).run;
    expect(await store.playbooks.getRun(child)).toMatchObject({ playbook: 'child', state: 'waiting', triggerKey: `run:${parent}/call` });
    // Asking again (a restart before the record) finds the same child.
    const again = await startRun(deps, alice, 'child', {
      inputs: { host: 'web-1' },
      trigger: { id: `run:${parent}/call`, kind: 'playbook' },
    });
    expect('run' in again && again.started).toBe(false);
    await completeStep(deps, alice, child, 'check', { outcome: 'done' });
    clock.advance(2000);
    await engine().tick();
    expect(await store.playbooks.getRun(parent)).toMatchObject({ state: 'succeeded' });
    expect((await store.playbooks.steps(parent))[1]).toMatchObject({ outputs: { host: 'web-1' } });

    const r2 = await startRun(deps, alice, 'parent', {});
    const p2 = 'run' in r2 ? r2.run.id : '';
    await engine().tick();
    await engine().tick();
    const c2 = ((await store.playbooks.steps(p2))[0]!.outputs as { run: string }).run;
    await completeStep(deps, alice, c2, 'check', { outcome: 'failed', notes: 'not reachable' });
    clock.advance(2000);
    await engine().tick();
    expect(await store.playbooks.getRun(p2)).toMatchObject({ state: 'failed' });
    expect((await store.playbooks.steps(p2))[0]!.error).toMatch(
      /child run .* of child failed: step check failed by cli:alice: not reachable/,
    );
  });

  it('stops calls nesting deeper than the limit at run time (the step fails saying so), and a cancel reaches the children', async () => {
    // p0 calls p1 … calls p10, which waits for a person: deeper than the limit.
    await applyPlaybook(deps, alice, named('p10', `  - id: look\n    mode: manual\n    checklist: [Look]\n`));
    for (let i = 9; i >= 0; i--) await applyPlaybook(deps, alice, named(`p${i}`, `  - id: go\n    playbook: { name: p${i + 1} }\n`));
    const r = await startRun(deps, alice, 'p0', {});
    const root = 'run' in r ? r.run.id : '';
    for (let i = 0; i <= MAX_CALL_DEPTH + 1; i++) await engine().tick();
    const chain = [root];
    for (;;) {
      const child = ((await store.playbooks.steps(chain.at(-1)!))[0]!.outputs as { run?: string } | null)?.run;
      if (!child) break;
      chain.push(child);
    }
    expect(chain).toHaveLength(MAX_CALL_DEPTH + 1); // the root and 8 levels of calls
    const deepest = (await store.playbooks.getRun(chain.at(-1)!))!;
    expect(deepest).toMatchObject({ playbook: `p${MAX_CALL_DEPTH}`, state: 'failed' });
    expect(deepest.reason).toMatch(/playbook calls nest 9 deep here \(p8 calling p9\); at most 8 levels are run/);

    // Another root whose chain is short enough: cancelling it cancels its child and grandchild.
    const r2 = await startRun(deps, alice, 'p8', {});
    const top = 'run' in r2 ? r2.run.id : '';
    await engine().tick();
    await engine().tick();
    await engine().tick();
    const mid = ((await store.playbooks.steps(top))[0]!.outputs as { run: string }).run;
    const leaf = ((await store.playbooks.steps(mid))[0]!.outputs as { run: string }).run;
    expect((await store.playbooks.getRun(leaf))!.state).toBe('waiting');
    await cancelRun(deps, alice, top);
    expect((await store.playbooks.getRun(mid))!).toMatchObject({ state: 'cancelled', reason: `its parent run ${top} was cancelled` });
    expect((await store.playbooks.getRun(leaf))!).toMatchObject({ state: 'cancelled', reason: `its parent run ${mid} was cancelled` });
  });

  it('refuses, at apply, a call to a playbook not applied and any cycle of calls', async () => {
    const calls = (name: string, callee: string) => named(name, `  - id: go\n    playbook: { name: ${callee} }\n`);
    await expect(applyPlaybook(deps, alice, calls('a', 'b'))).rejects.toThrow(/calls playbook b, which is not applied/);
    await expect(applyPlaybook(deps, alice, calls('a', 'a'))).rejects.toThrow(/cannot call itself/);
    await applyPlaybook(deps, alice, named('c', `  - id: x\n    set: { y: "1" }\n`));
    await applyPlaybook(deps, alice, calls('b', 'c'));
    await applyPlaybook(deps, alice, calls('a', 'b'));
    await expect(applyPlaybook(deps, alice, calls('c', 'a'))).rejects.toThrow(/a cycle: c → a → b → c/);
  });
});

/** A loopback service counting calls by Idempotency-Key; `fail` holds the paths to answer 500 once. */
let service: Server;
let base: string;
const calls = new Map<string, number>();
const failOnce = new Set<string>();
beforeAll(async () => {
  service = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      calls.set(key, (calls.get(key) ?? 0) + 1);
      const failing = failOnce.delete(req.url ?? '');
      res.writeHead(failing ? 500 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    });
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
});
afterAll(async () => {
  service.closeAllConnections();
  await new Promise((r) => service.close(r));
});
const httpEngine = () => new PlaybookEngine(deps, { transport: fetchTransport, random: () => 0.5, owner: 'engine-http' });

describe('forEach and parallel steps', () => {
  it('does the body for each item with its own key, keeps what is done across a retry, and refuses more than max', async () => {
    const steps = (list: string) =>
      `  - id: isolate
    mode: auto
    retry: { attempts: 2, backoff: 1s }
    forEach:
      items: ${list}
      max: 3
      do: { http: { url: "BASE/isolate/\${{ item }}", body: { n: "\${{ index }}" } } }
  - id: after
    set: { n: steps.isolate.count, second: "steps.isolate.results[1].body.path" }
`.replaceAll('BASE', base);
    await applyPlaybook(deps, alice, named('fan', steps(`"['a', 'b', 'c']"`)));
    failOnce.add('/isolate/b');
    const r = await startRun(deps, alice, 'fan', {});
    const id = 'run' in r ? r.run.id : '';
    await httpEngine().tick();
    expect((await store.playbooks.steps(id))[0]).toMatchObject({ state: 'retrying', outputs: { results: [{ status: 200 }] } });
    clock.advance(1000);
    await httpEngine().tick();
    expect(await store.playbooks.getRun(id)).toMatchObject({ state: 'succeeded' });
    expect((await store.playbooks.steps(id))[1]).toMatchObject({ outputs: { n: 3, second: '/isolate/b' } });
    // a once, b twice (its failure, then the retry with the same key), c once.
    expect([0, 1, 2].map((i) => calls.get(`${id}.isolate.${i}`))).toEqual([1, 2, 1]);

    await applyPlaybook(deps, alice, named('fan', steps(`"['a', 'b', 'c', 'd']"`)), { mayApprove: true });
    const r2 = await startRun(deps, alice, 'fan', {});
    const id2 = 'run' in r2 ? r2.run.id : '';
    await httpEngine().tick();
    expect((await store.playbooks.steps(id2))[0]!.error).toMatch(/has 4 items; this forEach takes at most 3/);
    expect(calls.get(`${id2}.isolate.0`)).toBeUndefined();
  });

  it('sends parallel branches at once, each with its key, and a retry sends only the branch that failed', async () => {
    const steps = `  - id: fan
    mode: auto
    retry: { attempts: 2, backoff: 1s }
    parallel:
      - { id: edge, http: { url: "BASE/edge" } }
      - { id: chat, notify: { url: "BASE/chat", message: "isolated" } }
      - { id: note, set: { at: run.id } }
  - id: after
    set: { edge: steps.fan.edge.status, chat: steps.fan.chat.body.path }
`.replaceAll('BASE', base);
    await applyPlaybook(deps, alice, named('par', steps));
    failOnce.add('/chat');
    const r = await startRun(deps, alice, 'par', {});
    const id = 'run' in r ? r.run.id : '';
    await httpEngine().tick();
    clock.advance(1000);
    await httpEngine().tick();
    expect(await store.playbooks.getRun(id)).toMatchObject({ state: 'succeeded' });
    expect((await store.playbooks.steps(id))[1]).toMatchObject({ outputs: { edge: 200, chat: '/chat' } });
    expect([calls.get(`${id}.fan.edge`), calls.get(`${id}.fan.chat`)]).toEqual([1, 2]);
    await expect(
      applyPlaybook(
        deps,
        alice,
        named('bad', `  - id: p\n    parallel:\n      - { id: a, set: { x: "1" } }\n      - { id: b, wait: 5m }\n`),
      ),
    ).rejects.toThrow(/a parallel branch does an http, notify or set step, not wait/);
  });
});
