/**
 * Multi-party approvals, the primitive other capabilities call (through `services.approvals` in
 * the server, or these functions): `requestApproval` stores what is asked (kind, resource, the
 * digest of the exact parameters, why, the policy), approvers approve or deny with a reason
 * (never the requester, each once; the route needs a fresh second factor), and
 * `consumeApproval` lets the approved action run exactly once: a compare and set from
 * `approved` to `executed`, which one caller wins across replicas, refused when the parameters'
 * digest differs, the request expired, or it was denied. Changed parameters are a new request
 * (another digest), whose approvals start from none. Every step is a ledger entry in the same
 * transaction as the state it records.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ApprovalPolicy, evaluatePolicy, mayDecide, type PolicyOutcome } from '../../core/access/approval-policy.ts';
import type { Principal } from '../../core/access/permissions.ts';
import { DomainError, conflict, notFound } from '../../core/errors.ts';
import { canonicalJson } from '../../core/ledger/entry.ts';
import type { Actor } from '../../core/ledger/actor.ts';
import { parseInput } from '../../core/validate.ts';
import type { ApprovalDecisionRecord, ApprovalRecord, ApprovalState } from '../../store/access/port.ts';
import type { Repos } from '../../store/store.ts';
import type { AppDeps } from '../deps.ts';

const DEFAULT_EXPIRY_MINUTES = 24 * 60;

export const RequestApprovalInput = z.strictObject({
  kind: z.string().regex(/^[a-z][a-z0-9.-]{0,62}$/, 'a kind is lowercase letters, digits, . and -, like experiment.delete'),
  resource: z.string().min(1).max(200),
  /** The action's exact parameters; only their digest is kept. */
  payload: z.unknown(),
  summary: z.string().min(1).max(500),
  reason: z.string().min(1, 'say why the action is needed').max(2000),
  policy: ApprovalPolicy,
});
export type RequestApprovalInput = z.input<typeof RequestApprovalInput>;

export const DecideInput = z.strictObject({ reason: z.string().min(1, 'give a reason for the decision').max(2000) });

export interface ApprovalView {
  id: string;
  kind: string;
  resource: string;
  payloadDigest: string;
  summary: string;
  reason: string;
  requestedBy: string;
  requestedAt: string;
  expiresAt: string;
  /** As of now: a pending request past its expiry reads `expired` even before anyone writes it. */
  state: ApprovalState;
  decidedAt: string | null;
  executedAt: string | null;
  policy: ApprovalPolicy;
  decisions: { principal: string; decision: 'approve' | 'deny'; reason: string; decidedAt: string }[];
  /** What is still missing before it is approved, in words. */
  missing: string[];
}

/** The digest of an action's parameters: SHA-256 over their canonical JSON (RFC 8785). */
export function payloadDigest(payload: unknown): string {
  return (
    'sha256:' +
    createHash('sha256')
      .update(canonicalJson(payload ?? null))
      .digest('hex')
  );
}

const newId = () => 'apr_' + randomBytes(12).toString('base64url').replace(/[-_]/g, 'x').toLowerCase();

function view(a: ApprovalRecord, decisions: readonly ApprovalDecisionRecord[], now: string): ApprovalView {
  const policy = ApprovalPolicy.parse(JSON.parse(a.policy));
  const outcome = outcomeOf(a, decisions);
  return {
    id: a.id,
    kind: a.kind,
    resource: a.resource,
    payloadDigest: a.payloadDigest,
    summary: a.summary,
    reason: a.reason,
    requestedBy: a.requestedBy,
    requestedAt: a.requestedAt,
    expiresAt: a.expiresAt,
    state: a.state === 'pending' && now >= a.expiresAt ? 'expired' : a.state,
    decidedAt: a.decidedAt,
    executedAt: a.executedAt,
    policy,
    decisions: decisions.map((d) => ({ principal: d.principalId, decision: d.decision, reason: d.reason, decidedAt: d.decidedAt })),
    missing: a.state === 'pending' ? outcome.missing : [],
  };
}

