/** /v1/second-factor: a person enrolls, confirms, inspects and disables their own TOTP second factor; /v1/session/step-up. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  beginEnrollment,
  confirmEnrollment,
  disableSecondFactor,
  resetSecondFactor,
  secondFactorStatus,
} from '../../app/access/second-factor.ts';
import { stepUpSession } from '../../app/access/sessions.ts';
import type { AppDeps } from '../../app/deps.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import type { RouteRegistry } from '../route.ts';

const Code = z.string().min(1).max(40).describe('six digits from the authenticator app (or, where said, a recovery code)');

const Status = z.object({
  enrolled: z.boolean(),
  pending: z.boolean().describe('an enrollment waits for its first code'),
  confirmedAt: z.string().nullable(),
  recoveryCodesLeft: z.number(),
});

export function secondFactorRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/second-factor',
    tag: 'access',
    summary: "The caller's second factor: enrolled or not, recovery codes left",
    auth: { permission: 'session:read' },
    response: Status,
    handler: async ({ principal }) => secondFactorStatus(deps, principal.id),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/second-factor/enroll',
    tag: 'access',
    summary: 'Begin enrolling a TOTP second factor: the secret and its otpauth:// URI, shown this once; confirm with a first code',
    auth: { permission: 'session:read' },
    body: z.strictObject({}).optional().describe('nothing, or an empty object'),
    status: 201,
    response: z.object({ secret: z.string(), uri: z.string() }),
    errors: [400, 403, 409],
    handler: async ({ principal, reply }) => {
      void reply.header('cache-control', 'no-store');
      return beginEnrollment(deps, principal);
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/second-factor/confirm',
    tag: 'access',
    summary: 'Confirm the enrollment with a first code; the answer holds the recovery codes, shown this once',
    auth: { permission: 'session:read' },
    body: z.strictObject({ code: Code }),
    response: z.object({ recoveryCodes: z.array(z.string()) }),
    errors: [400, 403, 409],
    handler: async ({ body, principal, req, reply }) => {
      void reply.header('cache-control', 'no-store');
      return confirmEnrollment(deps, principal, apiActor(principal, req.id), body.code);
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/second-factor/disable',
    tag: 'access',
    summary: 'Disable the caller’s second factor, proven with a current code or a recovery code',
    auth: { permission: 'session:read' },
    body: z.strictObject({ code: Code }),
    response: z.object({ disabled: z.boolean() }),
    errors: [400, 403],
    handler: async ({ body, principal, req }) => {
      await disableSecondFactor(deps, principal, apiActor(principal, req.id), body.code);
      return { disabled: true };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/principals/:id/second-factor/reset',
    tag: 'access',
    summary: "Reset a person's second factor (a lost phone, no recovery code left); they enroll again",
    auth: { permission: 'principals:manage' },
    params: z.strictObject({
      id: z.string().regex(/^person:[a-z0-9][a-z0-9._@-]{0,62}$/, 'a person id is person:NAME'),
    }),
    body: z.strictObject({}).optional().describe('nothing, or an empty object'),
    response: z.object({ reset: z.boolean() }),
    errors: [409],
    handler: async ({ params, principal, req }) => {
      await resetSecondFactor(deps, apiActor(principal, req.id), params.id);
      return { reset: true };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/session/step-up',
    tag: 'access',
    summary: 'Step up the dashboard session with a current code: sensitive actions go ahead for the next minutes',
    auth: { permission: 'session:read' },
    body: z.strictObject({ code: Code }),
    response: z.object({ secondFactorAt: z.string() }),
    errors: [400, 403],
    handler: async ({ body, principal, req }) => stepUpSession(deps, principal, body.code, req.id),
  });
}
