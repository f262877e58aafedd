/** /v1/approvals: requests for actions that need several people, approved or denied with a reason and a fresh second factor. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { decideApproval, getApproval, listApprovals } from '../../app/access/approvals.ts';
import type { AppDeps } from '../../app/deps.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import type { RouteRegistry } from '../route.ts';

const STATES = ['pending', 'approved', 'denied', 'executed', 'expired'] as const;

const Rule = z.object({ count: z.number(), groups: z.array(z.string()).optional(), roles: z.array(z.string()).optional() });

export const ApprovalView = z.object({
  id: z.string(),
  kind: z.string(),
  resource: z.string(),
  payloadDigest: z.string(),
  summary: z.string(),
  reason: z.string(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  expiresAt: z.string(),
  state: z.enum(STATES),
  decidedAt: z.string().nullable(),
  executedAt: z.string().nullable(),
  policy: z.object({ rules: z.array(Rule), denials: z.number().optional(), expiresInMinutes: z.number().optional() }),
  decisions: z.array(z.object({ principal: z.string(), decision: z.enum(['approve', 'deny']), reason: z.string(), decidedAt: z.string() })),
  missing: z.array(z.string()).describe('what is still needed before it is approved'),
});

const Id = z.strictObject({ id: z.string().regex(/^apr_[a-z0-9x]{16}$/, 'an approval id looks like apr_ and 16 letters or digits') });
const Reason = z.strictObject({ reason: z.string().min(1).max(2000).describe('why you decide so') });

export function approvalRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/approvals',
    tag: 'access',
    summary: 'Approval requests, newest first (state=pending for those waiting)',
    auth: { permission: 'approvals:read' },
    priority: 'low',
    query: z.strictObject({ state: z.enum(STATES).optional() }),
    response: z.object({ approvals: z.array(ApprovalView) }),
    handler: async ({ query }) => {
      // A pending request past its expiry reads `expired`: filter on the state as it reads now.
      const stored = query.state === 'expired' ? (['pending', 'expired'] as const) : query.state ? [query.state] : undefined;
      const list = await listApprovals(deps, { states: stored ? [...stored] : undefined });
      return { approvals: query.state ? list.filter((a) => a.state === query.state) : list };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/approvals/:id',
    tag: 'access',
    summary: 'One approval request: what, why, its policy, the decisions and what is missing',
    auth: { permission: 'approvals:read' },
    params: Id,
    response: ApprovalView,
    errors: [404],
    handler: async ({ params }) => getApproval(deps, params.id),
  });

  for (const decision of ['approve', 'deny'] as const)
    r.add(app, {
      method: 'POST',
      url: `/v1/approvals/:id/${decision}`,
      tag: 'access',
      summary:
        decision === 'approve'
          ? 'Approve a request of someone else (never your own; once each), with a reason and a fresh second factor'
          : 'Deny a request, with a reason and a fresh second factor',
      auth: { permission: 'approvals:decide' },
      params: Id,
      body: Reason,
      response: ApprovalView,
      errors: [403, 404, 409],
      handler: async ({ params, body, principal, req }) =>
        decideApproval(deps, principal, apiActor(principal, req.id), params.id, decision, body),
    });
}
