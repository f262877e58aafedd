/**
 * The outcome's assembly from what a run's phases found. The phases themselves are exercised end
 * to end by run-experiment.test.ts and run-clock.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { decideOutcome } from '../../../core/experiments/outcome.ts';
import type { DetectionMatch } from './detections.ts';
import { firstTtd, runSummary } from './run-execution.ts';

const ok = [{ ok: true, name: 'restore' }];
const detection = (name: string, detectedAfterMs?: number) => ({
  name,
  deadlineMs: 1000,
  ...(detectedAfterMs !== undefined ? { detectedAfterMs } : {}),
});

describe('runSummary', () => {
  it('leaves out what no phase found', () => {
    expect(runSummary({ gate: 'skipped' }, [], undefined, [])).toStrictEqual({ rollbacks: [], gate: 'skipped', detections: [] });
  });

  it('carries every finding, a stop and the detections', () => {
    const found = { gate: 'passed' as const, error: 'boom', blocked: { asked: true, held: false }, steadyAfter: 'deviated' as const };
    expect(runSummary(found, ok, 'stopped by alice', [detection('waf', 120)])).toStrictEqual({
      rollbacks: ok,
      gate: 'passed',
      aborted: { reason: 'stopped by alice' },
      error: 'boom',
      blocked: { asked: true, held: false },
      detections: [detection('waf', 120)],
      steadyStateAfter: 'deviated',
    });
  });

  it('decides in the outcome order: rollbacks, gate, stop, error, then the expectations', () => {
    const decide = (...a: Parameters<typeof runSummary>) => decideOutcome(runSummary(...a)).outcome;
    expect(decide({ gate: 'failed', error: 'x' }, [{ ok: false, name: 'restore' }], 'stopped', [])).toBe('rollback-failed');
    expect(decide({ gate: 'failed', error: 'x' }, ok, 'stopped', [])).toBe('not-run');
    expect(decide({ gate: 'passed', error: 'x' }, ok, 'stopped', [])).toBe('aborted');
    expect(decide({ gate: 'passed', error: 'x' }, ok, undefined, [])).toBe('errored');
    expect(decide({ gate: 'passed', blocked: { asked: true, held: true } }, ok, undefined, [detection('waf', 120)])).toBe('prevented');
    expect(decide({ gate: 'passed', blocked: { asked: true, held: false } }, ok, undefined, [detection('waf', 120)])).toBe('detected');
    expect(decide({ gate: 'passed' }, ok, undefined, [detection('waf', 1500)])).toBe('detected-late');
    expect(decide({ gate: 'passed' }, ok, undefined, [detection('waf')])).toBe('missed');
    expect(decide({ gate: 'skipped', steadyAfter: 'held' }, ok, undefined, [])).toBe('prevented');
    expect(decide({ gate: 'passed', steadyAfter: 'deviated' }, ok, undefined, [])).toBe('missed');
  });
});

describe('firstTtd', () => {
  it('is the earliest match, or null without one', () => {
    const m = (ttdMs: number) => ({ ttdMs }) as DetectionMatch;
    expect(firstTtd([])).toBeNull();
    expect(firstTtd([m(300), m(120), m(250)])).toBe(120);
  });
});
