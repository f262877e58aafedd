/**
 * The error budget policy, evaluated from a budget: freeze deploys that are not security fixes
 * when the remaining budget is under the policy's bound, and page the owner then. The deploy gate
 * (not built yet) reads this state; security fixes are never frozen. Postmortems for incidents
 * that spent more than a share of the budget need incidents, which are not built yet: that part
 * says so instead of guessing.
 */
import type { BudgetStatus } from './budget.ts';
import type { BudgetPolicy } from './types.ts';

export type PolicyState = 'ok' | 'freeze';

export interface PolicyStatus {
  state: PolicyState;
  why: string;
  /** What the policy asks for now. */
  actions: ('freeze-non-security-deploys' | 'page-owner')[];
  postmortem: { evaluated: false; why: string } | null;
}

const pct = (r: number) => `${(Math.round(r * 1000) / 10).toString()}%`;

export function evaluatePolicy(policy: BudgetPolicy | undefined, budget: BudgetStatus, owner?: string): PolicyStatus | null {
  if (!policy) return null;
  const postmortem =
    policy.postmortemAbove === undefined
      ? null
      : {
          evaluated: false as const,
          why: `needs incidents (not built yet) to tell which incident spent more than ${pct(policy.postmortemAbove)} of the budget`,
        };
  if (!budget.enoughData) {
    return { state: 'ok', why: `only ${budget.total} events in the period: too few to freeze on`, actions: [], postmortem };
  }
  if (budget.remaining < policy.freezeBelow) {
    return {
      state: 'freeze',
      why: `remaining budget ${pct(budget.remaining)} is under ${pct(policy.freezeBelow)}: deploys that are not security fixes are frozen`,
      actions: ['freeze-non-security-deploys', ...(policy.pageOwner ? (['page-owner'] as const) : [])],
      postmortem,
    };
  }
  return {
    state: 'ok',
    why: `remaining budget ${pct(budget.remaining)} is at or above ${pct(policy.freezeBelow)}${owner ? `; owner ${owner}` : ''}`,
    actions: [],
    postmortem,
  };
}
