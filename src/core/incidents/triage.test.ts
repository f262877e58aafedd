import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { defaultSettings, parseIncidentSettings } from './settings.ts';
import { triage, type TriageItem } from './triage.ts';

const T0 = Date.UTC(2026, 0, 1, 10, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const signal = (
  n: number,
  labels: Record<string, string>,
  extra: { resolved?: boolean; severity?: string; source?: string } = {},
): TriageItem => ({
  kind: 'signal',
  ref: `sig_${n}`,
  at: at(n),
  signal: {
    id: `sig_${n}`,
    source: extra.source ?? 'alertmanager',
    time: at(n),
    receivedAt: at(n),
    severity: extra.severity ?? 'high',
    labels,
    body: {},
    fingerprint: String(n),
    resolved: extra.resolved ?? false,
    runId: '',
  },
});

const rules = (() => {
  const r = parseIncidentSettings(`apiVersion: bulwark/v1
kind: IncidentSettings
rules:
  - name: waf
    title: WAF alert
    on: signal
    match: signal.labels.alertname == "Waf"
    groupBy: [labels.alertname, labels.service]
    window: 10m
    severity: { map: { critical: critical }, default: medium }
`);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.settings.rules;
})();

describe('triage', () => {
  it('makes a storm of alerts with one group key one case, and another key another case', () => {
    const items = Array.from({ length: 50 }, (_, i) => signal(i, { alertname: 'Waf', service: i % 10 === 9 ? 'api' : 'shop' }));
    const d = triage(rules, items, []);
    const opened = d.filter((x) => x.action === 'open');
    expect(opened).toEqual([
      { action: 'open', rule: 'waf', groupKey: '["Waf","shop"]', severity: 'medium', title: 'WAF alert: Waf / shop' },
      { action: 'open', rule: 'waf', groupKey: '["Waf","api"]', severity: 'medium', title: 'WAF alert: Waf / api' },
    ]);
    expect(d.filter((x) => x.action === 'join')).toHaveLength(48);
    expect(d[1]).toMatchObject({ action: 'join', target: { opened: 0 } });
  });

  it('joins an open case within its window, opens a new one after it, and never opens for a resolved alert', () => {
    const open = [{ caseId: 7, rule: 'waf', groupKey: '["Waf","shop"]', lastSeenAt: at(0) }];
    expect(triage(rules, [signal(600, { alertname: 'Waf', service: 'shop' })], open)[0]).toMatchObject({
      action: 'join',
      target: { caseId: 7 },
    });
    expect(triage(rules, [signal(601, { alertname: 'Waf', service: 'shop' })], open)[0]).toMatchObject({ action: 'open' });
    expect(triage(rules, [signal(5, { alertname: 'Waf', service: 'shop' }, { resolved: true })], open)[0]).toMatchObject({
      action: 'join',
    });
    expect(triage(rules, [signal(5, { alertname: 'Waf', service: 'x' }, { resolved: true })], open)[0]).toEqual({ action: 'skip' });
    expect(triage(rules, [signal(5, { alertname: 'Other' })], open)[0]).toEqual({ action: 'skip' });
  });

  it('maps severity and opens a case for a missed run by the default rules', () => {
    const s = defaultSettings();
    const run: TriageItem = { kind: 'run', ref: 'r1', at: at(0), run: { id: 'r1', experiment: 'sqli', outcome: 'missed', reason: 'x' } };
    expect(triage(s.rules, [run], [])[0]).toEqual({
      action: 'open',
      rule: 'missed-detection',
      groupKey: '["sqli"]',
      severity: 'high',
      title: 'Experiment run not detected: sqli',
    });
    expect(triage(s.rules, [{ ...run, run: { ...run.run, outcome: 'detected' } }], [])[0]).toEqual({ action: 'skip' });
    const burn = signal(1, { alertname: 'SloBurnRate', slo: 'sqli-detected' }, { source: 'bulwark', severity: 'critical' });
    expect(triage(s.rules, [burn], [])[0]).toMatchObject({ action: 'open', rule: 'slo-burn', severity: 'high' });
  });

  it('opens at most one case per group key and window, whatever the order of a burst (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ s: fc.integer({ min: 0, max: 500 }), svc: fc.constantFrom('a', 'b', 'c') }), { maxLength: 60 }),
        (xs) => {
          const items = xs
            .sort((p, q) => p.s - q.s)
            .map((x, i) => ({ ...signal(x.s, { alertname: 'Waf', service: x.svc }), ref: String(i) }));
          const d = triage(rules, items, []);
          const keys = d.filter((x) => x.action === 'open').map((x) => (x as { groupKey: string }).groupKey);
          expect(new Set(keys).size).toBe(keys.length); // within 500 s < the 10-minute window
          expect(new Set(keys)).toEqual(new Set(xs.map((x) => `["Waf","${x.svc}"]`)));
        },
      ),
      { numRuns: 100 },
    );
  });
});
