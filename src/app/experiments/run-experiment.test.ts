/**
 * The runner end to end, in process: real SQLite, the real ingest and bus, real HTTP over
 * loopback to a target whose control can block (403) or let through (200) and report what it
 * saw as a signal. One test per outcome, then rollbacks, correlation, the blast radius, secrets.
 */
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '../../core/errors.ts';
import { startTarget, type Target } from '../../../test/support/experiment-target.ts';
import { experiment, runnerFixture, type RunnerFixture } from '../../../test/support/runner.ts';
import { createExperimentRunner, runExperiment, type RunProgress, type RunResult } from './run-experiment.ts';
import { systemActor } from '../../core/ledger/actor.ts';

let fx: RunnerFixture;
let target: Target;

beforeEach(async () => {
  fx = await runnerFixture();
  target = await startTarget({ ingest: fx.ingest });
});
afterEach(async () => {
  await target.close();
  await fx.close();
});

const HYPOTHESIS = `
steady-state-hypothesis:
  title: the shop is up
  probes:
    - type: probe
      name: shop-up
      tolerance: 200
      provider: {type: http, url: "\${target}/health"}`;

/** SQL injection against the shop: blocked (403) and detected by the WAF rule within `within`. */
function sqli(
  o: { within?: string; blocked?: boolean; detected?: boolean; path?: string; extra?: string; rollbacks?: string; method?: string } = {},
): string {
  const expect = [
    o.blocked === false ? '' : `  blocked: {tolerance: 403}`,
    o.detected === false
      ? ''
      : `  detected:\n    - name: waf-log\n      when: signal.labels.rule == "942100"\n      within: ${o.within ?? '300ms'}`,
  ].filter(Boolean);
  return `
title: SQL injection is blocked and detected
description: the input filter blocks a classic injection and the WAF log reports it
techniques: [T1190]
configuration:
  target: http://127.0.0.1:1
${HYPOTHESIS}
method:
  - type: action
    name: inject-sqli
    provider:
      type: http
      url: "\${target}${o.path ?? '/search'}"
      arguments: {q: "' OR 1=1--"}
${o.method ?? ''}
${expect.length ? `expect:\n${expect.join('\n')}` : ''}
${o.rollbacks ?? ''}
${o.extra ?? ''}
`;
}

const run = (text: string, extra: Partial<Parameters<typeof runExperiment>[1]> = {}, opts: Parameters<typeof runExperiment>[2] = {}) =>
  runExperiment(fx.deps, { experiment: experiment(text), actor: systemActor('test'), vars: { target: target.url }, ...extra }, opts);

const kinds = async (r: RunResult) => (await fx.entriesOf(r.runId)).map((e) => e.kind);

