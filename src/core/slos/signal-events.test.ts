import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runEvent, type RunFacts } from './run-events.ts';
import { signalEvent, signalFilters } from './signal-events.ts';
import { parseSloFile } from './slo-file.ts';
import type { Sli } from './types.ts';

const file = (sli: string) => `apiVersion: bulwark/v1
kind: SLO
name: waf-alerts-critical
service: shop
objective: 95
window: 7d
sli:
${sli}
`;

const signal = (over: Partial<Parameters<typeof signalEvent>[1]> = {}) => ({
  id: 'sig_1',
  source: 'alertmanager',
  time: '2026-06-15T10:00:00.000Z',
  receivedAt: '2026-06-15T10:00:01.000Z',
  severity: 'critical',
  labels: { alertname: 'WafBlock', rule: '942100' },
  body: {},
  fingerprint: 'f',
  resolved: false,
  ...over,
});

describe('signal SLIs', () => {
  const r = parseSloFile(
    file(`  signals:
    total: signal.source == "alertmanager" && signal.labels.alertname == "WafBlock"
    good: signal.severity == "critical"`),
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const sli = r.slos[0]!.sli as Extract<Sli, { source: 'signals' }>;
  const f = signalFilters(sli);

  it('counts a signal matching total at its receipt, good when it matches good too', () => {
    expect(signalEvent(f, signal())).toEqual({ at: Date.parse('2026-06-15T10:00:01.000Z'), good: 1, total: 1 });
    expect(signalEvent(f, signal({ severity: 'warning' }))).toMatchObject({ good: 0, total: 1 });
    expect(signalEvent(f, signal({ labels: { alertname: 'Other' } }))).toBeUndefined();
  });

  it('leaves resolutions out: a resolved alert is not an event', () => {
    expect(signalEvent(f, signal({ resolved: true }))).toBeUndefined();
  });

  it('refuses an expression that does not type-check, at its line, saying what to fix', () => {
    const bad = parseSloFile(file(`  signals:\n    total: signal.lables.rule == "1"\n    good: '"yes"'`));
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.map((e) => `${e.path}@${e.line}: ${e.message}`)).toEqual([
      expect.stringMatching(/^sli\.signals\.total@9: total: CEL error: .*lables/),
      expect.stringMatching(/^sli\.signals\.good@10: good: expression yields string, not bool/),
    ]);
  });

  it('any expression text is compiled or refused with a reason, never a crash', () => {
    const atom = fc.constantFrom(
      'signal.severity',
      'signal.labels.x',
      '"a"',
      '1',
      'true',
      'run.id',
      'signal.body.n',
      '(',
      ')',
      '==',
      '&&',
      '!',
      'size(',
    );
    fc.assert(
      fc.property(fc.array(atom, { maxLength: 6 }), fc.string({ maxLength: 20 }), (parts, noise) => {
        const expr = JSON.stringify(parts.join(' ') + noise);
        const p = parseSloFile(file(`  signals:\n    total: ${expr}\n    good: "true"`));
        if (p.ok) expect(signalEvent(signalFilters(p.slos[0]!.sli as Extract<Sli, { source: 'signals' }>), signal())).not.toBeNull();
        else expect(p.errors[0]!.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 100 },
    );
  });
});

describe('time-to-detect SLIs', () => {
  const sli: Sli = { source: 'time-to-detect', select: { tag: 'waf' }, thresholdMs: 60_000 };
  const run = (outcome: string, ttdMs: number | null): RunFacts => ({
    experiment: 'e',
    outcome,
    endedAt: '2026-06-15T10:00:00.000Z',
    dryRun: false,
    ttdMs,
    techniques: [],
    tags: ['waf'],
    detectionsExpected: 1,
  });
  it('counts runs detected under the threshold as good; not-run and aborted never count as good or total', () => {
    expect(runEvent(sli, run('detected', 59_000))).toMatchObject({ good: 1, total: 1 });
    expect(runEvent(sli, run('detected-late', 61_000))).toMatchObject({ good: 0, total: 1 });
    expect(runEvent(sli, run('missed', null))).toMatchObject({ good: 0, total: 1 });
    expect(runEvent(sli, run('not-run', 1))).toBeUndefined();
    expect(runEvent(sli, run('aborted', 1))).toBeUndefined();
  });
});