function outcomeOf(a: ApprovalRecord, decisions: readonly ApprovalDecisionRecord[]): PolicyOutcome {
  const policy = ApprovalPolicy.parse(JSON.parse(a.policy));
  return evaluatePolicy(
    policy,
    a.requestedBy,
    decisions.map((d) => ({ id: d.principalId, groups: d.groups, roles: d.roles, decision: d.decision })),
  );
}

/** Ask for approval of an action; the request waits for its approvers. */
export async function requestApproval(
  deps: AppDeps,
  requester: { id: string },
  actor: Actor,
  raw: RequestApprovalInput,
): Promise<ApprovalView> {
  const input = parseInput(RequestApprovalInput, raw, 'approval request');
  const now = deps.clock.now();
  const record: ApprovalRecord = {
    id: newId(),
    kind: input.kind,
    resource: input.resource,
    payloadDigest: payloadDigest(input.payload),
    summary: input.summary,
    policy: JSON.stringify(input.policy),
    requestedBy: requester.id,
    reason: input.reason,
    requestedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + (input.policy.expiresInMinutes ?? DEFAULT_EXPIRY_MINUTES) * 60_000).toISOString(),
    state: 'pending',
    decidedAt: null,
    executedAt: null,
  };
  await deps.store.transaction(async (tx) => {
    await tx.approvals.insert(record);
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'approval.requested',
          subject: `approval:${record.id}`,
          data: {
            id: record.id,
            kind: record.kind,
            resource: record.resource,
            payloadDigest: record.payloadDigest,
            summary: record.summary,
            reason: record.reason,
            policy: record.policy,
            expiresAt: record.expiresAt,
          },
        },
      ],
      record.requestedAt,
    );
  });
  return view(record, [], record.requestedAt);
}

export async function getApproval(deps: AppDeps, id: string): Promise<ApprovalView> {
  const a = await deps.store.approvals.get(id);
  if (!a) throw notFound(`no approval request ${id}; list them with "bulwark approvals list"`);
  return view(a, await deps.store.approvals.decisions(id), deps.clock.now().toISOString());
}

export async function listApprovals(deps: AppDeps, opts: { states?: ApprovalState[]; limit?: number } = {}): Promise<ApprovalView[]> {
  const now = deps.clock.now().toISOString();
  const rows = await deps.store.approvals.list({ states: opts.states, limit: opts.limit ?? 100 });
  const out: ApprovalView[] = [];
  for (const a of rows) out.push(view(a, await deps.store.approvals.decisions(a.id), now));
  return out;
}

/** Approve or deny as `principal` (with its groups and roles as they are now). */
export async function decideApproval(
  deps: AppDeps,
  principal: Principal,
  actor: Actor,
  id: string,
  decision: 'approve' | 'deny',
  rawReason: unknown,
): Promise<ApprovalView> {
  const { reason } = parseInput(DecideInput, rawReason, 'decision');
  const now = deps.clock.now().toISOString();
  const record = await deps.store.principals.get(principal.id);
  const approver = { id: principal.id, groups: record?.groups ?? [], roles: record?.roles ?? [] };
  const result = await deps.store.transaction(async (tx) => {
    // Held to the end: two approvers at once decide one after the other, the second seeing the first.
    const a = await tx.approvals.getForUpdate(id);
    if (!a) throw notFound(`no approval request ${id}; list them with "bulwark approvals list"`);
    if (a.state === 'pending' && now >= a.expiresAt) {
      // Recorded, then refused outside the transaction (a throw here would undo the record).
      await expire(tx, a, actor, now);
      return { expiredAt: a.expiresAt };
    }
    if (a.state !== 'pending') throw conflict(`approval request ${id} is ${a.state} already; nothing to decide`);
    if (a.requestedBy === principal.id) throw new DomainError('forbidden', 'you asked for this action: someone else must approve it');
    const policy = ApprovalPolicy.parse(JSON.parse(a.policy));
    if (!mayDecide(policy, a.requestedBy, approver))
      throw new DomainError(
        'forbidden',
        `${principal.id} is in none of the groups or roles this request needs (${outcomeOf(a, []).missing.join('; ')})`,
      );
    if (
      !(await tx.approvals.decide({
        approvalId: id,
        principalId: principal.id,
        decision,
        reason,
        groups: approver.groups,
        roles: approver.roles,
        decidedAt: now,
      }))
    )
      throw conflict(`${principal.id} has decided on ${id} already; each person decides once`);
    const decisions = await tx.approvals.decisions(id);
    const outcome = outcomeOf(a, decisions);
    if (outcome.state !== 'pending' && !(await tx.approvals.setState(id, 'pending', outcome.state, now)))
      throw conflict(`approval request ${id} was decided meanwhile; look again`);
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'approval.decided',
          subject: `approval:${id}`,
          data: { id, principal: principal.id, decision, reason, state: outcome.state },
        },
      ],
      now,
    );
    return view({ ...a, state: outcome.state, decidedAt: outcome.state === 'pending' ? null : now }, decisions, now);
  });
  if ('expiredAt' in result) throw conflict(`approval request ${id} expired at ${result.expiredAt}; ask again`);
  return result;
}

