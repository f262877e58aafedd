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
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export interface Principal {
  id: string;
  name: string;
  kind: 'person' | 'service';
  tokenId: string;
  tokenName: string;
  scopes: readonly string[];
}

export function can(principal: Pick<Principal, 'scopes'>, permission: Permission): boolean {
  const area = permission.split(':')[0];
  return principal.scopes.some((s) => s === '*' || s === permission || s === `${area}:*`);
}

/** A scope is valid when it names a known permission, an area wildcard, or `*`. */
export function isValidScope(scope: string): boolean {
  if (scope === '*') return true;
  if ((PERMISSIONS as readonly string[]).includes(scope)) return true;
  const m = /^([a-z]+):\*$/.exec(scope);
  return !!m && PERMISSIONS.some((p) => p.startsWith(`${m[1]}:`));
}

/** Read-only scopes given to a token that asks for none: a token never gets write by default. */
export const DEFAULT_SCOPES: readonly Permission[] = ['session:read', 'ledger:read', 'api:read'];
