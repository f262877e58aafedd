/**
 * An experiment against a real alerting pipeline: its method moves a gauge over HTTP, Prometheus
 * scrapes it and fires an alert rule, Alertmanager posts its webhook to Bulwark's
 * /v1/signals/alertmanager over real loopback HTTP with a source-bound token, and the run, which
 * matches the alert by expression (an alert on a metric cannot carry the run id), records its
 * time to detect. The rollback puts the gauge back.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/app/access/tokens.ts';
import { bearer, makeTestApp, type TestApp } from '../support/app.ts';
import { alertingAvailable, startAlerting, startMetricsTarget, type AlertingStack, type MetricsTarget } from '../support/prometheus.ts';
import { systemActor } from '../../src/core/ledger/actor.ts';

const RULES = `
name: bulwark-experiment
rules:
  - alert: ExperimentFailedLogins
    expr: exp_failed_logins > 3
    for: 0s
    labels:
      severity: critical
      control: login-monitoring
`;

const DEADLINE_S = 30;

const experiment = (metricsUrl: string) => `
title: A burst of failed logins raises an alert
description: the method moves the failed-login gauge; Prometheus and Alertmanager must tell Bulwark
techniques: [T1110.001]
method:
  - type: action
    name: move-failed-logins
    provider:
      type: http
      method: POST
      url: ${metricsUrl}/set?name=exp_failed_logins&value=7
      timeout: 3
rollbacks:
  - type: action
    name: reset-failed-logins
    provider:
      type: http
      method: POST
      url: ${metricsUrl}/set?name=exp_failed_logins&value=0
      timeout: 3
expect:
  detected:
    - name: alertmanager-fires
      when: signal.source == "alertmanager" && signal.labels.alertname == "ExperimentFailedLogins"
      within: ${DEADLINE_S}s
`;

describe.skipIf(!alertingAvailable())('experiment against Prometheus + Alertmanager', () => {
  let t: TestApp | undefined;
  let metrics: MetricsTarget | undefined;
  let stack: AlertingStack | undefined;

  beforeAll(async () => {
    t = await makeTestApp();
    // Real HTTP: Alertmanager must reach Bulwark over the network stack.
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (t.app.server.address() as AddressInfo).port;
    const { token } = await createToken(t.deps, systemActor('test'), { name: 'alertmanager', scopes: ['signals:ingest:alertmanager'] });
    metrics = await startMetricsTarget({ exp_failed_logins: 0 });
    stack = await startAlerting({
      rules: RULES,
      scrapeTargets: [metrics.hostPort],
      webhookUrl: `http://127.0.0.1:${port}/v1/signals/alertmanager`,
      webhookBearerToken: token,
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await metrics?.stop();
    await t?.close();
  });

  it('records the time from moving the metric to the alert reaching Bulwark', async () => {
    const app = t!;
    const applied = await app.app.inject({
      method: 'POST',
      url: '/v1/experiments',
      headers: bearer(app.adminToken),
      payload: { file: experiment(metrics!.url), name: 'failed-logins-alert' },
    });
    expect(applied.statusCode, applied.body).toBe(201);
    const started = await app.app.inject({
      method: 'POST',
      url: '/v1/experiments/failed-logins-alert/runs',
      headers: bearer(app.adminToken),
      payload: {},
    });
    expect(started.statusCode, started.body).toBe(202);
    const id = started.json().run.id as string;

    let body: any;
    const deadline = Date.now() + (DEADLINE_S + 15) * 1000;
    for (;;) {
      body = (await app.app.inject({ url: `/v1/runs/${id}`, headers: bearer(app.adminToken) })).json();
      if (body.run.state === 'done') break;
      if (Date.now() > deadline) throw new Error(`run not done: ${JSON.stringify(body.run)}\n${stack!.logTail()}`);
      await sleep(200);
    }
    if (body.run.outcome !== 'detected') throw new Error(`outcome ${body.run.outcome}: ${body.run.reason}\n${stack!.logTail()}`);
    const ttd = body.run.ttdMs as number;
    console.log(`[alerting] experiment run ${id}: detected ${ttd} ms after the gauge moved (scrape + evaluation + Alertmanager + webhook)`);
    expect(ttd).toBeGreaterThan(0);
    expect(ttd).toBeLessThan(DEADLINE_S * 1000);

    const detection = body.timeline.find((e: any) => e.kind === 'detection');
    expect(detection).toMatchObject({ ok: true, detail: { source: 'alertmanager', by: 'expression', ttdMs: ttd } });
    const signal = await app.deps.store.signals.get(detection.detail.signalId);
    expect(signal).toMatchObject({ source: 'alertmanager', labels: { alertname: 'ExperimentFailedLogins', control: 'login-monitoring' } });
    expect(body.timeline.find((e: any) => e.kind === 'rollback')).toMatchObject({ ok: true });
    // The rollback put the gauge back.
    const text = await (await fetch(`${metrics!.url}/metrics`)).text();
    expect(text).toMatch(/^exp_failed_logins 0$/m);
  });
});
