/**
 * Custom roles, stored: applied from a roles file (core/access/custom-roles.ts), listed, shown and
 * deleted, every change a ledger entry in the same transaction. A principal holds custom roles by
 * name beside its built-in ones. What they grant:
 *
 * - a role without a condition adds its grants to the principal's roles (`unconditionalGrants`,
 *   folded into a request's scopes by `scopesOf`), narrowed by the token's scopes like any role;
 * - a role with a condition grants only where the condition holds: the auth hook asks
 *   `conditionalAccess` with the one resource the route names, after the scopes said no. Without a
 *   resource to evaluate it on, or when it fails to evaluate, it denies.
 */
import { PERMISSIONS } from '../../capabilities/index.ts';
import {
  ROLE_NAME,
  grantedPermissions,
  readRoles,
  roleAllows,
  roleCovers,
  roleFrom,
  type CustomRole,
} from '../../core/access/custom-roles.ts';
import { can, type Permission, type Principal } from '../../core/access/permissions.ts';
import { BUILT_IN_ROLES, effectiveScopes, isBuiltInRole, roleGrants, roleSummary } from '../../core/access/roles.ts';
import { DomainError, conflict, invalid, notFound } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import type { CustomRoleRecord } from '../../store/access/port.ts';
import { iso, type AppDeps } from '../deps.ts';

export type RoleView = Omit<CustomRoleRecord, never>;

export interface BuiltInRoleView {
  name: string;
  summary: string;
}

export type RoleChange = 'created' | 'changed' | 'unchanged';

/** Check a roles file without storing it: the roles it defines, or every problem with where it is. */
export function validateRoles(text: string): ReturnType<typeof readRoles> {
  return readRoles(text, PERMISSIONS);
}

function refuse(errors: { path: string; message: string }[]): never {
  throw invalid(
    `the roles file is not valid: ${errors
      .slice(0, 5)
      .map((e) => `${e.path}: ${e.message}`)
      .join('; ')}${errors.length > 5 ? ` (and ${errors.length - 5} more)` : ''}`,
    errors,
  );
}

const sameRole = (a: CustomRole, b: CustomRoleRecord): boolean =>
  a.description === b.description && JSON.stringify(a.grants) === JSON.stringify(b.grants) && (a.condition ?? null) === b.condition;

/** Who grants: the caller's request (its scopes, and the principal and token behind them). */
export type Grantor = Pick<Principal, 'id' | 'tokenId' | 'scopes'>;

type GrantRepos = Pick<AppDeps['store'], 'customRoles' | 'principals' | 'tokens'>;

/**
 * What the grantor holds to hand on: its token's scopes narrowed to its principal's roles (built-in
 * and custom ones without a condition), as its request has them but without its active breakglass
 * grants, which are time-boxed and must not outlive their hour in a role. A token without a
 * principal record holds its scopes alone (it has no breakglass either).
 */
async function heldWithoutBreakglass(repos: GrantRepos, grantor: Grantor): Promise<Pick<Principal, 'scopes'>> {
  const [p, token] = [await repos.principals.get(grantor.id), await repos.tokens.get(grantor.tokenId)];
  if (!p || !token) return { scopes: grantor.scopes };
  const custom: Permission[] = [];
  for (const r of await repos.customRoles.getMany(p.roles.filter((x) => !isBuiltInRole(x))))
    if (r.condition === null) custom.push(...grantedPermissions(r, PERMISSIONS));
  return { scopes: effectiveScopes(token.scopes, p.roles, PERMISSIONS, custom) };
}

/**
 * Nobody grants what they do not hold: a caller who may manage roles or principals but not, say,
 * `secrets:write` cannot make a role with it, or give a principal a role with it (one could
 * otherwise widen a role one holds oneself). A permission held only through an active breakglass
 * is not held for this: a role would make the hour's grant permanent. `grantor` is the caller's
 * request; the command line, which works on the database directly, passes none.
 */
async function checkGrantor(
  repos: GrantRepos,
  grantor: Grantor | undefined,
  what: string,
  permissions: Iterable<Permission>,
): Promise<void> {
  if (!grantor) return;
  const wanted = [...new Set(permissions)];
  if (wanted.length === 0) return;
  const held = await heldWithoutBreakglass(repos, grantor);
  const missing = wanted.filter((p) => !can(grantor, p) || !can(held, p));
  if (missing.length > 0) {
    const breakglassOnly = missing.filter((p) => can(grantor, p));
    throw new DomainError(
      'forbidden',
      `${what} grants ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''}, which you do not hold yourself${breakglassOnly.length > 0 ? ` (${breakglassOnly.slice(0, 8).join(', ')} only through breakglass, which is not handed on)` : ''}; only someone who holds a permission through their roles may grant it`,
      { missing, ...(breakglassOnly.length > 0 ? { breakglassOnly } : {}) },
    );
  }
}

/** What these roles (built-in and custom records) grant together, ignoring conditions. */
async function grantsOfRoles(repos: Pick<AppDeps['store'], 'customRoles'>, roles: readonly string[]): Promise<Permission[]> {
  const out = [...roleGrants(roles, PERMISSIONS)];
  for (const r of await repos.customRoles.getMany(roles.filter((x) => !isBuiltInRole(x)))) out.push(...grantedPermissions(r, PERMISSIONS));
  return out;
}

