/**
 * Custom roles from YAML: a role grants permissions and may add a condition, a CEL expression over
 * the principal, the request and the resource, that must hold for the grant to apply:
 *
 * ```yaml
 * roles:
 *   - name: checkout-runner
 *     description: the checkout team runs its own experiments
 *     grants: [experiments:read, experiments:run]
 *     condition: resource.labels.team in principal.groups
 * ```
 *
 * Conditions are type-checked when the file is read; an expression that fails to evaluate (a
 * missing label, a wrong type) denies. Roles are stored by app/access/custom-roles.ts; a role
 * without a condition adds its grants to a principal's roles, and one with a condition is
 * evaluated by the auth hook on the one resource a route names (server/access-conditions.ts).
 */
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { z } from 'zod';
import { toCel } from '../cel-values.ts';
import { parseYamlBounded } from '../input/bounded-yaml.ts';
import { BUILT_IN_ROLES } from './roles.ts';

/** A custom role's name. */
export const ROLE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const PERMISSION = /^([a-z]+:[a-z*-]+|\*)$/;
const MAX_CONDITION = 2048;

const env = new Environment({ homogeneousAggregateLiterals: false, limits: { maxAstNodes: 500, maxDepth: 24 } })
  .registerType('bulwark.Principal', { fields: { id: 'string', kind: 'string', groups: 'list<string>', roles: 'list<string>' } })
  .registerType('bulwark.Request', { fields: { method: 'string', permission: 'string' } })
  .registerType('bulwark.Resource', { fields: { kind: 'string', name: 'string', labels: 'map<string, string>' } })
  .registerVariable('principal', 'bulwark.Principal')
  .registerVariable('request', 'bulwark.Request')
  .registerVariable('resource', 'bulwark.Resource');

export interface CustomRole {
  name: string;
  description: string;
  grants: string[];
  /** The condition's source, when there is one. */
  condition?: string;
  /** Compiled once when read. */
  program?: ParseResult;
  /** Set when a stored condition no longer compiles: the role then allows nothing. */
  broken?: string;
}

export interface ConditionInput {
  principal: { id: string; kind: string; groups: readonly string[]; roles: readonly string[] };
  request: { method: string; permission: string };
  resource: { kind: string; name: string; labels: Readonly<Record<string, string>> };
}

const RoleFile = z.strictObject({
  roles: z
    .array(
      z.strictObject({
        name: z.string().regex(ROLE_NAME, 'a role name is 1–63 lowercase letters, digits and . _ -'),
        description: z.string().max(500).default(''),
        grants: z
          .array(z.string().regex(PERMISSION, 'a grant is a permission like experiments:run, an area like experiments:*, or *'))
          .min(1, 'a role grants at least one permission')
          .max(100),
        condition: z.string().min(1).max(MAX_CONDITION).optional(),
      }),
    )
    .min(1, 'the file defines no roles: add roles: [{name, grants}]')
    .max(100),
});

export type ReadRoles = { ok: true; roles: CustomRole[] } | { ok: false; errors: { path: string; message: string }[] };

/** Compile a condition that must yield a boolean; the message says what to fix. */
export function compileCondition(source: string): { ok: true; program: ParseResult } | { ok: false; message: string } {
  try {
    const program = env.parse(source);
    const checked = program.check();
    if (!checked.valid)
      return { ok: false, message: `CEL error: ${firstLine(checked.error)} (the variables are principal, request, resource)` };
    if (checked.type !== 'bool' && checked.type !== 'dyn') return { ok: false, message: `the condition yields ${checked.type}, not bool` };
    return { ok: true, program };
  } catch (e) {
    return { ok: false, message: `CEL syntax error: ${firstLine(e)}` };
  }
}

