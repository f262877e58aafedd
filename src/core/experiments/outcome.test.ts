import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EXIT_CODES, OUTCOMES, decideOutcome, exitCodeFor, type RunSummary } from './outcome.ts';

const base: RunSummary = { rollbacks: [{ ok: true }], gate: 'passed', detections: [] };
const inTime = { name: 'waf-alert', deadlineMs: 120_000, detectedAfterMs: 4_000 };
const late = { name: 'waf-alert', deadlineMs: 120_000, detectedAfterMs: 180_000 };
const never = { name: 'waf-alert', deadlineMs: 120_000 };

describe('decideOutcome: each of the eight outcomes', () => {
  it('rollback-failed when any rollback failed, whatever else happened', () => {
    const d = decideOutcome({ ...base, rollbacks: [{ ok: true }, { ok: false, name: 'restore-config' }], gate: 'failed', error: 'boom' });
    expect(d).toEqual({
      outcome: 'rollback-failed',
      reason: 'rollback failed: restore-config; the system may not be restored',
      expectationsMet: false,
    });
  });

  it('not-run when the steady-state gate failed before the method', () => {
    expect(decideOutcome({ ...base, gate: 'failed', aborted: { reason: 'stop' } }).outcome).toBe('not-run');
  });

  it('aborted when a safety condition tripped or a person stopped it', () => {
    const d = decideOutcome({ ...base, aborted: { reason: 'error-rate-low failed its tolerance' }, error: 'x', detections: [inTime] });
    expect(d).toMatchObject({ outcome: 'aborted', reason: 'aborted: error-rate-low failed its tolerance' });
  });

  it('errored when the run could not complete', () => {
    expect(decideOutcome({ ...base, error: 'connection refused', blocked: { asked: true, held: true } }).outcome).toBe('errored');
  });

  it('prevented when blocking held and every detection met its deadline', () => {
    const d = decideOutcome({ ...base, blocked: { asked: true, held: true }, detections: [inTime] });
    expect(d).toEqual({ outcome: 'prevented', reason: 'blocked, and every detection met its deadline', expectationsMet: true });
  });

  it('detected when not blocked but detected in time', () => {
    const d = decideOutcome({ ...base, blocked: { asked: true, held: false }, detections: [inTime] });
    expect(d).toMatchObject({ outcome: 'detected', expectationsMet: false });
    // A detection-only experiment that detected in time met everything it asked.
    expect(decideOutcome({ ...base, detections: [inTime] })).toMatchObject({ outcome: 'detected', expectationsMet: true });
  });

  it('detected-late when a detection came after its deadline', () => {
    const d = decideOutcome({ ...base, blocked: { asked: true, held: true }, detections: [inTime, { ...late, name: 'audit' }] });
    expect(d).toEqual({
      outcome: 'detected-late',
      reason: 'blocked; detected late: audit after 180000ms (deadline 120000ms)',
      expectationsMet: false,
    });
  });

  it('missed when a detection never came, even if blocked', () => {
    expect(decideOutcome({ ...base, blocked: { asked: true, held: true }, detections: [never] })).toMatchObject({
      outcome: 'missed',
      reason: 'blocked; not detected: waf-alert',
    });
    expect(decideOutcome({ ...base, blocked: { asked: true, held: false } })).toMatchObject({ outcome: 'missed' });
  });
});

describe('decideOutcome where the issue is silent', () => {
  it('blocked and held with no detection asked is prevented', () => {
    expect(decideOutcome({ ...base, blocked: { asked: true, held: true } })).toMatchObject({ outcome: 'prevented', reason: 'blocked' });
  });

  it('with nothing asked, the steady state after the method decides', () => {
    expect(decideOutcome(base)).toMatchObject({ outcome: 'prevented', expectationsMet: true });
    expect(decideOutcome({ ...base, steadyStateAfter: 'deviated' })).toMatchObject({ outcome: 'missed' });
  });

  it('a deviated steady state counts as a failed block', () => {
    expect(
      decideOutcome({ ...base, blocked: { asked: true, held: true }, steadyStateAfter: 'deviated', detections: [inTime] }),
    ).toMatchObject({
      outcome: 'detected',
      expectationsMet: false,
    });
  });

  it('a detection exactly at its deadline is in time; a skipped gate does not stop the run', () => {
    expect(decideOutcome({ ...base, gate: 'skipped', detections: [{ name: 'x', deadlineMs: 1000, detectedAfterMs: 1000 }] }).outcome).toBe(
      'detected',
    );
  });
});