describe('outcomes', () => {
  it('prevented: blocked, and the WAF signal carrying the run id arrived before the deadline', async () => {
    target.decide = () => ({ status: 403, signal: { afterMs: 40 } });
    const r = await run(sqli());
    expect(r).toMatchObject({ outcome: 'prevented', exitCode: 0, expectationsMet: true });
    expect(r.detections).toHaveLength(1);
    expect(r.detections[0]).toMatchObject({ name: 'waf-log', by: 'run-id', late: false, source: 'waf' });
    expect(r.ttdMs).toBeGreaterThanOrEqual(40);
    expect(r.ttdMs).toBeLessThan(300);
    // The injection carried the run id the signal came back with.
    expect(target.attacks().map((a) => a.runId)).toEqual([r.runId]);
    expect(await kinds(r)).toEqual(['run.started', 'run.injected', 'run.detected', 'run.finished']);
    const row = await fx.store.runs.get(r.runId);
    expect(row).toMatchObject({ state: 'done', outcome: 'prevented', ttdMs: r.ttdMs, leaseUntil: null, dryRun: false });
    const journal = row!.journal as any;
    expect(journal.status).toBe('completed');
    expect(journal.steady_states.before.steady_state_met).toBe(true);
    expect(journal.steady_states.after.steady_state_met).toBe(true);
    expect(journal.run[0].output.status).toBe(403);
    expect(journal.bulwark.injections[0]).toMatchObject({ activity: 'inject-sqli', status: 403, ok: true });
    expect(journal.bulwark.detections[0].match.signalId).toBe(r.detections[0]!.signalId);
    const finished = (await fx.entriesOf(r.runId)).at(-1)!;
    expect(JSON.parse(finished.dataJson)).toMatchObject({ outcome: 'prevented', ttdMs: r.ttdMs, run: r.runId });
  });

  it('detected: not blocked, and a signal without a run id matched by expression within the window', async () => {
    target.decide = () => ({ status: 200, signal: { afterMs: 40, withRunId: false } });
    const r = await run(sqli());
    expect(r).toMatchObject({ outcome: 'detected', exitCode: 3 });
    expect(r.detections[0]).toMatchObject({ by: 'expression', late: false });
    expect((r.journal as any).bulwark.blocked).toMatchObject({ asked: true, held: false });
  });

  it('detected-late: the signal came after the deadline, within the grace period', async () => {
    target.decide = () => ({ status: 200, signal: { afterMs: 450 } });
    const r = await run(sqli({ within: '300ms' }));
    expect(r).toMatchObject({ outcome: 'detected-late', exitCode: 4 });
    expect(r.detections[0]!.late).toBe(true);
    expect(r.detections[0]!.ttdMs).toBeGreaterThan(300);
  });

  it('missed: not blocked and nothing reported', async () => {
    target.decide = () => ({ status: 200 });
    const t0 = Date.now();
    const r = await run(sqli({ within: '200ms' }));
    expect(r).toMatchObject({ outcome: 'missed', exitCode: 5, ttdMs: null });
    expect(r.reason).toMatch(/not detected: waf-log/);
    // It waited for the deadline and the grace period (as long again), not for ever.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('not-run: the steady state fails, so nothing is injected', async () => {
    target.healthy = false;
    const r = await run(sqli());
    expect(r).toMatchObject({ outcome: 'not-run', exitCode: 6 });
    expect(target.attacks()).toEqual([]);
    expect(await kinds(r)).toEqual(['run.started', 'run.finished']);
  });

  it('aborted: an abort probe trips during the method, and the rollbacks run', async () => {
    target.decide = (req) => {
      if (req.url.startsWith('/search')) setTimeout(() => (target.healthy = false), 50);
      return { status: 200 };
    };
    const r = await run(
      sqli({
        method: `
  - type: probe
    name: wait
    provider: {type: http, url: "\${target}/slow"}
    pauses: {after: 5}`,
        rollbacks: `rollbacks:
  - type: action
    name: restore-shop
    provider: {type: http, url: "\${target}/rollback"}`,
        extra: `safety:
  abort:
    - probe: shop-up
      every: 100ms`,
      }),
    );
    expect(r).toMatchObject({ outcome: 'aborted', exitCode: 7 });
    expect(r.reason).toMatch(/abort condition 'shop-up' tripped/);
    expect(target.attacks().map((a) => a.url)).toContain('/rollback');
    expect(await kinds(r)).toContain('run.rollback');
  });

  it('errored: an injection cannot be sent; the rollbacks still run', async () => {
    const r = await run(
      sqli({
        method: `
  - type: action
    name: unreachable
    provider: {type: http, url: "http://127.0.0.1:1/"}`,
        rollbacks: `rollbacks:
  - type: action
    name: restore-shop
    provider: {type: http, url: "\${target}/rollback"}`,
      }),
    );
    expect(r).toMatchObject({ outcome: 'errored', exitCode: 8 });
    expect(r.reason).toMatch(/action 'unreachable' failed: .*ECONNREFUSED/);
    expect(target.attacks().map((a) => a.url)).toContain('/rollback');
    const row = await fx.store.runs.get(r.runId);
    expect((row!.journal as any).rollbacks[0].status).toBe('succeeded');
  });

  it('rollback-failed: the probe verifying the rollback does not hold, whatever else happened', async () => {
    target.decide = () => ({ status: 403, signal: { afterMs: 10 } });
    const r = await run(
      sqli({
        rollbacks: `rollbacks:
  - type: action
    name: restore-shop
    provider: {type: http, url: "\${target}/rollback"}
  - type: probe
    name: verify-restored
    tolerance: 204
    provider: {type: http, url: "\${target}/health"}`,
      }),
    );
    expect(r).toMatchObject({ outcome: 'rollback-failed', exitCode: 9 });
    expect(r.reason).toMatch(/verify-restored/);
    expect((await fx.store.runs.get(r.runId))!.journal).toMatchObject({ status: 'failed' });
  });
});

