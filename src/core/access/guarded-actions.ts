/**
 * Existing actions that may be made to need multi-party approval, each named, with the route it
 * is and the resource it acts on. Off unless the approval rules (a setting, app/access/
 * approval-rules.ts) give an action a policy: then a call answers 202 with an approval request,
 * and the same call repeated by the requester with `X-Bulwark-Approval: <id>` runs once the policy
 * is met (the approval is consumed, once, for exactly these parameters).
 */
import { z } from 'zod';
import { ApprovalPolicy } from './approval-policy.ts';

export interface GuardedAction {
  method: 'DELETE' | 'POST' | 'PUT';
  /** The route's URL as declared. */
  url: string;
  /** What it acts on, from the route's parameters (`experiment:NAME`). */
  resource(params: Record<string, string>): string;
  summary(params: Record<string, string>): string;
}

export const GUARDED_ACTIONS = {
  'experiment.delete': {
    method: 'DELETE',
    url: '/v1/experiments/:name',
    resource: (p) => `experiment:${p['name'] ?? ''}`,
    summary: (p) => `delete experiment ${p['name'] ?? ''}`,
  },
  'secret.delete': {
    method: 'DELETE',
    url: '/v1/secrets/:name',
    resource: (p) => `secret:${p['name'] ?? ''}`,
    summary: (p) => `delete sealed secret ${p['name'] ?? ''}`,
  },
  'secret-key.rotate': {
    method: 'POST',
    url: '/v1/secrets/rotate-key',
    resource: () => 'secret-key',
    summary: () => 'rotate the sealing key',
  },
} as const satisfies Record<string, GuardedAction>;

export type GuardedActionName = keyof typeof GUARDED_ACTIONS;
export const GUARDED_ACTION_NAMES = Object.keys(GUARDED_ACTIONS) as GuardedActionName[];

/** The rules: which actions need approval, and by whom. An action not named runs as before. */
export const ApprovalRules = z.strictObject({
  actions: z.partialRecord(z.enum(GUARDED_ACTION_NAMES as [GuardedActionName, ...GuardedActionName[]]), ApprovalPolicy, {
    // A key outside the enum is reported as unrecognized_keys at run time (the types say invalid_key).
    error: (issue) => {
      const code: string = issue.code;
      return code === 'unrecognized_keys' || code === 'invalid_key'
        ? `not an action that can need approval; use one of ${GUARDED_ACTION_NAMES.join(', ')}`
        : undefined;
    },
  }),
});
export type ApprovalRules = z.infer<typeof ApprovalRules>;

export const NO_APPROVAL_RULES: ApprovalRules = { actions: {} };

/** The guarded action a matched route is, if any. */
export function guardedActionOf(method: string, url: string | undefined): GuardedActionName | undefined {
  return GUARDED_ACTION_NAMES.find((n) => GUARDED_ACTIONS[n].method === method && GUARDED_ACTIONS[n].url === url);
}
