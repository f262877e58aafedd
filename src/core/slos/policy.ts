/**
 * The error budget policy, evaluated from a budget: freeze deploys that are not security fixes
 * when the remaining budget is under the policy's bound, and page the owner then. The deploy gate
 * (not built yet) reads this state; security fixes are never frozen. The postmortem clause
 * requires a postmortem of every incident of the period while the budget is at or under
 * `postmortemBelow`, and of each incident linked to the SLO that spent more than
 * `postmortemAbove` of its budget over its impact window.
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
  /**
   * The share of this SLO's budget it spent over its impact window, when it names the SLO among
   * those it affected (null when that could not be evaluated); absent when it does not name it.
   */
  spent?: number | null;
}

export type PostmortemClause =
  | { evaluated: false; why: string }
  | {
      evaluated: true;
      /** Whether the budget is at or under the bound: incidents of the period need a postmortem. */
      required: boolean;
      why: string;
      /**
       * The incidents of the period, oldest first (restricted ones are counted, not named), with
       * the share of the budget spent by those linked to the SLO.
       */
      incidents: { id: number; postmortem: boolean; spent?: number | null }[];
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
  const below = policy.postmortemBelow;
  const above = policy.postmortemAbove;
  if (below === undefined && above === undefined) return null;
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
  const list = open.map((i) => ({ id: i.id, postmortem: i.postmortem, ...(i.spent !== undefined ? { spent: i.spent } : {}) }));
  const hidden = inPeriod.filter((i) => i.restricted);
  const under = below !== undefined && budget.enoughData && budget.remaining <= below;
  const spentMuch = (i: IncidentFacts) => above !== undefined && typeof i.spent === 'number' && i.spent > above;
  const requires = (i: IncidentFacts) => under || spentMuch(i);
  const label = below === 0 ? 'exhausted' : `at or under ${pct(below ?? 0)}`;
  const heavy = inPeriod.filter(spentMuch);
  const aboveWhy =
    above === undefined
      ? ''
      : heavy.length === 0
        ? `no incident linked to this SLO spent more than ${pct(above)} of its budget`
        : `${heavy.length} incident${heavy.length === 1 ? '' : 's'} linked to this SLO spent more than ${pct(above)} of its budget and require${heavy.length === 1 ? 's' : ''} a postmortem`;
  if (!under && heavy.length === 0) {
    const belowWhy =
      below === undefined
        ? ''
        : !budget.enoughData
          ? `only ${budget.total} events in the period: too few to require postmortems on`
          : `remaining budget ${pct(budget.remaining)} is not ${label}: no postmortem is required by this SLO`;
    const why = [belowWhy, aboveWhy].filter(Boolean).join('; ');
    return { evaluated: true, required: false, why, incidents: list, missing: [], restricted: { incidents: hidden.length, missing: [] } };
  }
  const missing = open.filter((i) => requires(i) && !i.postmortem).map((i) => i.id);
  const hiddenMissing = hidden.filter((i) => requires(i) && !i.postmortem).map((i) => i.id);
  const all = missing.length + hiddenMissing.length;
  const parts = under
    ? [
        `remaining budget ${pct(budget.remaining)} is ${label}: each of the ${inPeriod.length} incident${inPeriod.length === 1 ? '' : 's'} of the period requires a postmortem`,
      ]
    : [aboveWhy];
  const why = parts.join('; ') + (all === 0 ? '; none is missing' : `; ${all} ${all === 1 ? 'has' : 'have'} none`);
  return {
    evaluated: true,
    required: true,
    why,
    incidents: list,
    missing,
    restricted: { incidents: hidden.length, missing: hiddenMissing },
  };
}
