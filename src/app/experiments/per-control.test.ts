/**
 * Per-control outcomes and the expected rule, end to end in process: real SQLite, the real
 * ingest and bus, real HTTP to a target that blocks or not; the "WAF" writes its log (source
 * `waf`, a log source by default) and an alert comes from Alertmanager (alerting by default).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTarget, type Target, type TargetRequest } from '../../../test/support/experiment-target.ts';
import { experiment, runnerFixture, type RunnerFixture } from '../../../test/support/runner.ts';
import { systemActor } from '../../core/ledger/actor.ts';
import { makeSignal } from '../../core/signals/signal.ts';
import { setCoverageSettings } from '../coverage/coverage.ts';
import { evidenceOf } from '../signals/ingest.ts';
import { runExperiment } from './run-experiment.ts';

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

/** A signal about the request, from `source`, carrying its run id, after `afterMs`. */
function report(r: TargetRequest, source: string, labels: Record<string, string>, afterMs = 20): void {
  setTimeout(() => {
    const now = new Date().toISOString();
    const body = { path: r.url.split('?')[0] };
    const signal = makeSignal({
      source,
      time: now,
      receivedAt: now,
      severity: 'high',
      labels,
      body,
      dedup: { kind: 'webhook-id', id: randomUUID() },
      ...(r.runId !== undefined ? { runId: r.runId } : {}),
    });
    void fx.ingest.ingest({
      actor: systemActor('test'),
      items: [{ signal, raw: evidenceOf(Buffer.from(JSON.stringify(body)), 'application/json') }],
    });
  }, afterMs);
}

const file = (expect: string) => `
title: SQL injection against the WAF
description: the WAF blocks it, logs it and the alert fires
techniques: [T1190]
configuration:
  target: http://127.0.0.1:1
method:
  - type: action
    name: inject-sqli
    provider: {type: http, url: "\${target}/search", arguments: {q: "' OR 1=1--"}}
expect:
${expect}
`;

const run = (text: string) =>
  runExperiment(fx.deps, { experiment: experiment(text), actor: systemActor('test'), vars: { target: target.url } });

const WAF = `  blocked: {tolerance: 403, control: waf}
  detected:
    - name: audit-log
      control: waf
      must: logged
      when: signal.source == "waf"
      within: 300ms
    - name: alert
      control: waf
      must: alerted
      when: signal.labels.rule == "942100"
      within: 300ms`;

describe('per-control outcomes', () => {
  it('keeps blocked, alerted and logged for the WAF side by side, in the result, the journal and the ledger', async () => {
    target.decide = (r) => {
      report(r, 'waf', { rule: '942100' });
      report(r, 'alertmanager', { alertname: 'WafSqli', rule: '942100' }, 40);
      return { status: 403 };
    };
    const r = await run(file(WAF));
    expect(r.outcome).toBe('prevented');
    expect(r.controls).toEqual([
      expect.objectContaining({
        control: 'waf',
        expected: ['blocked', 'alerted', 'logged'],
        blocked: true,
        alerted: true,
        logged: true,
        results: ['blocked', 'alerted', 'logged'],
        findings: [],
      }),
    ]);
    expect(r.detections.map((d) => [d.name, d.class])).toEqual([
      ['audit-log', 'logs'],
      ['alert', 'alerting'],
    ]);
    const row = await fx.store.runs.get(r.runId);
    expect((row!.journal as any).bulwark.controls[0].results).toEqual(['blocked', 'alerted', 'logged']);
    const finished = (await fx.entriesOf(r.runId)).at(-1)!;
    expect(JSON.parse(finished.dataJson).controls).toEqual([{ control: 'waf', results: ['blocked', 'alerted', 'logged'], findings: [] }]);
  });

  it('logged but not alerted is its own finding: the outcome is missed, the control says logged', async () => {
    target.decide = (r) => {
      report(r, 'waf', { rule: '942100' });
      return { status: 200 };
    };
    const r = await run(file(WAF.replace('300ms', '150ms').replace('300ms', '150ms')));
    expect(r.outcome).toBe('missed');
    expect(r.reason).toMatch(/not detected: alert \(logged but not alerted\)/);
    expect(r.controls![0]).toMatchObject({
      control: 'waf',
      blocked: false,
      alerted: false,
      logged: true,
      results: ['logged'],
      findings: ['not-blocked', 'logged-not-alerted'],
    });
  });

  it('a source declared alerting in the coverage settings meets must: alerted', async () => {
    await setCoverageSettings(fx.deps, systemActor('test'), { signalSources: { waf: 'alerting' } });
    target.decide = (r) => {
      report(r, 'waf', { rule: '942100' });
      return { status: 200 };
    };
    const r = await run(
      file(`  detected:
    - {name: alert, control: waf, must: alerted, when: 'signal.source == "waf"', within: 300ms}`),
    );
    expect(r.outcome).toBe('detected');
    expect(r.controls![0]).toMatchObject({ control: 'waf', alerted: true, logged: false, results: ['alerted'], findings: [] });
  });

  it('old files without controls still get one result, under the default control', async () => {
    target.decide = (r) => {
      report(r, 'waf', { rule: '942100' });
      return { status: 403 };
    };
    const r = await run(
      file(`  blocked: {tolerance: 403}
  detected:
    - {name: waf-log, when: 'signal.labels.rule == "942100"', within: 300ms}`),
    );
    expect(r.outcome).toBe('prevented');
    expect(r.controls).toEqual([
      expect.objectContaining({ control: 'default', expected: ['blocked', 'detected'], results: ['blocked', 'logged'] }),
    ]);
  });
});

describe('the expected rule', () => {
  const RULED = `  detected:
    - name: crs-sqli
      control: waf
      rule: "942100"
      when: signal.source == "waf"
      within: 150ms`;

  it('records a detection by another rule, and raises the per-rule regression when the rule fired last time', async () => {
    target.decide = (r) => {
      report(r, 'waf', { rule: '942100', rules: '942100,949110' });
      return { status: 200 };
    };
    const first = await run(file(RULED));
    expect(first.outcome).toBe('detected');
    expect(first.controls![0]!.findings).toEqual([]);
    expect((first.journal as any).bulwark.detections[0].ruleFired).toMatchObject({ source: 'waf' });

    target.decide = (r) => {
      report(r, 'waf', { rule: '941100', rules: '941100,949110' });
      return { status: 200 };
    };
    const second = await run(file(RULED));
    // The WAF still saw the attack: the outcome holds, the rule's regression says the rest.
    expect(second.outcome).toBe('detected');
    expect(second.controls![0]).toMatchObject({
      findings: ['detected-by-another-rule'],
      details: [{ finding: 'detected-by-another-rule', detection: 'crs-sqli', rules: ['941100'] }],
    });
    expect(second.regression).toBeUndefined();
    expect(second.ruleRegressions).toEqual([
      expect.objectContaining({ detection: 'crs-sqli', rule: '942100', previousRun: first.runId, otherRules: ['941100'], emitted: true }),
    ]);
    const stored = await fx.store.signals.get(second.ruleRegressions![0]!.signalId);
    expect(stored).toMatchObject({
      source: 'bulwark',
      labels: { alertname: 'DetectionRuleRegression', rule: '942100', detection: 'crs-sqli' },
    });
  });

  it('a rule listed among several that fired (ModSecurity rules) counts as fired', async () => {
    target.decide = (r) => {
      report(r, 'waf', { rule: '949110', rules: '949110,942100' });
      return { status: 200 };
    };
    const r = await run(file(RULED));
    expect(r.controls![0]!.findings).toEqual([]);
    expect(r.ruleRegressions).toBeUndefined();
  });
});