describe('start time', () => {
  it('stores a run given a start time ahead at once, pending with its rollbacks, and sends at that time', async () => {
    target.decide = () => ({ status: 403, signal: { afterMs: 20 } });
    const startAt = Date.now() + 400;
    const done = run(sqli(), { startAt });
    await sleep(200);
    const { runs } = await fx.store.runs.list({ limit: 10 });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ state: 'pending', startedAt: new Date(startAt).toISOString() });
    expect(target.requests).toEqual([]);
    const r = await done;
    expect(r.outcome).toBe('prevented');
    const [attack] = target.attacks();
    expect(attack!.at).toBeGreaterThanOrEqual(startAt - 1);
    expect(attack!.at - startAt).toBeLessThan(250);
    // run.started was written behind the start, and still comes first.
    expect(await kinds(r)).toEqual(['run.started', 'run.injected', 'run.detected', 'run.finished']);
  });

  it('a run stopped while it waits for its time sends nothing and ends aborted', async () => {
    const ctl = new AbortController();
    const done = run(sqli(), { startAt: Date.now() + 5_000, signal: ctl.signal });
    await sleep(150);
    ctl.abort('stopped by a person');
    const r = await done;
    expect(r.outcome).toBe('aborted');
    expect(target.requests).toEqual([]);
    expect((await fx.store.runs.get(r.runId))?.state).toBe('done');
  });
});

describe('rollbacks', () => {
  it('restore a file changed by the method when the run is aborted from outside', async () => {
    const file = path.join(fx.dir, 'shop.conf');
    writeFileSync(file, 'input_filter = on\n');
    const ac = new AbortController();
    const p = run(
      sqli({
        method: `
  - type: action
    name: disable-filter
    provider: {type: file, operation: modify, path: "${file}", find: "input_filter = on", replace: "input_filter = off"}
    pauses: {after: 10}`,
      }),
      { signal: ac.signal },
    );
    for (let i = 0; i < 100 && readFileSync(file, 'utf8') === 'input_filter = on\n'; i++) await sleep(20);
    expect(readFileSync(file, 'utf8')).toBe('input_filter = off\n');
    ac.abort(new Error('stopped by alice'));
    const r = await p;
    expect(r).toMatchObject({ outcome: 'aborted', reason: 'aborted: stopped by alice' });
    expect(readFileSync(file, 'utf8')).toBe('input_filter = on\n');
    const rb = (await fx.entriesOf(r.runId)).filter((e) => e.kind === 'run.rollback').map((e) => JSON.parse(e.dataJson));
    expect(rb).toEqual([{ run: r.runId, rollback: `restore ${file}`, ok: true }]);
  });

  it('global stop aborts every running run, runs their rollbacks and refuses new runs until resumed', async () => {
    const progress: RunProgress[] = [];
    const runner = createExperimentRunner(fx.deps, { onProgress: (p) => progress.push(p) });
    const slow = sqli({
      detected: false,
      blocked: false,
      method: `
  - type: probe
    name: hold
    provider: {type: process, path: sleep, arguments: ["30"]}`,
      rollbacks: `rollbacks:
  - type: action
    name: restore-shop
    provider: {type: http, url: "\${target}/rollback"}`,
    });
    const req = { experiment: experiment(slow), actor: systemActor('test'), vars: { target: target.url } };
    const runs = [runner.run(req), runner.run(req)];
    for (let i = 0; i < 200 && target.attacks().filter((a) => a.url.startsWith('/search')).length < 2; i++) await sleep(20);
    expect(runner.active()).toHaveLength(2);
    expect(runner.stopAll('maintenance window')).toHaveLength(2);
    const results = await Promise.all(runs);
    for (const r of results) expect(r).toMatchObject({ outcome: 'aborted', reason: 'aborted: stopped: maintenance window' });
    expect(target.attacks().filter((a) => a.url === '/rollback')).toHaveLength(2);
    await expect(runner.run(req)).rejects.toThrow(/experiments are stopped \(maintenance window\)/);
    runner.resume();
    expect(runner.stopped).toBeUndefined();
    expect(progress.some((p) => p.phase === 'rollback')).toBe(true);
  });
});

