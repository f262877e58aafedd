/**
 * Access events: tokens minted and revoked, dashboard sessions opened and ended, second factors,
 * approvals, breakglass, sealed secrets and their key (never a secret, a code or a hash of one).
 */
import { z } from 'zod';
import { event, id, type EventDefinition } from '../ledger/event-catalogue.ts';

const purpose = z.enum(['enroll', 'sign-in', 'step-up', 'request', 'disable']);

export const accessEvents: EventDefinition[] = [
  event(
    'token.created',
    'a token is minted (first start, CLI, API)',
    z.strictObject({
      id,
      name: z.string().max(200),
      principal: id,
      scopes: z.array(z.string().max(200)),
      expiresAt: z.string().nullable(),
    }),
  ),
  event('token.revoked', 'a token is revoked', z.strictObject({ id, name: z.string().max(200) })),
  event(
    'session.started',
    'a dashboard session is opened with a token (its cookie is never recorded)',
    z.strictObject({ id, tokenId: id, expiresAt: z.string() }),
  ),
  event('session.ended', 'a dashboard session is signed out', z.strictObject({ id, tokenId: id })),
  event(
    'principal.created',
    'a person or service account is created, with its groups and roles',
    z.strictObject({ id, kind: z.enum(['person', 'service']), groups: z.array(id), roles: z.array(id) }),
  ),
  event(
    'principal.disabled',
    'a principal is disabled; its tokens (and so its sessions) are revoked with it',
    z.strictObject({ id, revokedTokens: z.array(id) }),
  ),
  event(
    'second-factor.enrolled',
    'a person confirms a new TOTP second factor with a first code; recovery codes are minted (never recorded)',
    z.strictObject({ principal: id, method: z.literal('totp'), recoveryCodes: z.number().int().min(0) }),
  ),
  event(
    'second-factor.verified',
    'a TOTP code is accepted (sign-in, step-up, one request, disabling); the code is never recorded',
    z.strictObject({ principal: id, purpose }),
  ),
  event(
    'second-factor.recovery-used',
    'a recovery code is used (each once); how many are left',
    z.strictObject({ principal: id, purpose, left: z.number().int().min(0) }),
  ),
  event(
    'second-factor.failed',
    'a second factor is refused: wrong, malformed, replayed, or throttled after too many wrong codes',
    z.strictObject({
      principal: id,
      purpose,
      method: z.enum(['totp', 'recovery']),
      reason: z.enum(['wrong', 'malformed', 'replayed', 'throttled']),
    }),
  ),
  event(
    'second-factor.disabled',
    'a second factor is removed, by its owner with a current code or reset by an admin',
    z.strictObject({ principal: id, how: z.string().max(200) }),
  ),
  event(
    'approval.requested',
    'an action that needs approval is requested: what, on what, the digest of its exact parameters, the policy',
    z.strictObject({
      id,
      kind: id,
      resource: id,
      payloadDigest: z.string().max(100),
      summary: z.string().max(500),
      reason: z.string().max(2000),
      policy: z.string().max(10_000),
      expiresAt: z.string().max(64),
    }),
  ),
  event(
    'approval.decided',
    'an approver approves or denies a request (or breaks glass on it), with a reason; the state it leaves the request in',
    z.strictObject({
      id,
      principal: id,
      decision: z.enum(['approve', 'deny', 'breakglass']),
      reason: z.string().max(2000),
      state: z.enum(['pending', 'approved', 'denied']),
    }),
  ),
  event(
    'approval.executed',
    'an approved action runs: its approval is consumed, once',
    z.strictObject({ id, kind: id, resource: id, payloadDigest: z.string().max(100) }),
  ),
  event('approval.expired', 'a request reached its expiry undecided; it never runs', z.strictObject({ id })),
  event(
    'breakglass.invoked',
    'a principal breaks glass: one permission for a bounded time, with a justification; a review is opened',
    z.strictObject({ id, principal: id, permission: id, reason: z.string().max(2000), endsAt: z.string().max(64) }),
  ),
  event(
    'breakglass.reviewed',
    'someone other than the one who broke glass reviews it',
    z.strictObject({ id, principal: id, reviewer: id, note: z.string().max(2000) }),
  ),
  event(
    'approval-rules.set',
    'the approval rules are set: which existing actions need multi-party approval, and by whom',
    z.strictObject({ rules: z.string().max(20_000) }),
  ),
  event(
    'secret.set',
    'a sealed secret is set or replaced: its name, version and the id of the key it is sealed under (never the value or a digest of it)',
    z.strictObject({ name: id, version: z.number().int().min(1), keyId: id }),
  ),
  event('secret.deleted', 'a sealed secret is deleted', z.strictObject({ name: id, version: z.number().int().min(1) })),
  event(
    'secret-key.rotated',
    'the sealing key is rotated: every sealed value (secrets, TOTP secrets) is re-sealed under the new key and the old keys are retired',
    z.strictObject({
      from: z.array(id),
      to: id,
      secrets: z.number().int().min(0),
      secondFactors: z.number().int().min(0),
      runs: z.number().int().min(0),
    }),
  ),
  event(
    'secrets.sealed-in-place',
    'values stored plain before sealing (TOTP secrets, the rollbacks runs keep for recovery) are sealed in place, once, when a server with the key starts',
    z.strictObject({ secondFactors: z.number().int().min(0), runs: z.number().int().min(0), keyId: id }),
  ),
  event(
    'role.applied',
    'a custom role is created or changed from a roles file: its grants and condition as applied, and its new version',
    z.strictObject({
      name: id,
      version: z.number().int().min(1),
      description: z.string().max(500),
      grants: z.array(id),
      condition: z.string().max(2048).nullable(),
    }),
  ),
  event(
    'role.deleted',
    'a custom role is deleted (no principal holds it any more)',
    z.strictObject({ name: id, version: z.number().int().min(1) }),
  ),
  event(
    'principal.roles-changed',
    "a principal's roles are set: built-in and custom roles, before and after",
    z.strictObject({ id, from: z.array(id), to: z.array(id) }),
  ),
];
