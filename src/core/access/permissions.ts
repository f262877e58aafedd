/**
 * Permissions are `area:verb` strings. A token carries scopes; `*` is every permission and
 * `area:*` every verb of an area. Anything not granted is denied.
 */
export const PERMISSIONS = [
  'session:read',
  'ledger:read',
  'ledger:write',
  'ledger:checkpoint',
  'tokens:read',
  'tokens:manage',
  'metrics:read',
  'api:read',
  'signals:ingest',
  'signals:read',
  'experiments:read',
  'experiments:write',
  'experiments:run',
  'experiments:privileged',
  'experiments:stop',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/**
 * Permissions no route declares as its own. Handlers ask for them on top of the route's, for what
 * a request carries: `experiments:privileged` for files with process or file providers (apply,
 * run). Every other permission is some route's; a test walking the route table holds to both.
 */
export const RESERVED_PERMISSIONS: readonly Permission[] = ['experiments:privileged'];

export interface Principal {
  id: string;
  name: string;
  kind: 'person' | 'service';
  tokenId: string;
  tokenName: string;
  scopes: readonly string[];
}

/**
 * Permissions a scope can bind to one resource, `permission:NAME`: `signals:ingest:alertmanager`
 * lets a sender post to its own source only, so a leaked sender token cannot forge the others.
 */
export const RESOURCE_SCOPED: readonly Permission[] = ['signals:ingest'];
const RESOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Whether the scopes grant the permission, for `resource` when given. Asked without a resource,
 * a resource-bound scope grants it for some resource: the route lets the request in and the
 * handler asks again with the resource the request is for.
 */
export function can(principal: Pick<Principal, 'scopes'>, permission: Permission, resource?: string): boolean {
  const area = permission.split(':')[0];
  return principal.scopes.some((s) => s === '*' || s === permission || s === `${area}:*` || boundGrants(s, permission, resource));
}

function boundGrants(scope: string, permission: Permission, resource: string | undefined): boolean {
  if (!RESOURCE_SCOPED.includes(permission) || !scope.startsWith(`${permission}:`)) return false;
  return resource === undefined || scope === `${permission}:${resource}`;
}

/** The resources a principal's bound scopes name for a permission (for messages saying what it may do). */
export function boundResources(principal: Pick<Principal, 'scopes'>, permission: Permission): string[] {
  return principal.scopes.filter((s) => s.startsWith(`${permission}:`)).map((s) => s.slice(permission.length + 1));
}

/** A scope is valid when it names a known permission, a resource-bound one, an area wildcard, or `*`. */
export function isValidScope(scope: string): boolean {
  if (scope === '*') return true;
  if ((PERMISSIONS as readonly string[]).includes(scope)) return true;
  const bound = RESOURCE_SCOPED.find((p) => scope.startsWith(`${p}:`));
  if (bound) return RESOURCE_NAME.test(scope.slice(bound.length + 1));
  const m = /^([a-z]+):\*$/.exec(scope);
  return !!m && PERMISSIONS.some((p) => p.startsWith(`${m[1]}:`));
}

/** Read-only scopes given to a token that asks for none: a token never gets write by default. */
export const DEFAULT_SCOPES: readonly Permission[] = ['session:read', 'ledger:read', 'api:read'];