describe('method', () => {
  it('runs background activities concurrently and waits for them before judging', async () => {
    target.decide = () => ({ status: 403, signal: { afterMs: 10 } });
    const bg = (name: string) => `
  - type: action
    name: ${name}
    background: true
    provider: {type: process, path: sleep, arguments: ["0.3"]}`;
    const t0 = Date.now();
    const r = await run(sqli({ method: bg('burst-a') + bg('burst-b'), blocked: false }));
    // Blocking was not asked (the bursts are not requests): detected in time is everything asked.
    expect(r).toMatchObject({ outcome: 'detected', expectationsMet: true, exitCode: 0 });
    const journal = (await fx.store.runs.get(r.runId))!.journal as any;
    const [a, b] = ['burst-a', 'burst-b'].map((n) => journal.run.find((x: any) => x.activity.name === n));
    // Both ran, side by side.
    expect(Date.parse(a.start)).toBeLessThan(Date.parse(b.end));
    expect(Date.parse(b.start)).toBeLessThan(Date.parse(a.end));
    expect(Date.now() - t0).toBeLessThan(3000);
    // The requests are the injections; the process bursts prepare the ground.
    expect(r.injections.map((i) => i.activity)).toEqual(['inject-sqli']);
  });

  it('aborts at safety.maxDuration and rolls back', async () => {
    const r = await run(
      sqli({
        detected: false,
        method: `
  - type: probe
    name: hold
    provider: {type: process, path: sleep, arguments: ["30"]}`,
        rollbacks: `rollbacks:
  - type: action
    name: restore-shop
    provider: {type: http, url: "\${target}/rollback"}`,
        extra: `safety:\n  maxDuration: 300ms`,
      }),
    );
    expect(r).toMatchObject({ outcome: 'aborted', reason: 'aborted: safety.maxDuration of 300ms reached' });
    expect(target.attacks().map((a) => a.url)).toContain('/rollback');
  });
});

