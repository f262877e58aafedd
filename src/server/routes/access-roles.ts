/**
 * /v1/roles: custom roles (a roles file applied, listed, shown, deleted; the built-in roles listed
 * beside them) and a principal's roles set. Changing roles needs `roles:manage`, and setting a
 * principal's `principals:manage`: both step-up permissions, so a person with a second factor sends
 * a fresh code. Nobody grants what they do not hold: a role applied, or a role given to a
 * principal, may name only permissions the caller's own request has (403 naming the others).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { applyRoles, deleteRole, listRoles, showRole, validateRoles } from '../../app/access/custom-roles.ts';
import { SetRolesInput, setPrincipalRoles } from '../../app/access/principals.ts';
import type { AppDeps } from '../../app/deps.ts';
import { ROLE_NAME } from '../../core/access/custom-roles.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import type { RouteRegistry } from '../route.ts';

const RoleView = z.object({
  name: z.string(),
  version: z.number().int(),
  description: z.string(),
  grants: z.array(z.string()),
  condition: z.string().nullable().describe('the CEL condition that must hold on the resource; null when the role has none'),
  createdAt: z.string(),
  createdBy: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});

const RolesFile = z.strictObject({
  file: z
    .string()
    .min(1, 'the roles file is empty')
    .max(256 * 1024)
    .describe('the roles file, YAML (docs/access.md)'),
});

const Name = z.strictObject({ name: z.string().regex(ROLE_NAME, 'a role name is 1–63 lowercase letters, digits and . _ -') });

const PrincipalView = z.object({
  id: z.string(),
  kind: z.enum(['person', 'service']),
  name: z.string(),
  groups: z.array(z.string()),
  roles: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string(),
  disabledAt: z.string().nullable(),
});

export function roleRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/roles',
    tag: 'access',
    summary: 'List the built-in roles and the custom roles',
    auth: { permission: 'roles:read' },
    priority: 'low',
    response: z.object({
      builtIn: z.array(z.object({ name: z.string(), summary: z.string() })),
      custom: z.array(RoleView),
    }),
    handler: async () => listRoles(deps),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/roles/:name',
    tag: 'access',
    summary: 'Show a custom role: its grants, condition, the permissions it names and who holds it',
    auth: { permission: 'roles:read' },
    params: Name,
    response: RoleView.extend({ permissions: z.array(z.string()), holders: z.array(z.string()) }),
    errors: [404],
    handler: async ({ params }) => showRole(deps, params.name),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/roles',
    tag: 'access',
    summary: 'Apply a roles file: each role created or changed (a new version), the others kept',
    auth: { permission: 'roles:manage' },
    body: RolesFile,
    response: z.object({
      roles: z.array(z.object({ name: z.string(), version: z.number().int(), change: z.enum(['created', 'changed', 'unchanged']) })),
    }),
    errors: [403, 409],
    handler: async ({ body, principal, req }) => applyRoles(deps, apiActor(principal, req.id), body.file, principal),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/roles/validate',
    tag: 'access',
    summary: 'Check a roles file without applying it: the roles it defines, or every problem and where it is',
    auth: { permission: 'roles:read' },
    body: RolesFile,
    response: z.object({
      ok: z.boolean(),
      roles: z.array(z.object({ name: z.string(), grants: z.array(z.string()), condition: z.string().nullable() })),
      errors: z.array(z.object({ path: z.string(), message: z.string() })),
    }),
    handler: async ({ body }) => {
      const v = validateRoles(body.file);
      return v.ok
        ? { ok: true, roles: v.roles.map((x) => ({ name: x.name, grants: x.grants, condition: x.condition ?? null })), errors: [] }
        : { ok: false, roles: [], errors: v.errors };
    },
  });

  r.add(app, {
    method: 'DELETE',
    url: '/v1/roles/:name',
    tag: 'access',
    summary: 'Delete a custom role that no enabled principal holds',
    auth: { permission: 'roles:manage' },
    params: Name,
    response: z.object({ name: z.string(), version: z.number().int() }),
    errors: [404, 409],
    handler: async ({ params, principal, req }) => deleteRole(deps, apiActor(principal, req.id), params.name),
  });

  r.add(app, {
    method: 'PUT',
    url: '/v1/principals/:id/roles',
    tag: 'access',
    summary: "Set a principal's roles, built-in and custom (all of them at once)",
    auth: { permission: 'principals:manage' },
    params: z.strictObject({
      id: z.string().regex(/^(person|service):[a-z0-9][a-z0-9._@-]{0,62}$/, 'a principal id is person:NAME or service:NAME'),
    }),
    body: SetRolesInput,
    response: PrincipalView,
    errors: [403, 404, 409],
    handler: async ({ params, body, principal, req }) => setPrincipalRoles(deps, apiActor(principal, req.id), params.id, body, principal),
  });
}
