/**
 * Breakglass: in an emergency a principal with `breakglass:invoke` takes one permission its roles
 * do not give, for a bounded time (at most an hour), with a written justification. It is loud: a
 * `breakglass.invoked` ledger entry in the transaction that opens the grant, then a critical
 * signal of Bulwark's own (source `bulwark`, alertname `Breakglass`) through the signal ingest,
 * where alert routes, case rules and playbooks see it. Every grant stays listed until someone
 * else reviews it, and while a principal's last one is unreviewed their next one is refused.
 * Grants end by themselves: `scopesOf` adds only those that hold now (app/access/tokens.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { PERMISSIONS } from '../../capabilities/index.ts';
import type { Principal } from '../../core/access/permissions.ts';
import { DomainError, conflict, invalid, notFound } from '../../core/errors.ts';
import { systemActor, type Actor } from '../../core/ledger/actor.ts';
import { makeSignal, toLabels } from '../../core/signals/signal.ts';
import { parseInput } from '../../core/validate.ts';
import type { BreakglassRecord } from '../../store/access/port.ts';
import type { IngestSubmission, SignalIngest } from '../signals/ingest.ts';
import type { AppDeps } from '../deps.ts';

export const MAX_BREAKGLASS_MINUTES = 60;

export const BreakglassInput = z.strictObject({
  permission: z.string().min(1).max(100).describe('the one permission to hold, e.g. experiments:write'),
  reason: z.string().min(10, 'write the justification: at least 10 characters').max(2000),
  minutes: z.number().int().min(1).max(MAX_BREAKGLASS_MINUTES).default(30),
});
export type BreakglassInput = z.input<typeof BreakglassInput>;

export const ReviewInput = z.strictObject({ note: z.string().min(1, 'write what the review found').max(2000) });

export interface BreakglassView extends BreakglassRecord {
  active: boolean;
}

const viewOf = (b: BreakglassRecord, now: string): BreakglassView => ({ ...b, active: b.startedAt <= now && now < b.endsAt });

/** The signal that announces a breakglass (one per grant). */
export function breakglassSubmission(b: BreakglassRecord): IngestSubmission {
  const body = { breakglass: b.id, principal: b.principalId, permission: b.permission, reason: b.reason, endsAt: b.endsAt };
  const signal = makeSignal({
    source: 'bulwark',
    time: b.startedAt,
    receivedAt: b.startedAt,
    severity: 'critical',
    labels: toLabels([
      ['alertname', 'Breakglass'],
      ['principal', b.principalId],
      ['permission', b.permission],
    ]),
    body,
    dedup: { kind: 'webhook-id', id: `breakglass/${b.id}` },
  });
  const bytes = Buffer.from(JSON.stringify(body));
  return {
    actor: systemActor('breakglass'),
    items: [{ signal, raw: { digest: createHash('sha256').update(bytes).digest('hex'), mediaType: 'application/json', bytes } }],
  };
}

/**
 * Break glass. The grant and its ledger entry commit first; then the signal goes out (when the
 * ingest is there: the server's). `alerted` says whether it did.
 */
export async function invokeBreakglass(
  deps: AppDeps,
  principal: Principal,
  actor: Actor,
  raw: BreakglassInput,
  ingest?: Pick<SignalIngest, 'ingest'>,
): Promise<BreakglassView & { alerted: boolean }> {
  const input = parseInput(BreakglassInput, raw, 'breakglass');
  if (!(PERMISSIONS as readonly string[]).includes(input.permission))
    throw invalid(`unknown permission "${input.permission}"; name one permission, such as experiments:write (no wildcards)`);
  if (input.permission.startsWith('breakglass:')) throw invalid('breakglass cannot grant breakglass permissions');
  const now = deps.clock.now();
  const record: BreakglassRecord = {
    id: 'bg_' + randomBytes(9).toString('hex'),
    principalId: principal.id,
    permission: input.permission,
    reason: input.reason,
    startedAt: now.toISOString(),
    endsAt: new Date(now.getTime() + input.minutes * 60_000).toISOString(),
    reviewedBy: null,
    reviewedAt: null,
    reviewNote: null,
  };
  await deps.store.transaction(async (tx) => {
    // Two at once from one principal: the second waits, then finds the first unreviewed.
    await tx.breakglass.lockPrincipal(principal.id);
    const last = await tx.breakglass.latest(principal.id);
    if (last && !last.reviewedAt)
      throw conflict(
        `your last breakglass (${last.id}, ${last.startedAt}) is not reviewed yet; someone else must review it (POST /v1/breakglass/${last.id}/review) before you break glass again`,
      );
    await tx.breakglass.insert(record);
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'breakglass.invoked',
          subject: `breakglass:${record.id}`,
          data: {
            id: record.id,
            principal: record.principalId,
            permission: record.permission,
            reason: record.reason,
            endsAt: record.endsAt,
          },
        },
      ],
      record.startedAt,
    );
  });
  let alerted = false;
  if (ingest) {
    try {
      await ingest.ingest(breakglassSubmission(record));
      alerted = true;
    } catch {
      // The grant and its ledger entry stand; the answer says the signal did not go out.
    }
  }
  return { ...viewOf(record, record.startedAt), alerted };
}

