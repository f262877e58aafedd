import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApprovalPolicy, evaluatePolicy, mayDecide, type Decision } from './approval-policy.ts';

const d = (id: string, groups: string[], decision: 'approve' | 'deny' = 'approve'): Decision => ({ id, groups, roles: [], decision });
const twoTeams: ApprovalPolicy = {
  rules: [
    { count: 1, groups: ['sre'] },
    { count: 1, groups: ['security'] },
  ],
};

describe('approval policies', () => {
  it('need every rule (AND), one person counting for one rule only', () => {
    expect(evaluatePolicy(twoTeams, 'req', [d('bob', ['sre'])]).state).toBe('pending');
    expect(evaluatePolicy(twoTeams, 'req', [d('dave', ['sre', 'security'])])).toMatchObject({
      state: 'pending',
      missing: [expect.stringMatching(/1 more approval from group/)],
    });
    // dave is matched to whichever rule the other one cannot fill.
    expect(evaluatePolicy(twoTeams, 'req', [d('dave', ['sre', 'security']), d('bob', ['sre'])])).toMatchObject({
      state: 'approved',
      counted: [['bob'], ['dave']],
    });
  });

  it('never count the requester, count a repeated decision once, and deny on the configured denials', () => {
    expect(evaluatePolicy(twoTeams, 'bob', [d('bob', ['sre']), d('carol', ['security'])]).state).toBe('pending');
    const two: ApprovalPolicy = { rules: [{ count: 2 }] };
    expect(evaluatePolicy(two, 'req', [d('bob', []), d('bob', [])]).state).toBe('pending');
    expect(evaluatePolicy(two, 'req', [d('bob', []), d('carol', [])]).state).toBe('approved');
    expect(evaluatePolicy(twoTeams, 'req', [d('x', ['security'], 'deny')]).state).toBe('denied');
    expect(evaluatePolicy({ ...twoTeams, denials: 2 }, 'req', [d('x', ['security'], 'deny')]).state).toBe('pending');
    // A denial by someone no rule takes does not count.
    expect(evaluatePolicy(twoTeams, 'req', [d('x', ['finance'], 'deny')]).state).toBe('pending');
    expect(mayDecide(twoTeams, 'req', { id: 'req', groups: ['sre'], roles: [] })).toBe(false);
    expect(mayDecide(twoTeams, 'req', { id: 'x', groups: ['finance'], roles: [] })).toBe(false);
  });

  it('approve only with as many distinct eligible approvers as places, none of them the requester (property)', () => {
    const groups = fc.subarray(['sre', 'security', 'db']);
    fc.assert(
      fc.property(
        fc.array(fc.record({ count: fc.integer({ min: 1, max: 3 }), groups: fc.subarray(['sre', 'security', 'db'], { minLength: 1 }) }), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.array(fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'req'), groups, decision: fc.constant('approve' as const) }), {
          maxLength: 8,
        }),
        (rules, decisions) => {
          const out = evaluatePolicy(
            { rules },
            'req',
            decisions.map((x) => ({ ...x, roles: [] })),
          );
          const counted = out.counted.flat();
          expect(new Set(counted).size).toBe(counted.length);
          expect(counted).not.toContain('req');
          if (out.state === 'approved') expect(counted.length).toBe(rules.reduce((n, r) => n + r.count, 0));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuse a malformed policy with a message', () => {
    expect(ApprovalPolicy.safeParse({ rules: [] }).success).toBe(false);
    expect(ApprovalPolicy.safeParse({ rules: [{ count: 0 }] }).success).toBe(false);
    fc.assert(
      fc.property(fc.jsonValue(), (v) => void ApprovalPolicy.safeParse(v)),
      { numRuns: 100 },
    );
  });
});
