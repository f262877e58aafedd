/**
 * A real Alertmanager routes alerts into Bulwark's webhook (/v1/signals/alertmanager over real
 * loopback HTTP, with a source-bound token), and triage makes one case of them: the firing alert
 * opens a case, a second alert with the same group key (alertname, another instance) joins it,
 * the resolution Alertmanager sends is recorded on the case, and the case escalates into an
 * incident whose timeline starts with the case's. Alerts are posted to Alertmanager's API, as
 * Prometheus would post them (Prometheus itself is tested in alertmanager.test.ts).
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/app/access/tokens.ts';
import { escalateCase } from '../../src/app/incidents/cases.ts';
import { triageOnce } from '../../src/app/incidents/triage.ts';
import { cliActor, systemActor } from '../../src/core/ledger/actor.ts';
import { bearer, makeTestApp, type TestApp } from '../support/app.ts';
import { alertingAvailable, startAlerting, startMetricsTarget, type AlertingStack, type MetricsTarget } from '../support/prometheus.ts';

const DEADLINE_MS = 15_000;

describe.skipIf(!alertingAvailable())('incidents from a real Alertmanager', () => {
  let t: TestApp | undefined;
  let stack: AlertingStack | undefined;
  let metrics: MetricsTarget | undefined;

  beforeAll(async () => {
    t = await makeTestApp();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (t.app.server.address() as AddressInfo).port;
    const { token } = await createToken(t.deps, systemActor('test'), { name: 'alertmanager', scopes: ['signals:ingest:alertmanager'] });
    metrics = await startMetricsTarget({});
    stack = await startAlerting({
      rules: 'name: none\nrules: []\n',
      scrapeTargets: [metrics.hostPort],
      waitForTargets: false,
      webhookUrl: `http://127.0.0.1:${port}/v1/signals/alertmanager`,
      webhookBearerToken: token,
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await metrics?.stop();
    await t?.close();
  });

  /** Post alerts to Alertmanager's API, as Prometheus does. */
  async function post(alerts: object[]): Promise<void> {
    const res = await fetch(`${stack!.alertmanagerUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts),
      signal: AbortSignal.timeout(3000),
    });
    expect(res.status, await res.text()).toBe(200);
  }

  /** Wait (bounded) until Bulwark holds `n` signals from Alertmanager. */
  async function signals(n: number): Promise<{ id: string; resolved: boolean; labels: Record<string, string> }[]> {
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      const r = await t!.app.inject({ url: '/v1/signals?source=alertmanager&limit=50', headers: bearer(t!.adminToken) });
      const list = (r.json<{ signals: { id: string; resolved: boolean; labels: Record<string, string> }[] }>().signals ?? []).filter(
        (s) => s.labels.alertname === 'IncidentCredentialStuffing',
      );
      if (list.length >= n) return list;
      if (Date.now() > deadline) throw new Error(`${list.length} of ${n} signals after ${DEADLINE_MS} ms\n${stack!.logTail()}`);
      await sleep(100);
    }
  }

  it(
    'opens a case, groups a second alert into it, records the resolution, escalates into an incident',
    { timeout: 3 * DEADLINE_MS + 5000 },
    async () => {
      const labels = { alertname: 'IncidentCredentialStuffing', severity: 'critical', service: 'login' };
      const startsAt = new Date().toISOString();
      await post([{ labels: { ...labels, instance: 'web-1' }, startsAt, annotations: { summary: 'credential stuffing' } }]);
      await signals(1);
      const first = await triageOnce(t!.deps);
      expect(first.opened).toHaveLength(1);
      const caseId = first.opened[0]!;

      await post([{ labels: { ...labels, instance: 'web-2' }, startsAt }]);
      await signals(2);
      const second = await triageOnce(t!.deps);
      expect(second).toMatchObject({ opened: [], grouped: 1 });

      // Resolved: the alert ends; Alertmanager sends the resolution of its group.
      await post([{ labels: { ...labels, instance: 'web-1' }, startsAt, endsAt: new Date().toISOString() }]);
      const all = await signals(3);
      expect(all.filter((s) => s.resolved).map((s) => s.labels.instance)).toEqual(['web-1']);
      expect(await triageOnce(t!.deps)).toMatchObject({ opened: [], grouped: 1 });

      const c = await t!.deps.store.incidents.getCase(caseId);
      expect(c).toMatchObject({ state: 'new', items: 3, rule: 'critical-signals' });
      const links = await t!.deps.store.incidents.caseLinks(caseId);
      expect(links.map((l) => l.resolved)).toEqual([false, false, true]);

      const { incident } = await escalateCase(t!.deps, cliActor('olga'), caseId, { severity: 'SEV2', priority: 'P1' });
      const detail = await t!.app.inject({ url: `/v1/incidents/${incident.id}`, headers: bearer(t!.adminToken) });
      const kinds = detail.json<{ timeline: { kind: string }[] }>().timeline.map((e) => e.kind);
      expect(kinds.slice(0, 3)).toEqual(['case.opened', 'case.grouped', 'case.grouped']);
      expect(kinds).toContain('incident.declared');
      expect(kinds).toContain('case.escalated');
    },
  );
});
