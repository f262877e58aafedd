/** Access's tables: API tokens (created by the ledger's migration 0001, which came first), sessions. */
import type { Generated } from 'kysely';
export interface TokensTable {
  id: string;
  name: string;
  hash: Buffer;
  principal_id: string;
  principal_kind: string;
  scopes: string;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  /** Migration 0017: written at most once a minute per token. */
  last_used_at: string | null;
}

/** Dashboard sessions (migration 0010). */
export interface SessionsTable {
  id: string;
  hash: Buffer;
  token_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  revoked_at: string | null;
  /** Migration 0017: when the session last verified its second factor (step-up). */
  second_factor_at: string | null;
}

/** Principals (migration 0011); groups and roles as JSON arrays. */
export interface PrincipalsTable {
  id: string;
  kind: string;
  name: string;
  groups: string;
  roles: string;
  created_at: string;
  created_by: string;
  disabled_at: string | null;
}

/** Second factors (migration 0017): the TOTP secret, the last time step accepted. */
export interface SecondFactorsTable {
  principal_id: string;
  kind: string;
  secret: string;
  created_at: string;
  confirmed_at: string | null;
  last_step: number | null;
  /** Refused codes in the window that began at failures_since (migration 0021). */
  failures: Generated<number>;
  failures_since: string | null;
}

/** Recovery codes (migration 0017): hashes only. */
export interface RecoveryCodesTable {
  principal_id: string;
  hash: string;
  created_at: string;
  used_at: string | null;
}

/** Approval requests (migration 0018); the policy as JSON. */
export interface ApprovalsTable {
  id: string;
  kind: string;
  resource: string;
  payload_digest: string;
  summary: string;
  policy: string;
  requested_by: string;
  reason: string;
  requested_at: string;
  expires_at: string;
  state: string;
  decided_at: string | null;
  executed_at: string | null;
}

/** One decision per principal and request (migration 0018); groups and roles as JSON, as they were then. */
export interface ApprovalDecisionsTable {
  approval_id: string;
  principal_id: string;
  decision: string;
  reason: string;
  groups: string;
  roles: string;
  decided_at: string;
}

/** Breakglass grants (migration 0018). */
export interface BreakglassTable {
  id: string;
  principal_id: string;
  permission: string;
  reason: string;
  started_at: string;
  ends_at: string;
  reviewed_by: string | null;
  reviewed_at: string | null;
  review_note: string | null;
}

/** Sealed secrets (migration 0022): the sealed value and the id of its key, never the key. */
export interface SecretsTable {
  name: string;
  version: number;
  key_id: string;
  sealed: string;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

/** Custom roles (migration 0030): grants as JSON, the condition's source; a tombstone keeps `deleted_at`. */
export interface CustomRolesTable {
  name: string;
  version: number;
  description: string;
  grants: string;
  condition: string | null;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  deleted_at: string | null;
}

declare module '../schema.ts' {
  interface Database {
    tokens: TokensTable;
    sessions: SessionsTable;
    principals: PrincipalsTable;
    second_factors: SecondFactorsTable;
    recovery_codes: RecoveryCodesTable;
    approvals: ApprovalsTable;
    approval_decisions: ApprovalDecisionsTable;
    breakglass: BreakglassTable;
    secrets: SecretsTable;
    custom_roles: CustomRolesTable;
  }
}
