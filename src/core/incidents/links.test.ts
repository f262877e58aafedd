import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.ts';
import { checkImpactStart, checkLinks, covers, impactWindow, runVerdict } from './links.ts';

describe('incident links', () => {
  it('checks links: techniques upper-cased and deduplicated, a clear error naming a bad one', () => {
    expect(checkLinks({ slos: ['a', 'a'], techniques: ['t1110.004', 'T1110.004'] })).toEqual({ slos: ['a'], techniques: ['T1110.004'] });
    expect(() => checkLinks({ techniques: ['T111'] })).toThrow(/'T111' is not an ATT&CK technique id/);
    expect(() => checkLinks({ slos: ['-x'] })).toThrow(/'-x' is not an SLO name/);
  });

  it('never fails on any input but with a DomainError (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 60 }), fc.array(fc.string(), { maxLength: 60 }), (slos, techniques) => {
        try {
          const r = checkLinks({ slos, techniques });
          expect(r.techniques.every((t) => /^T\d{4}(\.\d{3})?$/.test(t))).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(DomainError);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('matches techniques and sub-techniques both ways, not prefixes of other ids', () => {
    expect(covers('T1110.004', 'T1110')).toBe(true);
    expect(covers('T1110', 'T1110.004')).toBe(true);
    expect(covers('T1110.001', 'T1110.004')).toBe(false);
    expect(covers('T111', 'T1110')).toBe(false);
  });

  it('predicts from the last run before the impact; the window ends at mitigation, or now', () => {
    const runs = [
      { id: 'a', outcome: 'missed', endedAt: '2026-01-01T09:00:00.000Z' },
      { id: 'b', outcome: 'detected', endedAt: '2026-01-01T08:00:00.000Z' },
      { id: 'c', outcome: 'detected', endedAt: '2026-01-01T11:00:00.000Z' },
    ];
    expect(runVerdict(runs, '2026-01-01T10:00:00.000Z')).toMatchObject({ predicted: true, lastBefore: { id: 'a' }, latest: { id: 'c' } });
    expect(runVerdict(runs, '2026-01-01T07:00:00.000Z')).toMatchObject({ predicted: null, lastBefore: null });
    const i = { impactStartedAt: null, declaredAt: '2026-01-01T10:00:00.000Z', mitigatedAt: null, resolvedAt: null };
    expect(impactWindow(i, '2026-01-01T12:00:00.000Z')).toEqual({ from: i.declaredAt, to: '2026-01-01T12:00:00.000Z', ongoing: true });
  });

  it('bounds the impact start: at most 90 days before the declaration, refused beyond, clamped for one recorded before the bound', () => {
    const now = '2026-05-10T12:00:00.000Z';
    expect(() => checkImpactStart('0001-01-01T00:00:00Z', now)).toThrow(/impactStartedAt is more than 90 days before the declaration/);
    expect(() => checkImpactStart('2026-02-09T11:59:59Z', now)).toThrow(/impactStartedAt/);
    expect(() => checkImpactStart('2026-05-10T12:00:01Z', now)).toThrow(/impactStartedAt is in the future/);
    expect(() => checkImpactStart('2026-02-09T12:00:00Z', now)).not.toThrow();
    expect(() => checkImpactStart(null, now)).not.toThrow();
    const old = { impactStartedAt: '0001-01-01T00:00:00.000Z', declaredAt: now, mitigatedAt: null, resolvedAt: null };
    expect(impactWindow(old, now).from).toBe('2026-02-09T12:00:00.000Z');
  });
});
