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
 * The route's permission through a conditional custom role, or the refusal: 403 naming why (the
 * condition did not hold, failed to evaluate, or had no resource), 404 when the resource it names
 * is not there. Without a conditional role for the permission, the plain refusal.
 */
export async function requireConditional(
  app: FastifyInstance,
  req: FastifyRequest,
  deps: AppDeps,
  principal: Principal,
  permission: Permission,
): Promise<void> {
  const d = await conditionalAccess(deps, principal, permission, req.method, resourceOf(app, req));
  const lacks = `token "${principal.tokenName}" lacks the permission ${permission}`;
  switch (d.kind) {
    case 'allowed':
      return;
    case 'none':
      throw new DomainError('forbidden', lacks, { permission });
    case 'not_found':
      throw new DomainError('not_found', `${d.reason}`);
    case 'denied':
      throw new DomainError('forbidden', `${lacks}: ${d.reason}`, { permission, reason: 'condition' });
  }
}
