/** /v1/breakglass: take one permission for a bounded time in an emergency, loudly; reviewed afterwards by someone else. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BreakglassInput, breakglassApproval, invokeBreakglass, listBreakglass, reviewBreakglass } from '../../app/access/breakglass.ts';
import type { SignalIngest } from '../../app/signals/ingest.ts';
import type { AppDeps } from '../../app/deps.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import type { RouteRegistry } from '../route.ts';

const Grant = z.object({
  id: z.string(),
  principalId: z.string(),
  permission: z.string(),
  reason: z.string(),
  startedAt: z.string(),
  endsAt: z.string(),
  reviewedBy: z.string().nullable(),
  reviewedAt: z.string().nullable(),
  reviewNote: z.string().nullable(),
  active: z.boolean().describe('whether the grant holds now'),
});

export function breakglassRoutes(
  app: FastifyInstance,
  r: RouteRegistry,
  deps: AppDeps,
  /** The signal ingest, looked up when used (signals is set up after access). */
  ingest: () => Pick<SignalIngest, 'ingest'> | undefined,
  /** Counts each breakglass (the metric bulwark_breakglass_total). */
  onBreakglass: (kind: 'permission' | 'approval') => void = () => undefined,
): void {
  r.add(app, {
    method: 'POST',
    url: '/v1/breakglass',
    tag: 'access',
    summary:
      'Break glass: hold one permission for up to an hour with a written justification; a critical signal goes out and a review is opened',
    auth: { permission: 'breakglass:invoke' },
    body: BreakglassInput,
    status: 201,
    response: Grant.extend({ alerted: z.boolean().describe('whether the Breakglass signal went out') }),
    errors: [400, 409],
    handler: async ({ body, principal, req }) => {
      const r = await invokeBreakglass(deps, principal, apiActor(principal, req.id), body, ingest());
      onBreakglass('permission');
      return r;
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/approvals/:id/breakglass',
    tag: 'access',
    summary:
      'Break glass on a pending approval request: it counts as approved at once, with a written justification; a signal goes out and a review is opened',
    auth: { permission: 'breakglass:invoke' },
    params: z.strictObject({ id: z.string().regex(/^apr_[a-z0-9x]{16}$/, 'an approval id looks like apr_ and 16 letters or digits') }),
    body: z.strictObject({ reason: BreakglassInput.shape.reason }),
    status: 201,
    response: Grant.extend({ alerted: z.boolean().describe('whether the Breakglass signal went out') }),
    errors: [400, 404, 409],
    handler: async ({ params, body, principal, req }) => {
      const r = await breakglassApproval(deps, principal, apiActor(principal, req.id), params.id, body, ingest());
      onBreakglass('approval');
      return r;
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/breakglass',
    tag: 'access',
    summary: 'Breakglass grants, newest first (unreviewed=true: those waiting for review)',
    auth: { permission: 'breakglass:read' },
    priority: 'low',
    query: z.strictObject({ unreviewed: z.enum(['true', 'false']).optional() }),
    response: z.object({ breakglass: z.array(Grant) }),
    handler: async ({ query }) => ({ breakglass: await listBreakglass(deps, { unreviewed: query.unreviewed === 'true' }) }),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/breakglass/:id/review',
    tag: 'access',
    summary: 'Review a breakglass (someone other than who broke it), with a note',
    auth: { permission: 'breakglass:review' },
    params: z.strictObject({ id: z.string().regex(/^bg_[0-9a-f]{18}$/, 'a breakglass id looks like bg_ and 18 hex digits') }),
    body: z.strictObject({ note: z.string().min(1).max(2000) }),
    response: Grant,
    errors: [403, 404, 409],
    handler: async ({ params, body, principal, req }) => reviewBreakglass(deps, principal, apiActor(principal, req.id), params.id, body),
  });
}