describe('correlation', () => {
  it('gives two overlapping runs against one target their own outcomes: one run id never matches the other', async () => {
    // The control blocks /a and reports it with that request's run id; /b goes through unseen.
    target.decide = (req) => (req.url.startsWith('/a') ? { status: 403, signal: { afterMs: 100 } } : { status: 200 });
    const [a, b] = await Promise.all([run(sqli({ path: '/a', within: '300ms' })), run(sqli({ path: '/b', within: '300ms' }))]);
    expect(a).toMatchObject({ outcome: 'prevented' });
    expect(b).toMatchObject({ outcome: 'missed' });
    expect(a.runId).not.toBe(b.runId);
    // B's expression matched A's signal, but A's run id kept it out.
    expect(b.detections).toEqual([]);
    expect(target.attacks().find((x) => x.url.startsWith('/a'))?.runId).toBe(a.runId);
    expect(target.attacks().find((x) => x.url.startsWith('/b'))?.runId).toBe(b.runId);
  });

  it('puts its own id into ${bulwark_run_id}, so canaries name the run that planted them', async () => {
    target.decide = () => ({ status: 403, signal: { afterMs: 10 } });
    const text = sqli({ path: '/search?token=bwk-canary-$' + '{bulwark_run_id}-web' }).replace(
      'target: http://127.0.0.1:1',
      'target: http://127.0.0.1:1\n  bulwark_run_id: rendered000000000',
    );
    const r = await run(text, { vars: { target: target.url, bulwark_run_id: 'someoneelse00000' } });
    expect(target.attacks()[0]!.url).toContain(`token=bwk-canary-${r.runId}-web`);
  });

  it('finds detections ingested by another process through the store poll', async () => {
    const polling = await runnerFixture({ bus: false });
    try {
      // A second ingest over the same store stands for a server in another process.
      const elsewhere = await startTarget({ ingest: fx.ingest });
      try {
        elsewhere.decide = () => ({ status: 403, signal: { afterMs: 30 } });
        const deps = { ...polling.deps, store: fx.store, detections: undefined };
        const r = await runExperiment(
          deps,
          { experiment: experiment(sqli()), actor: systemActor('test'), vars: { target: elsewhere.url } },
          { pollSignalsMs: 50 },
        );
        expect(r).toMatchObject({ outcome: 'prevented' });
        expect(r.detections[0]!.by).toBe('run-id');
      } finally {
        await elsewhere.close();
      }
    } finally {
      await polling.close();
    }
  });

  it('emits a regression signal when a control that held now fails', async () => {
    target.decide = () => ({ status: 403, signal: { afterMs: 20 } });
    const first = await run(sqli({ within: '200ms' }));
    expect(first.outcome).toBe('prevented');
    target.decide = () => ({ status: 200 });
    const second = await run(sqli({ within: '200ms' }));
    expect(second).toMatchObject({ outcome: 'missed', regression: { previous: 'prevented', previousRun: first.runId, emitted: true } });
    const stored = await fx.store.signals.get(second.regression!.signalId);
    expect(stored).toMatchObject({
      source: 'bulwark',
      labels: { experiment: 'SQL injection is blocked and detected', previous: 'prevented', now: 'missed' },
    });
  });
});

