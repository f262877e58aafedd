import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assignRole, closeMove, escalateMove, overlapping, statusMove, triageMove, type RoleInterval } from './model.ts';
import { DEFAULT_RESOLUTIONS } from './settings.ts';

const t = (m: number) => new Date(Date.UTC(2026, 0, 1, 10, m)).toISOString();

describe('cases', () => {
  it('moves new → triage on acknowledge or assign, and refuses it on a closed case', () => {
    expect(triageMove(1, 'new', 'acknowledge')).toBe('triage');
    expect(triageMove(1, 'triage', 'assign')).toBe('triage');
    expect(() => triageMove(1, 'closed', 'assign')).toThrow(/case 1 is closed/);
  });
  it('closes only with a resolution from the taxonomy', () => {
    expect(closeMove(1, 'triage', 'false-positive', DEFAULT_RESOLUTIONS)).toBe('closed');
    expect(() => closeMove(1, 'triage', 'meh', DEFAULT_RESOLUTIONS)).toThrow(/not in the taxonomy; use one of benign, false-positive/);
    expect(() => closeMove(1, 'escalated', 'benign', DEFAULT_RESOLUTIONS)).toThrow(/escalated already/);
  });
  it('escalates an open case once', () => {
    expect(escalateMove(1, 'new')).toBe('escalated');
    expect(() => escalateMove(1, 'escalated')).toThrow(/only an open case/);
  });
});

describe('incident status', () => {
  it('moves forward, may skip, may flare up to active again, and never leaves closed', () => {
    expect(statusMove(1, 'active', 'mitigated')).toBe('mitigated');
    expect(statusMove(1, 'active', 'resolved')).toBe('resolved');
    expect(statusMove(1, 'resolved', 'active')).toBe('active');
    expect(() => statusMove(1, 'resolved', 'mitigated')).toThrow(/can move on \(closed\) or become active again/);
    expect(() => statusMove(1, 'closed', 'active')).toThrow(/closed; declare a new incident/);
    expect(() => statusMove(1, 'active', 'active')).toThrow(/active already/);
  });
});

describe('command roles as intervals', () => {
  it('hands off at one instant: the old interval closes when the new one opens', () => {
    const first = assignRole([], 'commander', 'alice', t(0));
    expect(first).toEqual({ open: { role: 'commander', holder: 'alice', from: t(0), to: null } });
    const second = assignRole([first.open], 'commander', 'bob', t(5));
    expect(second.close).toEqual({ role: 'commander', holder: 'alice', from: t(0), to: t(5) });
    expect(second.open).toEqual({ role: 'commander', holder: 'bob', from: t(5), to: null });
  });

  it('refuses an interval that would overlap another of the same role', () => {
    const held: RoleInterval[] = [
      { role: 'commander', holder: 'alice', from: t(0), to: t(10) },
      { role: 'commander', holder: 'bob', from: t(10), to: null },
    ];
    expect(() => assignRole(held, 'commander', 'carol', t(5))).toThrow(/held by alice .* cannot start inside it/);
    expect(() => assignRole(held, 'commander', 'carol', t(9))).toThrow(/inside it/);
    expect(() => assignRole([{ role: 'scribe', holder: 'a', from: t(10), to: null }], 'scribe', 'b', t(5))).toThrow(/cannot start before/);
    expect(() => assignRole(held, 'commander', 'bob', t(12))).toThrow(/holds Incident commander already/);
    // Another role is independent.
    expect(assignRole(held, 'scribe', 'carol', t(5)).close).toBeUndefined();
  });

  it('never produces overlapping intervals, whatever the sequence of assignments (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            role: fc.constantFrom('commander', 'scribe' as const),
            holder: fc.constantFrom('a', 'b', 'c'),
            m: fc.integer({ min: 0, max: 60 }),
          }),
          { maxLength: 20 },
        ),
        (steps) => {
          let held: RoleInterval[] = [];
          for (const s of steps) {
            try {
              const r = assignRole(held, s.role, s.holder, t(s.m));
              held = held.map((i) => (r.close && i.role === r.close.role && i.to === null ? r.close : i));
              held.push(r.open);
            } catch {
              /* refused: nothing changes */
            }
          }
          expect(overlapping(held)).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });
});
