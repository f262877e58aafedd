/**
 * Sealed secrets over HTTP: list (names, versions, times; never values), set (the value in the
 * body, answered without it), delete, rotate the key. Writing needs `secrets:write`, a step-up
 * permission: a person with a second factor sends a fresh code. No route returns a value.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { deleteSecret, listSecrets, rotateSecretKey, setSecret } from '../../app/access/secrets.ts';
import type { AppDeps } from '../../app/deps.ts';
import { MAX_SECRET_BYTES, SECRET_NAME, SECRET_NAME_RULE } from '../../core/access/sealed.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import type { RouteRegistry } from '../route.ts';
import { ApprovalPending } from './access-approval-rules.ts';

const SecretView = z.object({
  name: z.string(),
  version: z.number().int(),
  keyId: z.string().describe('the id of the key the value is sealed under'),
  createdAt: z.string(),
  createdBy: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});

const Name = z.strictObject({ name: z.string().regex(SECRET_NAME, SECRET_NAME_RULE) });

export function secretRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/secrets',
    tag: 'access',
    summary: 'List sealed secrets: names, versions, key ids and times (never values)',
    auth: { permission: 'secrets:read' },
    priority: 'low',
    response: z.object({ secrets: z.array(SecretView) }),
    handler: async () => ({ secrets: await listSecrets(deps) }),
  });

  r.add(app, {
    method: 'PUT',
    url: '/v1/secrets/:name',
    tag: 'access',
    summary: 'Set a sealed secret (a new version); the answer never holds the value',
    auth: { permission: 'secrets:write' },
    params: Name,
    body: z.strictObject({
      value: z
        .string()
        .min(1, 'the value is empty')
        .max(MAX_SECRET_BYTES, `a value is at most ${MAX_SECRET_BYTES} characters`)
        .describe('the value, sealed at once; it is never returned, logged or written to the ledger'),
    }),
    response: SecretView,
    errors: [409],
    handler: async ({ params, body, principal, req }) => setSecret(deps, apiActor(principal, req.id), params.name, body.value),
  });

  r.add(app, {
    method: 'DELETE',
    url: '/v1/secrets/:name',
    tag: 'access',
    summary: 'Delete a sealed secret',
    auth: { permission: 'secrets:write' },
    params: Name,
    response: z.union([z.object({ name: z.string(), version: z.number().int() }), ApprovalPending]),
    errors: [202, 404],
    handler: async ({ params, principal, req }) => deleteSecret(deps, apiActor(principal, req.id), params.name),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/secrets/rotate-key',
    tag: 'access',
    summary: 'Rotate the sealing key: re-seal every secret and TOTP secret under a new key, then retire the old',
    auth: { permission: 'secrets:write' },
    response: z
      .object({
        from: z.array(z.string()).describe('the retired key ids'),
        to: z.string().describe('the new key id'),
        secrets: z.number().int(),
        secondFactors: z.number().int(),
        runs: z.number().int().describe('runs whose stored rollbacks (kept for recovery) were re-sealed'),
      })
      .or(ApprovalPending),
    errors: [202, 409],
    handler: async ({ principal, req }) => rotateSecretKey(deps, apiActor(principal, req.id)),
  });
}
