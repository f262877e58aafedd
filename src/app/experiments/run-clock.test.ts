/**
 * A run's times are its clock's (deps.clock), not the system's: with a clock set to a fixed date
 * and moved by hand, the run row, the journal, the detection and the ledger entries carry that
 * date, and the time to detect is exactly how far the clock was moved between the injection and
 * the signal's receipt. The HTTP, the database and the detection are real; only time is not.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSignal } from '../../core/signals/signal.ts';
import { RULE, startTarget, type Target } from '../../../test/support/experiment-target.ts';
import { experiment, runnerFixture, type RunnerFixture } from '../../../test/support/runner.ts';
import type { Clock } from '../deps.ts';
import { evidenceOf } from '../signals/ingest.ts';
import { runExperiment } from './run-experiment.ts';
import { systemActor } from '../../core/ledger/actor.ts';

const T0 = Date.parse('2031-05-04T03:02:01.000Z');
const at = (ms: number) => new Date(ms).toISOString();

/** A clock that stands still until the test moves it. */
const clock: Clock & { ms: number } = { ms: T0, now: () => new Date(clock.ms) };

let fx: RunnerFixture;
let target: Target;
const posted: Promise<unknown>[] = [];

beforeEach(async () => {
  clock.ms = T0;
  fx = await runnerFixture({ clock });
  target = await startTarget();
});
afterEach(async () => {
  await Promise.allSettled(posted.splice(0));
  await target.close();
  await fx.close();
});

const FILE = `
title: SQL injection is blocked and detected
description: the input filter blocks the injection and the WAF reports it
techniques: [T1190]
configuration:
  target: http://127.0.0.1:1
method:
  - type: action
    name: inject-sqli
    provider:
      type: http
      url: "\${target}/search"
      arguments: {q: "' OR 1=1--"}
expect:
  blocked: {tolerance: 403}
  detected:
    - name: waf-log
      when: signal.labels.rule == "${RULE}"
      within: 10s
`;

describe("a run's recorded times", () => {
  it('come from the injected clock: start, injection, detection, time to detect, end and the ledger entries', async () => {
    // The target receives the injection 1.5 s after it was sent, by the run's clock, and
    // reports it shortly after (in real time: the clock stands still), stamped the way the
    // signal routes stamp it, with the same clock.
    target.decide = (req) => {
      clock.ms += 1500;
      const now = clock.now().toISOString();
      const body = { method: req.method, path: '/search' };
      const signal = makeSignal({
        source: 'waf',
        time: now,
        receivedAt: now,
        severity: 'high',
        labels: { rule: RULE },
        body,
        dedup: { kind: 'webhook-id', id: randomUUID() },
        ...(req.runId !== undefined ? { runId: req.runId } : {}),
      });
      const raw = evidenceOf(Buffer.from(JSON.stringify(body)), 'application/json');
      posted.push(sleep(40).then(() => fx.ingest.ingest({ actor: systemActor('tailer:waf'), items: [{ signal, raw }] })));
      return { status: 403 };
    };

    const r = await runExperiment(fx.deps, { experiment: experiment(FILE), actor: systemActor('test'), vars: { target: target.url } });

    expect(r).toMatchObject({ outcome: 'prevented', ttdMs: 1500 });
    expect(r.injections[0]).toMatchObject({ activity: 'inject-sqli', at: at(T0), status: 403 });
    expect(r.detections[0]).toMatchObject({ name: 'waf-log', receivedAt: at(T0 + 1500), ttdMs: 1500, late: false });

    const row = await fx.store.runs.get(r.runId);
    expect(row).toMatchObject({ state: 'done', startedAt: at(T0), endedAt: at(T0 + 1500), ttdMs: 1500 });
    const journal = row!.journal as { start: string; end: string; run: { start: string; end: string; duration: number }[] };
    expect(journal).toMatchObject({ start: at(T0), end: at(T0 + 1500) });
    expect(journal.run[0]).toMatchObject({ start: at(T0), end: at(T0 + 1500), duration: 1.5 });

    const entries = await fx.entriesOf(r.runId);
    expect(entries.map((e) => [e.kind, e.time])).toEqual([
      ['run.started', at(T0)],
      ['run.injected', at(T0 + 1500)],
      ['run.detected', at(T0 + 1500)],
      ['run.finished', at(T0 + 1500)],
    ]);
    expect(JSON.parse(entries[1]!.dataJson)).toMatchObject({ at: at(T0) });
  });
});