/**
 * Break glass on an approval request: it counts as approved at once (the action may run, once,
 * through consumeApproval), with a written justification. It is a breakglass like any other:
 * a grant record (permission `approval:<id>`, which grants nothing else) in the same review
 * queue, the same refusal while the principal's last one is unreviewed, the same signal.
 */
export async function breakglassApproval(
  deps: AppDeps,
  principal: Principal,
  actor: Actor,
  approvalId: string,
  rawReason: unknown,
  ingest?: Pick<SignalIngest, 'ingest'>,
): Promise<BreakglassView & { alerted: boolean }> {
  const { reason } = parseInput(z.strictObject({ reason: BreakglassInput.shape.reason }), rawReason, 'breakglass');
  const now = deps.clock.now().toISOString();
  const record: BreakglassRecord = {
    id: 'bg_' + randomBytes(9).toString('hex'),
    principalId: principal.id,
    permission: `approval:${approvalId}`,
    reason,
    startedAt: now,
    endsAt: now,
    reviewedBy: null,
    reviewedAt: null,
    reviewNote: null,
  };
  await deps.store.transaction(async (tx) => {
    const a = await tx.approvals.getForUpdate(approvalId);
    if (!a) throw notFound(`no approval request ${approvalId}`);
    if (a.requestedBy === principal.id)
      throw new DomainError('forbidden', 'you requested this approval: someone else must break glass on your request');
    if (a.state !== 'pending' || now >= a.expiresAt)
      throw conflict(
        `approval request ${approvalId} is ${a.state === 'pending' ? 'expired' : a.state}; breakglass bypasses only a pending one`,
      );
    await tx.breakglass.lockPrincipal(principal.id);
    const last = await tx.breakglass.latest(principal.id);
    if (last && !last.reviewedAt)
      throw conflict(
        `your last breakglass (${last.id}, ${last.startedAt}) is not reviewed yet; someone else must review it before you break glass again`,
      );
    if (!(await tx.approvals.setState(approvalId, 'pending', 'approved', now)))
      throw conflict(`approval request ${approvalId} was decided meanwhile`);
    await tx.breakglass.insert(record);
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'breakglass.invoked',
          subject: `breakglass:${record.id}`,
          data: { id: record.id, principal: principal.id, permission: record.permission, reason, endsAt: record.endsAt },
        },
        {
          actor,
          kind: 'approval.decided',
          subject: `approval:${approvalId}`,
          data: { id: approvalId, principal: principal.id, decision: 'breakglass', reason, state: 'approved' },
        },
      ],
      now,
    );
  });
  let alerted = false;
  if (ingest) {
    try {
      await ingest.ingest(breakglassSubmission(record));
      alerted = true;
    } catch {
      // The approval and its ledger entries stand; the answer says the signal did not go out.
    }
  }
  return { ...viewOf(record, now), alerted };
}

export async function listBreakglass(deps: AppDeps, opts: { unreviewed?: boolean; limit?: number } = {}): Promise<BreakglassView[]> {
  const now = deps.clock.now().toISOString();
  return (await deps.store.breakglass.list({ unreviewed: opts.unreviewed, limit: opts.limit ?? 100 })).map((b) => viewOf(b, now));
}

/** Review a breakglass: someone other than the one who broke it, once. */
export async function reviewBreakglass(
  deps: AppDeps,
  principal: Principal,
  actor: Actor,
  id: string,
  raw: unknown,
): Promise<BreakglassView> {
  const { note } = parseInput(ReviewInput, raw, 'review');
  const now = deps.clock.now().toISOString();
  return deps.store.transaction(async (tx) => {
    const b = await tx.breakglass.get(id);
    if (!b) throw notFound(`no breakglass ${id}`);
    if (b.principalId === principal.id) throw new DomainError('forbidden', 'you broke this glass: someone else must review it');
    if (!(await tx.breakglass.review(id, principal.id, now, note)))
      throw conflict(`breakglass ${id} was reviewed already, at ${b.reviewedAt}`);
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'breakglass.reviewed',
          subject: `breakglass:${id}`,
          data: { id, principal: b.principalId, reviewer: principal.id, note },
        },
      ],
      now,
    );
    return viewOf({ ...b, reviewedBy: principal.id, reviewedAt: now, reviewNote: note }, now);
  });
}
