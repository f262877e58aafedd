/**
 * Approvals on existing actions: the rules (which action needs whose approval; none by default)
 * and the hook that holds a guarded call until its approval. A guarded call without
 * `X-Bulwark-Approval` answers 202 with a new approval request (why: `X-Bulwark-Reason`); the
 * requester repeats the same call with the approved request's id, and it runs: the approval is
 * consumed first, once (compare and set, so two replicas cannot both run it), for exactly these
 * parameters, then the route's own handler runs. Breakglass approves a request at once
 * (`POST /v1/approvals/{id}/breakglass`).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { consumeApproval, getApproval, requestApproval } from '../../app/access/approvals.ts';
import { getApprovalRules, setApprovalRules } from '../../app/access/approval-rules.ts';
import type { AppDeps } from '../../app/deps.ts';
import { ApprovalPolicy } from '../../core/access/approval-policy.ts';
import { ApprovalRules, GUARDED_ACTIONS, guardedActionOf } from '../../core/access/guarded-actions.ts';
import { DomainError } from '../../core/errors.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import type { RouteRegistry } from '../route.ts';
import { ApprovalView } from './approvals.ts';

export const APPROVAL_HEADER = 'x-bulwark-approval';
export const REASON_HEADER = 'x-bulwark-reason';

const Rules = z.object({ actions: z.record(z.string(), ApprovalPolicy) });

/**
 * What a guarded action answers (202) when it needs approval: a route that may be guarded declares
 * its response as `z.union([ItsResult, ApprovalPending])` and 202 among its answers.
 */
export const ApprovalPending = z.object({
  approval: ApprovalView,
  message: z.string().describe('what is missing, and the header to repeat the request with once approved'),
});

export function approvalRuleRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/approvals/rules',
    tag: 'access',
    summary: 'Which existing actions need multi-party approval, and by whom (none by default)',
    auth: { permission: 'approvals:read' },
    priority: 'low',
    response: Rules.extend({ guardable: z.array(z.string()).describe('the actions that can be given a policy') }),
    handler: async () => ({ ...(await getApprovalRules(deps)), guardable: Object.keys(GUARDED_ACTIONS) }),
  });

  r.add(app, {
    method: 'PUT',
    url: '/v1/approvals/rules',
    tag: 'access',
    summary: 'Set which existing actions need multi-party approval: {"actions": {"experiment.delete": {policy}}}',
    auth: { permission: 'approvals:configure' },
    body: ApprovalRules,
    response: Rules,
    handler: async ({ body, principal, req }) => setApprovalRules(deps, apiActor(principal, req.id), body),
  });

  // After authentication and the body's parsing, before the route's handler.
  app.addHook('preHandler', async (req, reply) => {
    const name = guardedActionOf(req.method, req.routeOptions.url);
    if (!name || !req.principal) return;
    const policy = (await getApprovalRules(deps)).actions[name];
    if (!policy) return;
    const action = GUARDED_ACTIONS[name];
    // A plain copy: the router gives an object without a prototype, which canonical JSON refuses.
    const params = { ...(req.params as Record<string, string> | undefined) };
    const principal = req.principal;
    const actor = apiActor(principal, req.id);
    const resource = action.resource(params);
    const payload = { params, body: req.body ?? null };
    const presented = req.headers[APPROVAL_HEADER];
    if (typeof presented !== 'string') {
      const given = req.headers[REASON_HEADER];
      const approval = await requestApproval(deps, principal, actor, {
        kind: name,
        resource,
        payload,
        summary: action.summary(params),
        reason:
          typeof given === 'string' && given.trim() !== '' ? given.trim().slice(0, 2000) : `${action.summary(params)} (no reason given)`,
        policy,
      });
      return reply
        .code(202)
        .header('cache-control', 'no-store')
        .send({
          approval,
          message: `${name} needs approval (${approval.missing.join('; ')}); once approved, repeat this request with the header X-Bulwark-Approval: ${approval.id}`,
        });
    }
    const approval = await getApproval(deps, presented).catch(() => undefined);
    if (approval && approval.requestedBy !== principal.id)
      throw new DomainError('forbidden', `approval ${presented} was asked for by ${approval.requestedBy}: only they may use it`);
    const used = await consumeApproval(deps, actor, { id: presented, kind: name, resource, payload });
    if (!used.ok) throw new DomainError('conflict', used.reason, { approval: presented, ...(used.state ? { state: used.state } : {}) });
  });
}