/** Refuse giving a principal roles that grant what the grantor does not hold (only the roles it does not hold yet are looked at). */
export async function checkRolesGrantable(repos: GrantRepos, grantor: Grantor | undefined, added: readonly string[]): Promise<void> {
  if (!grantor || added.length === 0) return;
  await checkGrantor(repos, grantor, `role ${added.join(', ')}`, await grantsOfRoles(repos, added));
}

/**
 * Apply a roles file: each role created or changed (its version one more), unchanged ones left
 * as they are; roles the file does not name are kept (delete them by name). All or nothing. A
 * role may grant only what `grantor` holds.
 */
export async function applyRoles(
  deps: AppDeps,
  actor: Actor,
  text: string,
  grantor?: Grantor,
): Promise<{ roles: { name: string; version: number; change: RoleChange }[] }> {
  const read = validateRoles(text);
  if (!read.ok) refuse(read.errors);
  for (const role of read.roles) await checkGrantor(deps.store, grantor, `role ${role.name}`, grantedPermissions(role, PERMISSIONS));
  const now = iso(deps.clock);
  const by = actorLabel(actor);
  return deps.store.transaction(async (tx) => {
    // The file's stored roles locked first, in name order as everywhere, before the ledger's lock.
    await tx.customRoles.lock(read.roles.map((r) => r.name));
    const out: { name: string; version: number; change: RoleChange }[] = [];
    for (const role of read.roles) {
      const stored = await tx.customRoles.get(role.name);
      if (stored && sameRole(role, stored)) {
        out.push({ name: role.name, version: stored.version, change: 'unchanged' });
        continue;
      }
      const from = stored ? stored.version : await tx.customRoles.lastVersion(role.name);
      const record: CustomRoleRecord = {
        name: role.name,
        version: from + 1,
        description: role.description,
        grants: role.grants,
        condition: role.condition ?? null,
        createdAt: stored?.createdAt ?? now,
        createdBy: stored?.createdBy ?? by,
        updatedAt: now,
        updatedBy: by,
      };
      // A tombstone is written over by its last version too; a name never applied, from 0.
      if (!(await tx.customRoles.put(record, from)))
        throw conflict(`role ${role.name} was changed by someone else at the same time; apply the file again`);
      await tx.ledger.append(
        [
          {
            actor,
            kind: 'role.applied',
            subject: `role:${role.name}`,
            data: {
              name: record.name,
              version: record.version,
              description: record.description,
              grants: record.grants,
              condition: record.condition,
            },
          },
        ],
        now,
      );
      out.push({ name: role.name, version: record.version, change: stored ? 'changed' : 'created' });
    }
    return { roles: out };
  });
}

export async function listRoles(deps: AppDeps): Promise<{ builtIn: BuiltInRoleView[]; custom: RoleView[] }> {
  return {
    builtIn: BUILT_IN_ROLES.map((name) => ({ name, summary: roleSummary(name) })),
    custom: await deps.store.customRoles.list(),
  };
}

/** A custom role, the permissions it names today, and the enabled principals that hold it. */
export async function showRole(deps: AppDeps, name: string): Promise<RoleView & { permissions: string[]; holders: string[] }> {
  if (isBuiltInRole(name)) throw notFound(`${name} is a built-in role (${roleSummary(name)}); only custom roles are stored`);
  const r = await deps.store.customRoles.get(name);
  if (!r) throw notFound(`no custom role ${name}; list them with "bulwark roles list"`);
  return { ...r, permissions: grantedPermissions(r, PERMISSIONS), holders: await holders(deps.store.principals, name) };
}

async function holders(principals: AppDeps['store']['principals'], name: string): Promise<string[]> {
  return (await principals.list()).filter((p) => p.disabledAt === null && p.roles.includes(name)).map((p) => p.id);
}

/** Delete a custom role that no enabled principal holds (take it from them first). */
export async function deleteRole(deps: AppDeps, actor: Actor, name: string): Promise<{ name: string; version: number }> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    // Locked first: a principal given the role meanwhile is a holder below, or waits and then
    // finds the role gone (checkRoleNames locks it too).
    const [r] = await tx.customRoles.lock([name]);
    if (!r) throw notFound(`no custom role ${name}; list them with "bulwark roles list"`);
    const held = await holders(tx.principals, name);
    if (held.length > 0)
      throw conflict(
        `role ${name} is held by ${held.slice(0, 10).join(', ')}${held.length > 10 ? ` and ${held.length - 10} more` : ''}; take it from them first (bulwark principals set-roles)`,
        { holders: held },
      );
    if (!(await tx.customRoles.delete(name, r.version, now)))
      throw conflict(`role ${name} was changed by someone else at the same time; try again`);
    await tx.ledger.append([{ actor, kind: 'role.deleted', subject: `role:${name}`, data: { name, version: r.version } }], now);
    return { name, version: r.version };
  });
}

