/**
 * Step-up: sensitive actions need a fresh second factor, not only a session or a token. A
 * permission is sensitive when it manages access itself (principals, tokens), decides an
 * approval, or opens breakglass; a route may also ask for it in its declaration
 * (`auth: { permission, stepUp: true }`). A person with a second factor enrolled must have
 * verified it within `maxAgeMinutes`; a person without one passes unless the policy requires one
 * of every person; services have no second factor (their tokens are their credential).
 */
import type { Permission } from './permissions.ts';

/** Permissions that always need a fresh second factor. Other capabilities may add theirs here. */
export const STEP_UP_PERMISSIONS: readonly string[] = [
  'principals:manage',
  'tokens:manage',
  'approvals:decide',
  'approvals:configure',
  'breakglass:invoke',
  'breakglass:review',
  'secrets:write',
  'roles:manage',
];

export interface StepUpPolicy {
  /** How recent the last verification must be (default 10 minutes). */
  maxAgeMinutes: number;
  /** `enrolled`: people with a factor must use it; `people`: every person must have one. */
  require: 'enrolled' | 'people';
}

export const DEFAULT_STEP_UP_POLICY: StepUpPolicy = { maxAgeMinutes: 10, require: 'enrolled' };

export const isStepUpPermission = (p: Permission): boolean => STEP_UP_PERMISSIONS.includes(p);

export type StepUpDecision = { ok: true } | { ok: false; reason: 'enroll' | 'stale' };

/** Whether a caller may go ahead with a sensitive action at `nowMs`. */
export function stepUpDecision(
  caller: { kind: 'person' | 'service'; enrolled: boolean; secondFactorAt?: string | null },
  nowMs: number,
  policy: StepUpPolicy,
): StepUpDecision {
  if (caller.kind !== 'person') return { ok: true };
  if (!caller.enrolled) return policy.require === 'people' ? { ok: false, reason: 'enroll' } : { ok: true };
  const at = caller.secondFactorAt ? Date.parse(caller.secondFactorAt) : NaN;
  if (Number.isFinite(at) && nowMs - at <= policy.maxAgeMinutes * 60_000 && at <= nowMs + 60_000) return { ok: true };
  return { ok: false, reason: 'stale' };
}

/** The message that says how to step up. */
export function stepUpMessage(reason: 'enroll' | 'stale', policy: StepUpPolicy): string {
  if (reason === 'enroll')
    return "this action needs a second factor and you have none: enroll one with POST /v1/second-factor/enroll and confirm it with a first code (the dashboard's Access page does both), then repeat it";
  return `this action needs a second factor verified within the last ${policy.maxAgeMinutes} minutes: send the header "X-Bulwark-Second-Factor: <code>" with the request, or step up the dashboard session with POST /v1/session/step-up {"code": "<code>"}, then repeat it`;
}
