/**
 * Multi-party approval policies. A policy is one or more rules, all required together (AND):
 * "one peer from the owning team AND one from security". A rule asks for `count` distinct
 * approvers, each in one of its `groups` or holding one of its `roles` (a rule naming neither
 * takes anyone). The requester never counts; a person counts once, for one rule (so two rules
 * over overlapping groups still need two people: a maximum matching of approvers to the rules'
 * places). `denials` eligible denials (default 1) deny the request.
 */
import { z } from 'zod';

const NAME = /^[a-z0-9][a-z0-9._@-]{0,62}$/;

export const ApprovalRule = z.strictObject({
  count: z.number().int().min(1).max(10),
  groups: z.array(z.string().regex(NAME, 'a group is lowercase letters, digits and . _ @ -')).max(20).optional(),
  roles: z.array(z.string().regex(NAME, 'a role is lowercase letters, digits and . _ @ -')).max(20).optional(),
});
export type ApprovalRule = z.infer<typeof ApprovalRule>;

export const ApprovalPolicy = z.strictObject({
  rules: z.array(ApprovalRule).min(1, 'give at least one rule').max(5),
  denials: z.number().int().min(1).max(10).optional(),
  /** How long the request waits for its approvals (default 24 hours, at most 7 days). */
  expiresInMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .optional(),
});
export type ApprovalPolicy = z.infer<typeof ApprovalPolicy>;

export interface Approver {
  id: string;
  groups: readonly string[];
  roles: readonly string[];
}

export interface Decision extends Approver {
  decision: 'approve' | 'deny';
}

/** Whether an approver may count for a rule. */
export function fitsRule(rule: ApprovalRule, a: Pick<Approver, 'groups' | 'roles'>): boolean {
  const byGroup = rule.groups?.some((g) => a.groups.includes(g)) ?? false;
  const byRole = rule.roles?.some((r) => a.roles.includes(r)) ?? false;
  return (!rule.groups && !rule.roles) || byGroup || byRole;
}

/** Whether someone may decide at all: not the requester, and fitting some rule. */
export function mayDecide(policy: ApprovalPolicy, requester: string, a: Approver): boolean {
  return a.id !== requester && policy.rules.some((r) => fitsRule(r, a));
}

export interface PolicyOutcome {
  state: 'pending' | 'approved' | 'denied';
  /** Per rule: the approvers counted for it. */
  counted: string[][];
  /** What is still missing, in words. */
  missing: string[];
}

/** Decide a policy over the decisions so far. */
export function evaluatePolicy(policy: ApprovalPolicy, requester: string, decisions: readonly Decision[]): PolicyOutcome {
  const seen = new Set<string>();
  const eligible = decisions.filter((d) => {
    if (d.id === requester || seen.has(d.id)) return false;
    seen.add(d.id);
    return policy.rules.some((r) => fitsRule(r, d));
  });
  const counted = match(
    policy.rules,
    eligible.filter((d) => d.decision === 'approve'),
  );
  const missing = policy.rules.flatMap((r, i) => {
    const lack = r.count - counted[i]!.length;
    return lack > 0 ? [`${lack} more approval${lack > 1 ? 's' : ''} from ${describeRule(r)}`] : [];
  });
  const denials = eligible.filter((d) => d.decision === 'deny').length;
  const state = denials >= (policy.denials ?? 1) ? 'denied' : missing.length === 0 ? 'approved' : 'pending';
  return { state, counted, missing };
}

export function describeRule(r: ApprovalRule): string {
  const who = [...(r.groups ?? []).map((g) => `group ${g}`), ...(r.roles ?? []).map((x) => `role ${x}`)];
  return who.length === 0 ? 'anyone but the requester' : who.join(' or ');
}

/**
 * A maximum matching of approvers to the rules' places (each approver to one place), by
 * augmenting paths: a few rules of a few places, so this is small.
 */
function match(rules: readonly ApprovalRule[], approvers: readonly Approver[]): string[][] {
  const places: number[] = rules.flatMap((r, i) => Array.from({ length: r.count }, () => i));
  const holder: (number | undefined)[] = places.map(() => undefined);
  const tryPlace = (a: number, visited: Set<number>): boolean => {
    for (let p = 0; p < places.length; p++) {
      if (visited.has(p) || !fitsRule(rules[places[p]!]!, approvers[a]!)) continue;
      visited.add(p);
      const h = holder[p];
      if (h === undefined || tryPlace(h, visited)) {
        holder[p] = a;
        return true;
      }
    }
    return false;
  };
  for (let a = 0; a < approvers.length; a++) tryPlace(a, new Set());
  const out: string[][] = rules.map(() => []);
  holder.forEach((h, p) => {
    if (h !== undefined) out[places[p]!]!.push(approvers[h]!.id);
  });
  return out;
}
