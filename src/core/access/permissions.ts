/**
 * Permissions are `area:verb` strings. A token carries scopes; `*` is every permission and
 * `area:*` every verb of an area. Anything not granted is denied.
 */
/** The permissions of access itself; every other capability declares its own (core/<capability>/permissions.ts). */
export const ACCESS_PERMISSIONS = [
  'session:read',
  'tokens:read',
  'tokens:manage',
  'principals:read',
  'principals:manage',
  'approvals:read',
  'approvals:decide',
  'approvals:configure',
  'breakglass:read',
  'breakglass:invoke',
  'breakglass:review',
  'secrets:read',
  'secrets:write',
  'roles:read',
  'roles:manage',
] as const;

/**
 * Every permission there is, as a type: access's here, each other capability's added by
 * declaration merging from its own permissions.ts. The list at run time is the registry's
 * (src/capabilities/index.ts: PERMISSIONS).
 */
export interface PermissionCatalogue extends Record<(typeof ACCESS_PERMISSIONS)[number], true> {}

export type Permission = Extract<keyof PermissionCatalogue, string>;

export interface Principal {
  id: string;
  name: string;
  kind: 'person' | 'service';
  tokenId: string;
  tokenName: string;
  scopes: readonly string[];
  /** The dashboard session the request came through, when it came with the session cookie. */
  sessionId?: string;
  /** When that session last verified its second factor (step-up), or when this request did. */
  secondFactorAt?: string | null;
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

/**
 * A scope is valid when it names a known permission (one of `known`: the registry's list), a
 * resource-bound one, an area wildcard, or `*`.
 */
export function isValidScope(scope: string, known: readonly Permission[]): boolean {
  if (scope === '*') return true;
  if ((known as readonly string[]).includes(scope)) return true;
  const bound = RESOURCE_SCOPED.find((p) => scope.startsWith(`${p}:`));
  if (bound) return RESOURCE_NAME.test(scope.slice(bound.length + 1));
  const m = /^([a-z]+):\*$/.exec(scope);
  return !!m && known.some((p) => p.startsWith(`${m[1]}:`));
}

/** Read-only scopes given to a token that asks for none: a token never gets write by default. */
export const DEFAULT_SCOPES: readonly Permission[] = ['session:read', 'ledger:read', 'api:read'];