describe('exit codes', () => {
  it('are 0 only when everything asked was met, and distinct per failing outcome', () => {
    expect(exitCodeFor(decideOutcome({ ...base, blocked: { asked: true, held: true } }))).toBe(0);
    expect(exitCodeFor(decideOutcome({ ...base, detections: [inTime] }))).toBe(0);
    expect(exitCodeFor(decideOutcome({ ...base, blocked: { asked: true, held: false }, detections: [inTime] }))).toBe(EXIT_CODES.detected);
    const failing = OUTCOMES.filter((o) => o !== 'prevented').map((o) => EXIT_CODES[o]);
    expect(new Set(failing).size).toBe(failing.length);
    expect(failing.every((c) => c > 2 && c < 126)).toBe(true);
  });
});

const summaryArb: fc.Arbitrary<RunSummary> = fc.record(
  {
    rollbacks: fc.array(fc.record({ ok: fc.boolean() }), { maxLength: 3 }),
    gate: fc.constantFrom('passed' as const, 'failed' as const, 'skipped' as const),
    aborted: fc.option(fc.record({ reason: fc.string() }), { nil: undefined }),
    error: fc.option(fc.string(), { nil: undefined }),
    blocked: fc.option(fc.record({ asked: fc.boolean(), held: fc.boolean() }), { nil: undefined }),
    detections: fc.array(
      fc.record({
        name: fc.string(),
        deadlineMs: fc.integer({ min: 0, max: 1000 }),
        detectedAfterMs: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: undefined }),
      }),
      { maxLength: 3 },
    ),
    steadyStateAfter: fc.option(fc.constantFrom('held' as const, 'deviated' as const), { nil: undefined }),
  },
  { requiredKeys: ['rollbacks', 'gate', 'detections'] },
);

describe('decideOutcome properties', () => {
  it('follows the order of precedence of the issue', () => {
    fc.assert(
      fc.property(summaryArb, (s) => {
        const { outcome } = decideOutcome(s);
        const first = s.rollbacks.some((r) => !r.ok)
          ? 'rollback-failed'
          : s.gate === 'failed'
            ? 'not-run'
            : s.aborted
              ? 'aborted'
              : s.error !== undefined
                ? 'errored'
                : undefined;
        if (first !== undefined) {
          expect(outcome).toBe(first);
          return;
        }
        expect(['prevented', 'detected', 'detected-late', 'missed']).toContain(outcome);
        const missing = s.detections.some((d) => d.detectedAfterMs === undefined);
        const anyLate = s.detections.some((d) => d.detectedAfterMs !== undefined && d.detectedAfterMs > d.deadlineMs);
        if (missing) expect(outcome).toBe('missed');
        else if (anyLate) expect(outcome).toBe('detected-late');
        if (outcome === 'prevented') {
          expect(missing || anyLate).toBe(false);
          expect(s.blocked?.asked ? s.blocked.held : s.detections.length === 0).toBe(true);
        }
        if (outcome === 'detected') expect(s.detections.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('exits 0 exactly when the expectations were met, which only prevented and detected can be', () => {
    fc.assert(
      fc.property(summaryArb, (s) => {
        const d = decideOutcome(s);
        expect(exitCodeFor(d) === 0).toBe(d.expectationsMet);
        if (d.expectationsMet) expect(['prevented', 'detected']).toContain(d.outcome);
      }),
      { numRuns: 500 },
    );
  });

  it('reaches every one of the eight outcomes', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(summaryArb, (s) => {
        seen.add(decideOutcome(s).outcome);
      }),
      { numRuns: 2000, seed: 42 },
    );
    expect([...seen].sort()).toEqual([...OUTCOMES].sort());
  });
});
