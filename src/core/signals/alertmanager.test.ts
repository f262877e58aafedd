import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseAlertmanager } from './alertmanager.ts';
import { anyText, expectClearReason, expectValidSignal, jsonMutation } from './fuzz.test-support.ts';

const RUN = 'r7k2m9x4p1';
const receivedAt = '2026-03-01T10:00:05.250Z';

/** What Alertmanager 0.25 posts for a group with one firing and one resolved alert. */
function payload() {
  return {
    receiver: 'bulwark',
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'LoginFailuresBurst', instance: '127.0.0.1:8081', job: 'demo-shop', severity: 'warning', bulwark_run: RUN },
        annotations: { summary: 'Login failures above 20/min on demo-shop', runbook_url: 'https://runbooks.example/login' },
        startsAt: '2026-03-01T10:00:01.739266876Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://127.0.0.1:9090/graph?g0.expr=rate%28login_failures_total%5B1m%5D%29+%3E+20&g0.tab=1',
        fingerprint: '1a30ba71cca2921f',
      },
      {
        status: 'resolved',
        labels: { alertname: 'WafBlockRate', instance: '127.0.0.1:8080', job: 'nginx', severity: 'critical' },
        annotations: { description: 'WAF blocks above baseline' },
        startsAt: '2026-03-01T09:40:00Z',
        endsAt: '2026-03-01T09:58:30.5+00:00',
        generatorURL: 'http://127.0.0.1:9090/graph?g0.expr=waf_blocks',
        fingerprint: 'c6eadffa33fcdf37',
      },
    ],
    groupLabels: { job: 'demo-shop' },
    commonLabels: { job: 'demo-shop' },
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    version: '4',
    groupKey: '{}:{job="demo-shop"}',
    truncatedAlerts: 0,
  };
}

function parse(p: unknown, at = receivedAt) {
  const r = parseAlertmanager(p, { receivedAt: at });
  if (!r.ok) throw new Error(r.reason);
  return r;
}

