/** Approval requests and their decisions; one decision per principal by the primary key, state moves by compare and set. */
import type { Database } from '../schema.ts';
import type { Db } from '../kysely/util.ts';
import type { Dialect } from '../store.ts';
import type { ApprovalDecisionRecord, ApprovalRecord, ApprovalRepo, ApprovalState } from './port.ts';

export class KyselyApprovals implements ApprovalRepo {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {}

  async insert(a: ApprovalRecord): Promise<void> {
    await this.db
      .insertInto('approvals')
      .values({
        id: a.id,
        kind: a.kind,
        resource: a.resource,
        payload_digest: a.payloadDigest,
        summary: a.summary,
        policy: a.policy,
        requested_by: a.requestedBy,
        reason: a.reason,
        requested_at: a.requestedAt,
        expires_at: a.expiresAt,
        state: a.state,
        decided_at: a.decidedAt,
        executed_at: a.executedAt,
      })
      .execute();
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const r = await this.db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? rowToApproval(r) : undefined;
  }

  async getForUpdate(id: string): Promise<ApprovalRecord | undefined> {
    const q = this.db.selectFrom('approvals').selectAll().where('id', '=', id);
    const r = await (this.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
    return r ? rowToApproval(r) : undefined;
  }

  async list(opts: { states?: readonly ApprovalState[]; limit: number }): Promise<ApprovalRecord[]> {
    let q = this.db.selectFrom('approvals').selectAll();
    if (opts.states && opts.states.length > 0) q = q.where('state', 'in', [...opts.states]);
    const rows = await q.orderBy('requested_at', 'desc').orderBy('id', 'desc').limit(opts.limit).execute();
    return rows.map(rowToApproval);
  }

  async decide(d: ApprovalDecisionRecord): Promise<boolean> {
    const r = await this.db
      .insertInto('approval_decisions')
      .values({
        approval_id: d.approvalId,
        principal_id: d.principalId,
        decision: d.decision,
        reason: d.reason,
        groups: JSON.stringify(d.groups),
        roles: JSON.stringify(d.roles),
        decided_at: d.decidedAt,
      })
      .onConflict((oc) => oc.columns(['approval_id', 'principal_id']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async decisions(approvalId: string): Promise<ApprovalDecisionRecord[]> {
    const rows = await this.db
      .selectFrom('approval_decisions')
      .selectAll()
      .where('approval_id', '=', approvalId)
      .orderBy('decided_at', 'asc')
      .orderBy('principal_id', 'asc')
      .execute();
    return rows.map((r) => ({
      approvalId: r.approval_id,
      principalId: r.principal_id,
      decision: r.decision === 'deny' ? 'deny' : 'approve',
      reason: r.reason,
      groups: JSON.parse(r.groups) as string[],
      roles: JSON.parse(r.roles) as string[],
      decidedAt: r.decided_at,
    }));
  }

  async setState(id: string, from: ApprovalState, to: ApprovalState, at: string): Promise<boolean> {
    const r = await this.db
      .updateTable('approvals')
      .set(to === 'executed' ? { state: to, executed_at: at } : { state: to, decided_at: at })
      .where('id', '=', id)
      .where('state', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

const STATES: readonly ApprovalState[] = ['pending', 'approved', 'denied', 'executed', 'expired'];

function rowToApproval(r: Database['approvals']): ApprovalRecord {
  return {
    id: r.id,
    kind: r.kind,
    resource: r.resource,
    payloadDigest: r.payload_digest,
    summary: r.summary,
    policy: r.policy,
    requestedBy: r.requested_by,
    reason: r.reason,
    requestedAt: r.requested_at,
    expiresAt: r.expires_at,
    state: STATES.find((s) => s === r.state) ?? 'pending',
    decidedAt: r.decided_at,
    executedAt: r.executed_at,
  };
}
