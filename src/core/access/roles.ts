/**
 * Roles: what a principal may do, before a token narrows it. A token's scopes narrow its
 * principal's roles, never widen them: the permissions a request has are those both grant.
 * Built-in roles are written as rules over the permission list, so that a new capability's
 * permissions fall into them without editing this file (its `*:read` into viewer, and so on).
 */
import { can, RESOURCE_SCOPED, type Permission } from './permissions.ts';

export const BUILT_IN_ROLES = ['viewer', 'responder', 'operator', 'approver', 'admin', 'signal-sender'] as const;
export type BuiltInRole = (typeof BUILT_IN_ROLES)[number];

const READ = (p: Permission) => p.endsWith(':read');

/** What a responder does beyond reading: the work of an incident and its playbooks. */
const RESPONDS: readonly string[] = [
  'experiments:run',
  'experiments:stop',
  'incidents:write',
  'playbooks:run',
  'ledger:write',
  'breakglass:invoke',
];

/** What each built-in role grants, as a rule over every permission there is. */
const RULES: Record<BuiltInRole, { summary: string; grants: (p: Permission) => boolean }> = {
  viewer: { summary: 'reads everything it may see: the ledger, signals, experiments and runs, metrics', grants: READ },
  responder: {
    summary:
      'a viewer who also runs and stops experiments, works cases and incidents, runs playbooks and does their manual steps, writes notes to the ledger, and may break glass',
    grants: (p) => READ(p) || RESPONDS.includes(p),
  },
  operator: {
    summary: 'a responder who also applies and deletes experiments and playbooks and signs checkpoints',
    grants: (p) => READ(p) || RESPONDS.includes(p) || ['experiments:write', 'playbooks:write', 'ledger:checkpoint'].includes(p),
  },
  approver: {
    summary: 'a viewer who approves or denies requests of others (playbook promotions among them) and reviews breakglass',
    grants: (p) => READ(p) || ['approvals:decide', 'breakglass:review', 'playbooks:approve'].includes(p),
  },
  admin: { summary: 'everything, including principals, tokens and privileged experiments', grants: () => true },
  'signal-sender': {
    summary: 'a source that posts signals (bind its token to its source: signals:ingest:NAME)',
    grants: (p) => p === 'signals:ingest' || p === 'session:read',
  },
};

export const roleSummary = (r: BuiltInRole): string => RULES[r].summary;

export const isBuiltInRole = (r: string): r is BuiltInRole => (BUILT_IN_ROLES as readonly string[]).includes(r);

/** The permissions the roles grant together, out of `all`. */
export function roleGrants(roles: readonly string[], all: readonly Permission[]): Set<Permission> {
  const out = new Set<Permission>();
  for (const r of roles) if (isBuiltInRole(r)) for (const p of all) if (RULES[r].grants(p)) out.add(p);
  return out;
}

/** Whether the scopes grant `p` for every resource (not only through a source-bound scope). */
function fully(scopes: readonly string[], p: Permission): boolean {
  return can({ scopes: scopes.filter((s) => !RESOURCE_SCOPED.some((b) => s.startsWith(`${b}:`) && s !== `${b}:*`)) }, p);
}

/**
 * The scopes a request carries: the token's scopes narrowed to what the principal's roles grant.
 * A source-bound scope (`signals:ingest:waf`) stays when the roles grant its permission.
 */
export function effectiveScopes(
  tokenScopes: readonly string[],
  roles: readonly string[],
  all: readonly Permission[],
  /** Permissions granted on top of the roles for now: active breakglass grants. */
  extra: readonly string[] = [],
): string[] {
  const granted = roleGrants(roles, all);
  for (const p of all) if (extra.includes(p)) granted.add(p);
  if (granted.size === all.length) return [...tokenScopes];
  const out: string[] = [];
  for (const p of all) if (granted.has(p) && fully(tokenScopes, p)) out.push(p);
  for (const s of tokenScopes) {
    const base = RESOURCE_SCOPED.find((b) => s.startsWith(`${b}:`) && s !== `${b}:*`);
    if (base && granted.has(base) && !out.includes(base)) out.push(s);
  }
  return out;
}
