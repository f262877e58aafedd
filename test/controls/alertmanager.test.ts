/**
 * The real alerting path the metric experiments rely on: Prometheus scrapes a gauge the experiment
 * moves, an alert rule fires, Alertmanager sends its webhook (payload version 4), and Bulwark's
 * parser turns it into a signal with the alert's labels. The delay from moving the metric to the
 * webhook is measured and printed.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAlertmanager, RUN_LABEL } from '../../src/core/signals/alertmanager.ts';
import {
  alertingAvailable,
  startAlerting,
  startMetricsTarget,
  startWebhookReceiver,
  type AlertingStack,
  type MetricsTarget,
  type WebhookDelivery,
  type WebhookReceiver,
} from '../support/prometheus.ts';

const RULES = `
name: bulwark-demo
rules:
  - alert: DemoFailedLogins
    expr: demo_failed_logins > 3
    for: 0s
    labels:
      severity: critical
      control: login-throttling
    annotations:
      summary: "{{ $value }} failed logins"
  - alert: DemoCanaryUsed
    expr: demo_canary_hits > 0
    for: 0s
    labels:
      severity: high
`;

const DEADLINE_MS = 15_000;

/** Move a gauge the way an experiment's http action would: over HTTP. */
async function move(target: MetricsTarget, name: string, value: number, labels: Record<string, string> = {}): Promise<number> {
  const q = new URLSearchParams({ name, value: String(value), ...labels });
  const movedAt = Date.now();
  const res = await fetch(`${target.url}/set?${q}`, { method: 'POST', signal: AbortSignal.timeout(2000) });
  expect(res.status).toBe(204);
  return movedAt;
}

const hasAlert = (status: 'firing' | 'resolved', alertname: string) => (body: any) =>
  body?.alerts?.some((a: any) => a.status === status && a.labels?.alertname === alertname) === true;

