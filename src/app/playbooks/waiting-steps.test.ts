/**
 * Steps that wait for others, over a real SQLite file with a fake clock: an `approval` step asks
 * Access for a multi-party approval and the run waits with nothing in memory (a second engine, a
 * restart, picks it up), resumes when approved (the approval consumed once), fails when denied or
 * expired; a `wait` for a signal resumes on a matching signal and times out when none comes.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import type { Principal } from '../../core/access/permissions.ts';
import { cliActor } from '../../core/ledger/actor.ts';
import type { SignalRecord } from '../../store/signals/port.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Store } from '../../store/store.ts';
import { decideApproval, listApprovals } from '../access/approvals.ts';
import { ensureOrigin } from '../bootstrap.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { applyPlaybook } from './apply-playbook.ts';
import { PlaybookEngine } from './engine.ts';
import { completeStep, pauseRun, resumeRun, startRun } from './runs.ts';
import { resumeSignalWaits } from './signal-waits.ts';
import type { HttpTransport } from './transport.ts';

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
      requestedBy: `playbook-run:${id}`,
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
    expect((await resumeSignalWaits(deps, match)).resumed).toEqual([{ run: id, step: 'recovered' }]);
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
