import { ApiError, type ApiClient } from '../../api.ts';
import type { Session } from '../../types.ts';

/** A principal as GET /v1/principals gives it. */
export interface PrincipalRow {
  id: string;
  kind: 'person' | 'service';
  name: string;
  groups: string[];
  roles: string[];
  createdAt: string;
  createdBy: string;
  disabledAt: string | null;
}

export interface ApprovalRow {
  id: string;
  kind: string;
  resource: string;
  summary: string;
  reason: string;
  requestedBy: string;
  requestedAt: string;
  expiresAt: string;
  state: string;
  missing: string[];
}

export interface BreakglassRow {
  id: string;
  principalId: string;
  permission: string;
  reason: string;
  startedAt: string;
  endsAt: string;
  active: boolean;
  reviewedAt: string | null;
}

/** A sealed secret as GET /v1/secrets lists it: never its value. */
export interface SecretRow {
  name: string;
  version: number;
  keyId: string;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

export interface ApprovalRuleRow {
  count: number;
  groups?: string[];
  roles?: string[];
}

export interface ApprovalPolicyRow {
  rules: ApprovalRuleRow[];
  denials?: number;
  expiresInMinutes?: number;
}

/** GET /v1/approvals/rules: the policy of each guarded action, and the actions that can have one. */
export interface ApprovalRulesView {
  actions: Record<string, ApprovalPolicyRow>;
  guardable: string[];
}

/** What a guarded action answers (202) while it waits for approval. */
export interface ApprovalPending {
  approval: { id: string; state: string };
  message: string;
}

/** GET /v1/roles: the built-in roles and the custom ones. */
export interface RolesView {
  builtIn: { name: string; summary: string }[];
  custom: { name: string; version: number; description: string; grants: string[]; condition: string | null; updatedAt: string }[];
}

export function loadRoles(api: ApiClient, signal?: AbortSignal): Promise<RolesView> {
  return api.get<RolesView>('/v1/roles', signal);
}

export async function loadSecrets(api: ApiClient, signal?: AbortSignal): Promise<SecretRow[]> {
  return (await api.get<{ secrets: SecretRow[] }>('/v1/secrets', signal)).secrets;
}

export function loadApprovalRules(api: ApiClient, signal?: AbortSignal): Promise<ApprovalRulesView> {
  return api.get<ApprovalRulesView>('/v1/approvals/rules', signal);
}

/**
 * A PUT with a JSON body, from the signed-in session (the shared client has no PUT): the same
 * cookie, headers and errors as its other calls.
 */
export async function putJson<T>(path: string, body: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: 'PUT',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the Bulwark server. Check that it is running and try again.');
  }
  const parsed = (await res.json().catch(() => undefined)) as { error?: string; message?: string; details?: unknown } | undefined;
  if (!res.ok)
    throw new ApiError(
      res.status,
      parsed?.error ?? 'http_error',
      parsed?.message ?? `The server answered HTTP ${res.status}`,
      parsed?.details,
    );
  return parsed as T;
}

/** Whether an answer is a guarded action waiting for approval (202) rather than its result. */
export function isApprovalPending(v: unknown): v is ApprovalPending {
  return typeof v === 'object' && v !== null && 'approval' in v && 'message' in v;
}

export async function loadPrincipals(api: ApiClient, signal?: AbortSignal): Promise<PrincipalRow[]> {
  return (await api.get<{ principals: PrincipalRow[] }>('/v1/principals', signal)).principals;
}

export async function loadPendingApprovals(api: ApiClient, signal?: AbortSignal): Promise<ApprovalRow[]> {
  return (await api.get<{ approvals: ApprovalRow[] }>('/v1/approvals?state=pending', signal)).approvals;
}

export async function loadUnreviewedBreakglass(api: ApiClient, signal?: AbortSignal): Promise<BreakglassRow[]> {
  return (await api.get<{ breakglass: BreakglassRow[] }>('/v1/breakglass?unreviewed=true', signal)).breakglass;
}

/**
 * A sensitive change from the dashboard: with a code, the session is stepped up first
 * (POST /v1/session/step-up), so the change goes ahead for the next minutes.
 */
export async function withStepUp<T>(api: ApiClient, code: string, change: () => Promise<T>): Promise<T> {
  const c = code.trim();
  if (c.length > 0) await api.post('/v1/session/step-up', { code: c });
  return change();
}

/** Whether an error asks for a fresh second factor (the server's details.reason). */
export function needsStepUp(err: unknown): boolean {
  const reason = err instanceof ApiError ? (err.details as { reason?: unknown } | undefined)?.reason : undefined;
  return reason === 'step_up_required' || reason === 'step_up_failed';
}

/** Whether a sign-in was refused because the person has a second factor and sent no (good) code. */
export function needsSecondFactor(err: unknown): boolean {
  const method =
    err instanceof ApiError && err.status === 401 ? (err.details as { secondFactor?: unknown } | undefined)?.secondFactor : undefined;
  return method === 'totp' || method === 'webauthn';
}

/**
 * Open a session with a token and, for a person with a second factor, the current code (or a
 * recovery code). The server sets the cookie; neither the token nor the code is kept here.
 */
export async function signInWithCode(token: string, code: string): Promise<Session> {
  const res = await fetch('/v1/session', {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify({ token, code }),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string; details?: unknown };
  if (!res.ok) throw new ApiError(res.status, body.error ?? 'http_error', body.message ?? `HTTP ${res.status}`, body.details);
  return body as unknown as Session;
}