describe('safety', () => {
  it('refuses a target outside the blast radius before anything is sent, and --allow extends it', async () => {
    const text = sqli({ extra: `safety:\n  blastRadius:\n    hosts: [shop.example.com]` });
    const err = await run(text).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('invalid');
    expect((err as Error).message).toMatch(
      /refused before anything was sent: .*127\.0\.0\.1 is outside the blast radius.*--allow 127\.0\.0\.1/,
    );
    expect(target.requests).toEqual([]);
    expect((await fx.store.runs.list({ limit: 10 })).runs).toEqual([]);
    target.decide = () => ({ status: 403, signal: { afterMs: 10 } });
    expect((await run(text, { allowHosts: ['127.0.0.1'] })).outcome).toBe('prevented');
  });

  it('refuses python activities with the reason, before anything is sent', async () => {
    const text = sqli({
      method: `\n  - type: action\n    name: py\n    provider: {type: python, module: chaosk8s.pod.actions, func: terminate_pods}`,
    });
    await expect(run(text)).rejects.toThrow(/python provider chaosk8s\.pod\.actions\.terminate_pods cannot run in Bulwark/);
    expect(target.requests).toEqual([]);
  });

  it('plans a dry run without sending anything, and records it', async () => {
    const r = await run(sqli(), { dryRun: true });
    expect(r).toMatchObject({ dryRun: true, outcome: null, exitCode: 0 });
    expect(target.requests).toEqual([]);
    expect(r.plan.join('\n')).toMatch(new RegExp(`run id: ${r.runId}`));
    expect(r.plan.join('\n')).toMatch(/action 'inject-sqli': GET http:\/\/127\.0\.0\.1:\d+\/search .*\[injection\]/);
    expect(await fx.store.runs.get(r.runId)).toMatchObject({ dryRun: true, state: 'done', outcome: null, rollbacks: [] });
    expect(await kinds(r)).toEqual(['run.dry-run']);
  });

  it('runs one run at a time against a host when the limit is one', async () => {
    target.decide = () => ({ status: 403, signal: { afterMs: 10 } });
    const runner = createExperimentRunner(fx.deps, { perTargetLimit: 1 });
    const req = { experiment: experiment(sqli()), actor: systemActor('test'), vars: { target: target.url } };
    const [a, b] = await Promise.all([runner.run(req), runner.run(req)]);
    const rowA = (await fx.store.runs.get(a.runId))!;
    const rowB = (await fx.store.runs.get(b.runId))!;
    const [first, second] = rowA.endedAt! < rowB.endedAt! ? [a, b] : [b, a];
    const firstEnd = Date.parse((await fx.store.runs.get(first.runId))!.endedAt!);
    const secondStart = Math.min(...target.requests.filter((x) => x.runId === second.runId).map((x) => x.at));
    expect(secondStart).toBeGreaterThanOrEqual(firstEnd - 5);
  });

  it('commits the writes of concurrent runs together; a run whose lease is taken over stops alone', async () => {
    target.decide = () => ({ status: 403, signal: { afterMs: 30 } });
    let transactions = 0;
    const store = new Proxy(fx.store, {
      get(t, prop) {
        if (prop === 'transaction') {
          return (fn: Parameters<typeof t.transaction>[0]) => {
            transactions += 1;
            return t.transaction(fn);
          };
        }
        const v = Reflect.get(t, prop, t) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    let victim: string | undefined;
    let claimed: Promise<unknown> | undefined;
    const runner = createExperimentRunner(
      { ...fx.deps, store },
      {
        perTargetLimit: 20,
        onProgress: (p) => {
          if (p.phase !== 'inject' || victim !== undefined) return;
          // Another process takes this run over, as if its lease had expired.
          victim = p.runId;
          claimed = fx.store.runs.claimFrom(p.runId, runner.owner, 'elsewhere:1:abcd', new Date(Date.now() + 60_000).toISOString());
        },
      },
    );
    const req = { experiment: experiment(sqli()), actor: systemActor('test'), vars: { target: target.url } };
    const results = await Promise.all(Array.from({ length: 10 }, () => runner.run(req)));
    expect(await claimed).toBeDefined();
    const lost = results.find((r) => r.runId === victim)!;
    expect(lost).toMatchObject({ outcome: 'aborted' });
    expect(lost.reason).toMatch(/another process took the run over|lease/);
    expect(await fx.store.runs.get(lost.runId)).toMatchObject({ leaseOwner: 'elsewhere:1:abcd', state: 'rolling-back' });
    const others = results.filter((r) => r.runId !== victim);
    expect(others.map((r) => r.outcome)).toEqual(Array(9).fill('prevented'));
    for (const r of others) expect(await kinds(r)).toEqual(['run.started', 'run.injected', 'run.detected', 'run.finished']);
    // Each run writes at least four times (row with run.started, injected, detected, finished).
    expect(transactions).toBeLessThan((results.length * 4) / 2);
  });

  it('never writes a secret to the journal, the ledger or anywhere in the database', async () => {
    const secret = 'sk-live-7Hq2mZ9xW4vB8nR1';
    target.decide = () => ({ status: 403, echo: true, signal: { afterMs: 10 } });
    const text = sqli({
      extra: `secrets:
  shop:
    apikey: {type: env, key: SHOP_API_KEY}`,
      method: `
  - type: action
    name: authenticated-probe
    provider:
      type: http
      url: "\${target}/account?key=\${apikey}"
      headers: {Authorization: "Bearer \${apikey}"}
      secrets: [shop]`,
    });
    const r = await run(text, { env: { SHOP_API_KEY: secret } });
    expect(r.outcome).toBe('prevented');
    // It was sent…
    expect(target.attacks().some((a) => a.headers.authorization === `Bearer ${secret}`)).toBe(true);
    // …and is nowhere at rest: journal, ledger, signals, run rows, WAL.
    expect(JSON.stringify(r.journal)).not.toContain(secret);
    expect(JSON.stringify(r.journal)).toContain('[redacted]');
    for (const f of [fx.dbFile, `${fx.dbFile}-wal`]) {
      if (existsSync(f)) expect(readFileSync(f).includes(Buffer.from(secret))).toBe(false);
    }
  });
});