async function expire(tx: Repos, a: ApprovalRecord, actor: Actor, now: string): Promise<void> {
  if (await tx.approvals.setState(a.id, 'pending', 'expired', now))
    await tx.ledger.append([{ actor, kind: 'approval.expired', subject: `approval:${a.id}`, data: { id: a.id } }], now);
}

export type ConsumeResult = { ok: true; approval: ApprovalView } | { ok: false; reason: string; state?: ApprovalState };

/**
 * Let the approved action run, once: the caller passes what it is about to do (kind, resource,
 * the exact parameters); the approval is consumed when they are the approved ones. Pass `tx` to
 * consume inside the transaction that performs the action, so the two commit together.
 */
export async function consumeApproval(
  deps: AppDeps,
  actor: Actor,
  ref: { id: string; kind: string; resource: string; payload: unknown },
  tx?: Repos,
): Promise<ConsumeResult> {
  const run = async (t: Repos): Promise<ConsumeResult> => {
    const now = deps.clock.now().toISOString();
    const a = await t.approvals.get(ref.id);
    if (!a) return { ok: false, reason: `no approval request ${ref.id}` };
    if (a.kind !== ref.kind || a.resource !== ref.resource)
      return {
        ok: false,
        reason: `approval ${ref.id} is for ${a.kind} on ${a.resource}, not ${ref.kind} on ${ref.resource}`,
        state: a.state,
      };
    if (a.payloadDigest !== payloadDigest(ref.payload))
      return { ok: false, reason: `the parameters differ from those approved in ${ref.id}; ask for approval of these`, state: a.state };
    if (now >= a.expiresAt) {
      if (a.state === 'pending') await expire(t, a, actor, now);
      if (a.state === 'pending' || a.state === 'approved')
        return { ok: false, reason: `approval ${ref.id} expired at ${a.expiresAt}`, state: 'expired' };
    }
    if (a.state !== 'approved')
      return {
        ok: false,
        reason: `approval ${ref.id} is ${a.state}${a.state === 'pending' ? ': it waits for its approvers' : ''}`,
        state: a.state,
      };
    if (!(await t.approvals.setState(a.id, 'approved', 'executed', now)))
      return { ok: false, reason: `approval ${ref.id} was used by another caller`, state: 'executed' };
    await t.ledger.append(
      [
        {
          actor,
          kind: 'approval.executed',
          subject: `approval:${a.id}`,
          data: { id: a.id, kind: a.kind, resource: a.resource, payloadDigest: a.payloadDigest },
        },
      ],
      now,
    );
    return { ok: true, approval: view({ ...a, state: 'executed', executedAt: now }, await t.approvals.decisions(a.id), now) };
  };
  return tx ? run(tx) : deps.store.transaction(run);
}

/** What other capabilities call (`services.approvals` in the server). */
export interface ApprovalService {
  request(requester: { id: string }, actor: Actor, input: RequestApprovalInput): Promise<ApprovalView>;
  status(id: string): Promise<ApprovalView>;
  consume(actor: Actor, ref: { id: string; kind: string; resource: string; payload: unknown }, tx?: Repos): Promise<ConsumeResult>;
}

export function approvalService(deps: AppDeps): ApprovalService {
  return {
    request: (requester, actor, input) => requestApproval(deps, requester, actor, input),
    status: (id) => getApproval(deps, id),
    consume: (actor, ref, tx) => consumeApproval(deps, actor, ref, tx),
  };
}