describe.skipIf(!alertingAvailable())('Prometheus + Alertmanager', () => {
  let target: MetricsTarget | undefined;
  let hook: WebhookReceiver | undefined;
  let stack: AlertingStack | undefined;

  beforeAll(async () => {
    target = await startMetricsTarget({ demo_failed_logins: 0 });
    hook = await startWebhookReceiver();
    const t0 = Date.now();
    stack = await startAlerting({ rules: RULES, scrapeTargets: [target.hostPort], webhookUrl: hook.url });
    console.log(`[alerting] Prometheus + Alertmanager ready in ${Date.now() - t0} ms ${JSON.stringify(stack.startupMs)}`);
  });

  afterAll(async () => {
    await stack?.stop();
    await hook?.stop();
    await target?.stop();
  });

  it(`an alert on a moved gauge reaches the webhook as an Alertmanager v4 payload within ${DEADLINE_MS / 1000} s`, async () => {
    // Steady state: the rule holds, nothing has been sent.
    expect((await stack!.prometheusAlerts()).filter((a) => a.labels.alertname === 'DemoFailedLogins')).toEqual([]);
    expect(hook!.deliveries).toEqual([]);

    const movedAt = await move(target!, 'demo_failed_logins', 5);
    let delivery: WebhookDelivery;
    try {
      delivery = await hook!.waitFor(hasAlert('firing', 'DemoFailedLogins'), DEADLINE_MS);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${stack!.logTail()}`);
    }
    const delay = delivery.receivedAt - movedAt;
    const payload = delivery.body;
    const alert = payload.alerts.find((a: any) => a.labels.alertname === 'DemoFailedLogins');
    const evaluatedAt = Date.parse(alert.startsAt);
    console.log(
      `[alerting] metric moved → webhook received: ${delay} ms ` +
        `(moved → rule firing (scrape + evaluation): ${evaluatedAt - movedAt} ms; firing → webhook (Prometheus → Alertmanager → webhook): ${delivery.receivedAt - evaluatedAt} ms)`,
    );
    expect(delay).toBeLessThan(DEADLINE_MS);

    expect(payload).toMatchObject({ version: '4', status: 'firing', receiver: 'bulwark' });
    expect(delivery.headers['content-type']).toMatch(/^application\/json/);

    const receivedAt = new Date(delivery.receivedAt).toISOString();
    const parsed = parseAlertmanager(payload, { receivedAt });
    if (!parsed.ok) throw new Error(`parser refused a real Alertmanager payload: ${parsed.reason}\n${JSON.stringify(payload)}`);
    expect(parsed.truncatedAlerts).toBe(0);
    expect(parsed.signals).toHaveLength(1);
    const s = parsed.signals[0]!;
    expect(s).toMatchObject({ source: 'alertmanager', severity: 'critical', resolved: false, receivedAt });
    expect(s.labels).toEqual({
      alertname: 'DemoFailedLogins',
      severity: 'critical',
      control: 'login-throttling',
      job: 'bulwark-test',
      instance: target!.hostPort,
    });
    expect(s.time).toBe(new Date(alert.startsAt).toISOString());
    expect(s.runId).toBeUndefined();
    // An alert on a metric cannot carry the run id: it matches by expression within the run's window.
    expect(Math.abs(Date.parse(s.time) - movedAt)).toBeLessThan(DEADLINE_MS);

    // A resend of the same alert (group_interval, or an HA pair) is the same signal.
    const again = parseAlertmanager(payload, { receivedAt: new Date().toISOString() });
    expect(again.ok && again.signals[0]!.id).toBe(s.id);
  });

  // Up to two bounded waits (firing again if the first test did not, then the resolution).
  it(
    'moving the gauge back sends the resolution, which is a signal marked resolved, not a detection',
    { timeout: 2 * DEADLINE_MS + 5000 },
    async () => {
      if (!hook!.deliveries.some((d) => hasAlert('firing', 'DemoFailedLogins')(d.body))) {
        await move(target!, 'demo_failed_logins', 5);
        await hook!.waitFor(hasAlert('firing', 'DemoFailedLogins'), DEADLINE_MS);
      }
      const movedAt = await move(target!, 'demo_failed_logins', 0);
      const delivery = await hook!.waitFor(hasAlert('resolved', 'DemoFailedLogins'), DEADLINE_MS);
      console.log(`[alerting] metric restored → resolution received: ${delivery.receivedAt - movedAt} ms`);

      const parsed = parseAlertmanager(delivery.body, { receivedAt: new Date(delivery.receivedAt).toISOString() });
      if (!parsed.ok) throw new Error(parsed.reason);
      const s = parsed.signals.find((x) => x.labels.alertname === 'DemoFailedLogins')!;
      expect(s.resolved).toBe(true);
      const firing = hook!.deliveries.find((d) => hasAlert('firing', 'DemoFailedLogins')(d.body))!;
      const fired = parseAlertmanager(firing.body, { receivedAt: new Date(firing.receivedAt).toISOString() });
      // Same alert (fingerprint), new state: a different signal.
      expect(fired.ok && fired.signals[0]!.id).not.toBe(s.id);
    },
  );

  it(`a series labelled ${RUN_LABEL} carries the run id through Prometheus and Alertmanager`, async () => {
    const runId = randomBytes(8).toString('hex');
    const movedAt = await move(target!, 'demo_canary_hits', 1, { [RUN_LABEL]: runId });
    const delivery = await hook!.waitFor((b) => b?.alerts?.some((a: any) => a.labels?.[RUN_LABEL] === runId), DEADLINE_MS);
    console.log(`[alerting] labelled metric moved → webhook received: ${delivery.receivedAt - movedAt} ms`);
    const parsed = parseAlertmanager(delivery.body, { receivedAt: new Date(delivery.receivedAt).toISOString() });
    if (!parsed.ok) throw new Error(parsed.reason);
    const s = parsed.signals.find((x) => x.labels.alertname === 'DemoCanaryUsed')!;
    expect(s.runId).toBe(runId);
    expect(s.severity).toBe('high');
    await move(target!, 'demo_canary_hits', 0, { [RUN_LABEL]: runId });
  });
});
