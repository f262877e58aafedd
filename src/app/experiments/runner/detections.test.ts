import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeSignal, type Signal } from '../../../core/signals/signal.ts';
import { DetectionTracker } from './detections.ts';

const RUN = 'aaaaaaaaaaaaaaaa';
const OTHER = 'bbbbbbbbbbbbbbbb';
const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const iso = (ms: number) => new Date(T0 + ms).toISOString();

let n = 0;
function sig(o: { at: number; sourceAt?: number; runId?: string; rule?: string; resolved?: boolean }): Signal {
  return makeSignal({
    source: 'waf',
    time: iso(o.sourceAt ?? o.at),
    receivedAt: iso(o.at),
    severity: 'high',
    labels: { rule: o.rule ?? '942100' },
    body: {},
    dedup: { kind: 'webhook-id', id: `s${n++}` },
    ...(o.runId !== undefined ? { runId: o.runId } : {}),
    resolved: o.resolved ?? false,
  });
}

const waf = [{ name: 'waf', when: 'signal.labels.rule == "942100"', withinMs: 500 }];

describe('detection tracker', () => {
  it('credits a signal carrying another run id to that run only, even when the expression holds', () => {
    const t = new DetectionTracker(RUN, waf);
    t.injected(T0);
    expect(t.offer(sig({ at: 10, runId: OTHER }))).toEqual([]);
    expect(t.offer(sig({ at: 20, runId: RUN }))).toMatchObject([{ by: 'run-id', ttdMs: 20 }]);
  });

  it('matches a signal without a run id by expression, in the window only', () => {
    const t = new DetectionTracker(RUN, waf);
    t.injected(T0);
    expect(t.offer(sig({ at: -5 }))).toEqual([]);
    expect(t.offer(sig({ at: 30, rule: '941100' }))).toEqual([]);
    expect(t.offer(sig({ at: 40, sourceAt: 25 }))).toMatchObject([{ by: 'expression', ttdMs: 40, sourceTtdMs: 25, late: false }]);
  });

  it('never counts a resolution, and counts a late signal as late', () => {
    const t = new DetectionTracker(RUN, waf);
    t.injected(T0);
    expect(t.offer(sig({ at: 10, runId: RUN, resolved: true }))).toEqual([]);
    expect(t.offer(sig({ at: 700, runId: RUN }))).toMatchObject([{ late: true, ttdMs: 700 }]);
    expect(t.summary()).toEqual([{ name: 'waf', deadlineMs: 500, detectedAfterMs: 700 }]);
  });

  it('judges signals that arrived before the injection time was known, and keeps the earliest receipt', () => {
    const t = new DetectionTracker(RUN, waf);
    t.offer(sig({ at: 300, runId: RUN }));
    t.offer(sig({ at: -100, runId: RUN }));
    expect(t.matches()).toEqual([]);
    t.injected(T0);
    expect(t.matches()).toMatchObject([{ ttdMs: 300 }]);
    // Found later by the store poll, but received earlier: it is the detection.
    t.offer(sig({ at: 120 }));
    expect(t.matches()).toMatchObject([{ ttdMs: 120, by: 'expression' }]);
  });

  it('matches each expectation on its own', () => {
    const t = new DetectionTracker(RUN, [...waf, { name: 'alert', when: 'signal.source == "alertmanager"', withinMs: 1000 }]);
    t.injected(T0);
    t.offer(sig({ at: 10, runId: RUN }));
    expect(t.allMatched()).toBe(false);
    expect(t.summary()).toEqual([
      { name: 'waf', deadlineMs: 500, detectedAfterMs: 10 },
      { name: 'alert', deadlineMs: 1000 },
    ]);
  });

  it('whatever the signals, a run is credited only with signals carrying its id or none', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ at: fc.integer({ min: -100, max: 2000 }), runId: fc.constantFrom(undefined, RUN, OTHER, 'cccccccccccccccc') }),
          { maxLength: 30 },
        ),
        (list) => {
          const t = new DetectionTracker(RUN, waf);
          t.injected(T0);
          const signals = list.map((s) => sig(s));
          for (const s of signals) t.offer(s);
          for (const m of t.matches()) {
            const s = signals.find((x) => x.id === m.signalId)!;
            expect(s.runId === undefined || s.runId === RUN).toBe(true);
            expect(m.by).toBe(s.runId === RUN ? 'run-id' : 'expression');
            expect(Date.parse(s.receivedAt)).toBeGreaterThanOrEqual(T0);
            // The earliest eligible signal is the one credited.
            const eligible = signals.filter((x) => (x.runId === undefined || x.runId === RUN) && Date.parse(x.receivedAt) >= T0);
            expect(m.ttdMs).toBe(Math.min(...eligible.map((x) => Date.parse(x.receivedAt) - T0)));
          }
        },
      ),
    );
  });
});