describe('Alertmanager webhook payload version 4', () => {
  it('turns each alert into one signal, with labels, severity, time and run id', () => {
    const { signals, truncatedAlerts } = parse(payload());
    expect(truncatedAlerts).toBe(0);
    expect(signals).toHaveLength(2);
    const firing = signals[0];
    expect(firing).toMatchObject({
      source: 'alertmanager',
      time: '2026-03-01T10:00:01.739Z',
      receivedAt,
      severity: 'medium',
      labels: { alertname: 'LoginFailuresBurst', severity: 'warning', job: 'demo-shop', bulwark_run: RUN },
      runId: RUN,
      resolved: false,
    });
    expect(firing!.body).toMatchObject({
      receiver: 'bulwark',
      groupKey: '{}:{job="demo-shop"}',
      alert: { annotations: { summary: 'Login failures above 20/min on demo-shop' } },
    });
    signals.forEach(expectValidSignal);
  });

  it('flags a resolved alert and dates it at its end, so matching can ignore it', () => {
    const resolved = parse(payload()).signals[1]!;
    expect(resolved.resolved).toBe(true);
    expect(resolved.time).toBe('2026-03-01T09:58:30.500Z');
    expect(resolved.severity).toBe('critical');
    expect(resolved.runId).toBeUndefined();
  });

  it('gives a resent alert the same fingerprint and id (group_interval resends, HA replicas)', () => {
    const first = parse(payload()).signals;
    const resend = payload();
    resend.alerts[0]!.endsAt = '2026-03-01T10:04:01Z'; // Prometheus moves endsAt on every resend
    resend.alerts.reverse();
    const again = parse(resend, '2026-03-01T10:05:05.000Z').signals;
    expect(again.map((s) => s.fingerprint).sort()).toEqual(first.map((s) => s.fingerprint).sort());
    expect(again.map((s) => s.id).sort()).toEqual(first.map((s) => s.id).sort());
  });

  it('makes a resolution, or a re-fire with a new startsAt, a new signal', () => {
    const firing = parse(payload()).signals[0]!;
    const p = payload();
    p.alerts[0]!.status = 'resolved';
    expect(parse(p).signals[0]!.fingerprint).not.toBe(firing.fingerprint);
    const refire = payload();
    refire.alerts[0]!.startsAt = '2026-03-01T11:00:00Z';
    expect(parse(refire).signals[0]!.fingerprint).not.toBe(firing.fingerprint);
  });

  it('scopes the key by source, so one sender cannot pre-empt another', () => {
    const a = parseAlertmanager(payload(), { receivedAt, source: 'am-prod' });
    const b = parseAlertmanager(payload(), { receivedAt, source: 'am-staging' });
    expect(a.ok && b.ok && a.signals[0]!.fingerprint !== b.signals[0]!.fingerprint).toBe(true);
  });

  it('falls back to the label set when an old Alertmanager sends no fingerprint', () => {
    const p = payload();
    const q = payload();
    delete (p.alerts[0] as { fingerprint?: string }).fingerprint;
    delete (q.alerts[0] as { fingerprint?: string }).fingerprint;
    q.alerts[0]!.labels = {
      bulwark_run: RUN,
      severity: 'warning',
      job: 'demo-shop',
      instance: '127.0.0.1:8081',
      alertname: 'LoginFailuresBurst',
    };
    expect(parse(p).signals[0]!.fingerprint).toBe(parse(q).signals[0]!.fingerprint);
  });

  it('maps severity labels and defaults to medium', () => {
    const sev = (severity?: string) => {
      const p = payload();
      const labels: Record<string, string> = { alertname: 'X' };
      if (severity !== undefined) labels.severity = severity;
      p.alerts[0]!.labels = labels as (typeof p.alerts)[0]['labels'];
      return parse(p).signals[0]!.severity;
    };
    expect(sev('critical')).toBe('critical');
    expect(sev('error')).toBe('high');
    expect(sev('warning')).toBe('medium');
    expect(sev('info')).toBe('info');
    expect(sev('whatever')).toBe('medium');
    expect(sev()).toBe('medium');
  });

  it('reads a run id from an annotation, and refuses a hostile one', () => {
    const p = payload();
    p.alerts[1]!.annotations = { description: `canary bwk-canary-${RUN} was used` };
    expect(parse(p).signals[1]!.runId).toBe(RUN);
    const h = payload();
    h.alerts[0]!.labels.bulwark_run = `${RUN}"; DROP TABLE signals`;
    expect(parse(h).signals[0]!.runId).toBeUndefined();
  });

  it('says which field is wrong', () => {
    const p = payload() as Record<string, unknown>;
    p.version = '3';
    const r = parseAlertmanager(p, { receivedAt });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('version: must be "4"');
    const q = payload();
    (q.alerts[1] as Record<string, unknown>).startsAt = 'yesterday';
    const s = parseAlertmanager(q, { receivedAt });
    if (s.ok) throw new Error('accepted a bad startsAt');
    expect(s.issues).toEqual([{ path: 'alerts[1].startsAt', message: 'must be an RFC 3339 timestamp' }]);
    const t = payload();
    (t.alerts[0]!.labels as Record<string, unknown>).severity = 5;
    const u = parseAlertmanager(t, { receivedAt });
    expect(!u.ok && u.reason).toMatch(/alerts\[0\]\.labels\.severity: /);
  });

  it('keeps fields added by Alertmanager-compatible senders in the body', () => {
    const p = payload();
    (p.alerts[0] as Record<string, unknown>).silenceURL = 'http://grafana/silence';
    expect(parse(p).signals[0]!.body).toMatchObject({ alert: { silenceURL: 'http://grafana/silence' } });
  });

  it('survives any input: arbitrary JSON, text, and mutations of a real payload', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), anyText, jsonMutation(payload())), (input) => {
        const r = parseAlertmanager(input, { receivedAt });
        if (r.ok) r.signals.forEach(expectValidSignal);
        else expectClearReason(r, /^invalid Alertmanager payload: .+: \S/);
      }),
      { numRuns: 2000 },
    );
  });
});
