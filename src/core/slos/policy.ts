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

/** An incident as the postmortem clause sees it. */
export interface IncidentFacts {
  id: number;
  /** When it counts: its impact start, or its declaration (ISO 8601). */
  at: string;
  restricted: boolean;
  /** Whether a postmortem was generated for it. */
  postmortem: boolean;
}

export type PostmortemClause =
  | { evaluated: false; why: string }
  | {
      evaluated: true;
      /** Whether the budget is at or under the bound: incidents of the period need a postmortem. */
      required: boolean;
      why: string;
      /** The incidents of the period, oldest first (restricted ones are counted, not named). */
      incidents: { id: number; postmortem: boolean }[];
      /** Those that require a postmortem and have none (empty unless required). */
      missing: number[];
      /**
       * Restricted incidents of the period, and those of them missing a required postmortem (ids
       * the API does not show): only when the incidents given include them, which they do only for
       * a caller who may see restricted incidents (app/slos/incident-facts.ts).
       */
      restricted: { incidents: number; missing: number[] };
    };

export interface PolicyStatus {
  state: PolicyState;
  why: string;
  /** What the policy asks for now. */
  actions: ('freeze-non-security-deploys' | 'page-owner')[];
  postmortem: PostmortemClause | null;
}

const pct = (r: number) => `${(Math.round(r * 1000) / 10).toString()}%`;

export function evaluatePolicy(
  policy: BudgetPolicy | undefined,
  budget: BudgetStatus,
  owner?: string,
  incidents?: readonly IncidentFacts[] | { unreadable: string },
): PolicyStatus | null {
  if (!policy) return null;
  const postmortem = postmortemClause(policy, budget, incidents);
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

function postmortemClause(
  policy: BudgetPolicy,
  budget: BudgetStatus,
  incidents: readonly IncidentFacts[] | { unreadable: string } | undefined,
): PostmortemClause | null {
  if (policy.postmortemBelow === undefined) {
    if (policy.postmortemAbove === undefined) return null;
    return {
      evaluated: false,
      why: `which incident spent more than ${pct(policy.postmortemAbove)} of the budget needs incidents that name the SLO or service they hit, which they do not yet; use postmortemBelow`,
    };
  }
  const bound = policy.postmortemBelow;
  if (incidents === undefined || !Array.isArray(incidents)) {
    return {
      evaluated: false,
      why: `incidents could not be read${incidents ? `: ${(incidents as { unreadable: string }).unreadable}` : ''}`,
    };
  }
  const start = Date.parse(budget.period.start);
  const end = Date.parse(budget.period.end);
  const inPeriod = (incidents as readonly IncidentFacts[])
    .filter((i) => {
      const t = Date.parse(i.at);
      return t >= start && t <= end;
    })
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.id - b.id);
  const open = inPeriod.filter((i) => !i.restricted);
  const list = open.map((i) => ({ id: i.id, postmortem: i.postmortem }));
  const hidden = inPeriod.filter((i) => i.restricted);
  const under = budget.remaining <= bound;
  const label = bound === 0 ? 'exhausted' : `at or under ${pct(bound)}`;
  if (!budget.enoughData || !under) {
    const why = !budget.enoughData
      ? `only ${budget.total} events in the period: too few to require postmortems on`
      : `remaining budget ${pct(budget.remaining)} is not ${label}: no postmortem is required by this SLO`;
    return { evaluated: true, required: false, why, incidents: list, missing: [], restricted: { incidents: hidden.length, missing: [] } };
  }
  const missing = open.filter((i) => !i.postmortem).map((i) => i.id);
  const hiddenMissing = hidden.filter((i) => !i.postmortem).map((i) => i.id);
  const all = missing.length + hiddenMissing.length;
  const why =
    `remaining budget ${pct(budget.remaining)} is ${label}: each of the ${inPeriod.length} incident${inPeriod.length === 1 ? '' : 's'} of the period requires a postmortem` +
    (all === 0 ? '; none is missing' : `; ${all} ${all === 1 ? 'has' : 'have'} none`);
  return {
    evaluated: true,
    required: true,
    why,
    incidents: list,
    missing,
    restricted: { incidents: hidden.length, missing: hiddenMissing },
  };
}