/** Read a roles file: every role checked (names unique and not built-in, grants well formed, conditions compiled). Never throws. */
export function readRoles(text: string, knownPermissions: readonly string[]): ReadRoles {
  const y = parseYamlBounded(text);
  if (!y.ok) return { ok: false, errors: y.errors.map((e) => ({ path: `line ${e.line}`, message: e.message })) };
  const parsed = RoleFile.safeParse(y.value);
  if (!parsed.success)
    return { ok: false, errors: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) };
  const errors: { path: string; message: string }[] = [];
  const seen = new Set<string>();
  const roles: CustomRole[] = [];
  parsed.data.roles.forEach((r, i) => {
    const at = `roles.${i}`;
    if ((BUILT_IN_ROLES as readonly string[]).includes(r.name))
      errors.push({ path: `${at}.name`, message: `${r.name} is a built-in role; choose another name` });
    if (seen.has(r.name)) errors.push({ path: `${at}.name`, message: `${r.name} is defined twice` });
    seen.add(r.name);
    r.grants.forEach((g, j) => {
      const area = g.split(':')[0];
      const known =
        g === '*' || knownPermissions.includes(g) || (g.endsWith(':*') && knownPermissions.some((p) => p.startsWith(`${area}:`)));
      if (!known) errors.push({ path: `${at}.grants.${j}`, message: `${g} is not a permission; see docs/access.md for the list` });
    });
    const role: CustomRole = { name: r.name, description: r.description, grants: r.grants };
    if (r.condition !== undefined) {
      const c = compileCondition(r.condition);
      if (!c.ok) errors.push({ path: `${at}.condition`, message: c.message });
      else Object.assign(role, { condition: r.condition, program: c.program });
    }
    roles.push(role);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, roles };
}

/** A stored role as the model reads it: its condition compiled again (it was checked when applied). */
export function roleFrom(r: { name: string; description: string; grants: readonly string[]; condition: string | null }): CustomRole {
  const role: CustomRole = { name: r.name, description: r.description, grants: [...r.grants] };
  if (r.condition === null) return role;
  const c = compileCondition(r.condition);
  // A stored condition that no longer compiles (the variables changed) grants nothing: deny.
  return c.ok ? { ...role, condition: r.condition, program: c.program } : { ...role, condition: r.condition, broken: c.message };
}

/** The permissions out of `all` that the role's grants name (ignoring its condition). */
export function grantedPermissions<P extends string>(role: Pick<CustomRole, 'grants'>, all: readonly P[]): P[] {
  return all.filter((p) => roleCovers(role, p));
}

/** Whether the role grants `permission` (ignoring its condition). */
export function roleCovers(role: Pick<CustomRole, 'grants'>, permission: string): boolean {
  const area = permission.split(':')[0];
  return role.grants.some((g) => g === '*' || g === permission || g === `${area}:*`);
}

/**
 * Whether the role allows this request on this resource: it must grant the permission and its
 * condition (if any) must evaluate to true. An evaluation error denies, with the reason.
 */
export function roleAllows(role: CustomRole, input: ConditionInput): { allowed: boolean; reason: string } {
  if (!roleCovers(role, input.request.permission))
    return { allowed: false, reason: `${role.name} does not grant ${input.request.permission}` };
  if (role.broken !== undefined)
    return { allowed: false, reason: `the condition of ${role.name} does not compile (denied): ${role.broken}` };
  if (!role.program) return { allowed: true, reason: `${role.name} grants ${input.request.permission}` };
  let result: unknown;
  try {
    // Labels as a Map (core/cel-values.ts): a label named like an object's own key (`constructor`)
    // is a label like any other, never the object's type.
    result = role.program({
      principal: { ...input.principal, groups: [...input.principal.groups], roles: [...input.principal.roles] },
      request: { ...input.request },
      resource: { ...input.resource, labels: toCel({ ...input.resource.labels }) },
    });
  } catch (e) {
    return { allowed: false, reason: `the condition of ${role.name} failed to evaluate (denied): ${firstLine(e)}` };
  }
  return result === true
    ? { allowed: true, reason: `${role.name}: ${role.condition} holds` }
    : { allowed: false, reason: `${role.name}: ${role.condition} does not hold` };
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim();
}