/**
 * Refuse role names that are neither built in nor a stored custom role. Called in the transaction
 * that gives them to a principal: the custom ones stay locked until it ends, so a concurrent delete
 * either sees the principal hold the role (and refuses) or has deleted it first (and this refuses).
 */
export async function checkRoleNames(repos: Pick<AppDeps['store'], 'customRoles'>, roles: readonly string[]): Promise<void> {
  const custom = roles.filter((r) => !isBuiltInRole(r));
  const bad = custom.find((r) => !ROLE_NAME.test(r));
  if (bad !== undefined) throw invalid(`role "${bad.slice(0, 80)}": a role name is 1–63 lowercase letters, digits and . _ -`);
  const known = new Set((await repos.customRoles.lock(custom)).map((r) => r.name));
  const unknown = custom.filter((r) => !known.has(r));
  if (unknown.length > 0)
    throw invalid(
      `no role ${unknown.join(', ')}: use a built-in role (${BUILT_IN_ROLES.join(', ')}) or apply a custom one first (bulwark roles apply FILE)`,
    );
}

/** What the principal's custom roles without a condition grant, for its scopes (none when it holds no custom role). */
export async function unconditionalGrants(deps: AppDeps, roles: readonly string[]): Promise<Permission[]> {
  const custom = roles.filter((r) => !isBuiltInRole(r));
  if (custom.length === 0) return [];
  const out: Permission[] = [];
  for (const r of await deps.store.customRoles.getMany(custom)) if (r.condition === null) out.push(...grantedPermissions(r, PERMISSIONS));
  return out;
}

/** The resource a route acts on, as a condition sees it; `find` reads its labels (undefined: no such resource). */
export interface ConditionResource {
  kind: string;
  name: string;
  find(): Promise<Record<string, string> | undefined>;
}

export type ConditionalDecision =
  | { kind: 'none' }
  | { kind: 'allowed'; role: string; reason: string }
  /** `reason` is for the caller; `detail` (the conditions and their errors) for the server's log only. */
  | { kind: 'denied'; reason: string; detail?: string }
  | { kind: 'not_found'; reason: string };

/** Compiled roles by their stored form: a condition is compiled once per process, not per request. */
const compiled = new Map<string, CustomRole>();

function compiledRole(r: CustomRoleRecord): CustomRole {
  const key = JSON.stringify([r.name, r.version, r.grants, r.condition]);
  let role = compiled.get(key);
  if (!role) {
    if (compiled.size >= 512) compiled.clear();
    role = roleFrom(r);
    compiled.set(key, role);
  }
  return role;
}

/**
 * Whether a conditional custom role lets this principal do `permission` on `resource`. Asked
 * when the principal's scopes do not grant it: `none` when no conditional role it holds names the
 * permission. The token's own scopes must grant the permission too (a token narrows, never
 * widens); a route that names no resource, a resource that is not there, a condition that does not
 * hold or fails to evaluate: denied (which condition, and why, only in `detail`).
 */
export async function conditionalAccess(
  deps: AppDeps,
  principal: Pick<Principal, 'id' | 'kind' | 'tokenId'>,
  permission: Permission,
  method: string,
  resource: ConditionResource | undefined,
): Promise<ConditionalDecision> {
  const p = await deps.store.principals.get(principal.id);
  if (!p || p.disabledAt) return { kind: 'none' };
  const custom = p.roles.filter((r) => !isBuiltInRole(r));
  if (custom.length === 0) return { kind: 'none' };
  const roles = (await deps.store.customRoles.getMany(custom))
    .filter((r) => r.condition !== null && roleCovers(r, permission))
    .map(compiledRole);
  if (roles.length === 0) return { kind: 'none' };
  const names = roles.map((r) => r.name).join(', ');
  const token = await deps.store.tokens.get(principal.tokenId);
  const tokenScopes = (token?.scopes ?? []).filter((s) => s === '*' || !s.startsWith(`${permission}:`));
  if (!can({ scopes: tokenScopes }, permission))
    return { kind: 'denied', reason: `role ${names} grants ${permission} under a condition, but the token's scopes do not include it` };
  if (!resource)
    return {
      kind: 'denied',
      reason: `role ${names} grants ${permission} only where its condition holds, and this route acts on no single resource to evaluate it on`,
    };
  const labels = await resource.find();
  if (!labels) return { kind: 'not_found', reason: `no ${resource.kind} ${resource.name}` };
  const input = {
    principal: { id: p.id, kind: p.kind, groups: p.groups, roles: p.roles },
    request: { method, permission },
    resource: { kind: resource.kind, name: resource.name, labels },
  };
  const reasons: string[] = [];
  for (const role of roles) {
    const d = roleAllows(role, input);
    if (d.allowed) return { kind: 'allowed', role: role.name, reason: d.reason };
    reasons.push(d.reason);
  }
  // The caller learns that no role grants it here, not which condition or label was missing: the
  // condition's text and its evaluation error would say which labels to aim for.
  return {
    kind: 'denied',
    reason: `no role grants ${permission} on ${resource.kind} ${resource.name}`,
    detail: `role ${names} on ${resource.kind} ${resource.name}: ${reasons.join('; ')}`,
  };
}
