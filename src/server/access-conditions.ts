/**
 * Conditional custom roles in the auth hook: when a request's scopes do not grant the route's
 * permission, a custom role with a condition may, on the one resource the route names. Which
 * resource that is comes from the resources registered here: a route whose URL starts with a
 * resource's prefix (`/v1/experiments/:name`) acts on the resource named by that path parameter.
 * A route with no registered resource (a list, an apply) gets no conditional grant.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { conditionalAccess, type ConditionResource } from '../app/access/custom-roles.ts';
import type { AppDeps } from '../app/deps.ts';
import type { Permission, Principal } from '../core/access/permissions.ts';
import { DomainError } from '../core/errors.ts';

/** A kind of resource routes act on, and how its labels are read. */
export interface ResourceKind {
  /** What conditions see as `resource.kind`: `experiment`. */
  kind: string;
  /** The route prefix whose routes act on one such resource: `/v1/experiments/:name`. */
  route: string;
  /** The path parameter that names it: `name`. */
  param: string;
  /** Its labels, or undefined when there is no such resource. */
  labels(name: string): Promise<Record<string, string> | undefined>;
}

const kinds = new WeakMap<FastifyInstance, ResourceKind[]>();

/** Add a resource kind to this server's conditions (a capability's part does, for its resources). */
export function registerResourceKind(app: FastifyInstance, kind: ResourceKind): void {
  const list = kinds.get(app) ?? [];
  list.push(kind);
  kinds.set(app, list);
}

function resourceOf(app: FastifyInstance, req: FastifyRequest): ConditionResource | undefined {
  const url = req.routeOptions.url ?? '';
  const params = (req.params ?? {}) as Record<string, unknown>;
  for (const k of kinds.get(app) ?? []) {
    if (url !== k.route && !url.startsWith(`${k.route}/`)) continue;
    const name = params[k.param];
    if (typeof name !== 'string' || name === '' || name.length > 200) return undefined;
    return { kind: k.kind, name, find: () => k.labels(name) };
  }
  return undefined;
}

/**
 * What conditions see as `request.method`: HEAD is asked as GET. Fastify answers HEAD on every GET
 * route by running the GET handler without sending the body, so it reads exactly what GET reads; a
 * condition written for reads (`request.method == 'GET'`) would otherwise refuse it.
 */
export const conditionMethod = (method: string): string => (method === 'HEAD' ? 'GET' : method);

/**
 * The route's permission through a conditional custom role, or the refusal: 403 saying no role
 * grants it on that resource (which condition did not hold, or its evaluation error, goes to the
 * server's log only: the caller is not told which labels to aim for), or why not when it is not
 * the condition (the token's scopes, no single resource); 404 when the resource it names is not
 * there. Without a conditional role for the permission, the plain refusal.
 */
export async function requireConditional(
  app: FastifyInstance,
  req: FastifyRequest,
  deps: AppDeps,
  principal: Principal,
  permission: Permission,
): Promise<void> {
  const d = await conditionalAccess(deps, principal, permission, conditionMethod(req.method), resourceOf(app, req));
  const lacks = `token "${principal.tokenName}" lacks the permission ${permission}`;
  switch (d.kind) {
    case 'allowed':
      return;
    case 'none':
      throw new DomainError('forbidden', lacks, { permission });
    case 'not_found':
      throw new DomainError('not_found', `${d.reason}`);
    case 'denied':
      if (d.detail !== undefined)
        req.log.warn({ principal: principal.id, token: principal.tokenId, permission, denied: d.detail }, 'conditional role denied');
      throw new DomainError('forbidden', `${lacks}: ${d.reason}`, { permission, reason: 'condition' });
  }
}
