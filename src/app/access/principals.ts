/**
 * Principals: people and service accounts, each with groups (for approval rules to come) and
 * roles. A principal's tokens act within its roles (core/access/roles.ts); disabling it revokes
 * every token it has, and with them its dashboard sessions, at once on every replica. Every
 * change is a ledger entry in the same transaction.
 */
import { z } from 'zod';
import { BUILT_IN_ROLES } from '../../core/access/roles.ts';
import { conflict, notFound } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import { parseInput } from '../../core/validate.ts';
import type { PrincipalRecord } from '../../store/access/port.ts';
import { iso, type AppDeps } from '../deps.ts';
import { checkRoleNames, checkRolesGrantable, type Grantor } from './custom-roles.ts';

const NAME = /^[a-z0-9][a-z0-9._@-]{0,62}$/;

export const CreatePrincipalInput = z.strictObject({
  kind: z.enum(['person', 'service']),
  name: z.string().regex(NAME, 'a name is 1–63 lowercase letters, digits and . _ @ -, starting with a letter or digit'),
  groups: z.array(z.string().regex(NAME, 'a group is named like a principal')).max(50).default([]),
  roles: z
    .array(z.string().max(63))
    .min(1, `give at least one role: a built-in one (${BUILT_IN_ROLES.join(', ')}) or a custom role applied with bulwark roles apply`)
    .max(10),
});
export type CreatePrincipalInput = z.input<typeof CreatePrincipalInput>;

/** A principal as the API and the CLI show it: the record itself (it holds no secret). */
export type PrincipalView = PrincipalRecord;

export const viewPrincipal = (p: PrincipalRecord): PrincipalView => ({ ...p });

/** Create a principal; through the API its roles may grant only what `grantor` (the caller's request) holds. */
export async function createPrincipal(deps: AppDeps, actor: Actor, raw: CreatePrincipalInput, grantor?: Grantor): Promise<PrincipalView> {
  const input = parseInput(CreatePrincipalInput, raw, 'principal');
  const now = iso(deps.clock);
  const record: PrincipalRecord = {
    id: `${input.kind}:${input.name}`,
    kind: input.kind,
    name: input.name,
    groups: [...new Set(input.groups)],
    roles: [...new Set(input.roles)],
    createdAt: now,
    createdBy: actorLabel(actor),
    disabledAt: null,
  };
  await deps.store.transaction(async (tx) => {
    if (await tx.principals.get(record.id)) throw conflict(`principal ${record.id} exists; principals are never renamed or reused`);
    await checkRoleNames(tx, record.roles);
    await checkRolesGrantable(tx, grantor, record.roles);
    await tx.principals.insert(record);
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'principal.created',
          subject: `principal:${record.id}`,
          data: { id: record.id, kind: record.kind, groups: record.groups, roles: record.roles },
        },
      ],
      now,
    );
  });
  return viewPrincipal(record);
}

export async function listPrincipals(deps: AppDeps): Promise<PrincipalView[]> {
  return (await deps.store.principals.list()).map(viewPrincipal);
}

/** Disable a principal: its tokens are revoked in the same transaction, and with them its sessions. */
export async function disablePrincipal(deps: AppDeps, actor: Actor, id: string): Promise<PrincipalView & { revokedTokens: string[] }> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const p = await tx.principals.get(id);
    if (!p) throw notFound(`no principal ${id}`);
    if (p.disabledAt) throw conflict(`principal ${id} was disabled at ${p.disabledAt}`);
    await tx.principals.disable(id, now);
    const revoked = await tx.principals.liveTokens(id);
    for (const t of revoked) await tx.tokens.revoke(t, now);
    await tx.ledger.append([{ actor, kind: 'principal.disabled', subject: `principal:${id}`, data: { id, revokedTokens: revoked } }], now);
    return { ...viewPrincipal({ ...p, disabledAt: now }), revokedTokens: revoked };
  });
}

export const SetRolesInput = z.strictObject({
  roles: z
    .array(z.string().max(63))
    .min(1, `give at least one role: a built-in one (${BUILT_IN_ROLES.join(', ')}) or a custom role`)
    .max(10),
});
export type SetRolesInput = z.input<typeof SetRolesInput>;

/**
 * Set a principal's roles (built-in and custom), all of them at once; its tokens act within the
 * new ones from the next request. A role it did not hold may grant only what `grantor` (the
 * caller's request; none from the command line) holds.
 */
export async function setPrincipalRoles(
  deps: AppDeps,
  actor: Actor,
  id: string,
  raw: SetRolesInput,
  grantor?: Grantor,
): Promise<PrincipalView> {
  const input = parseInput(SetRolesInput, raw, 'roles');
  const roles = [...new Set(input.roles)];
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const p = await tx.principals.get(id);
    if (!p) throw notFound(`no principal ${id}`);
    if (p.disabledAt) throw conflict(`principal ${id} was disabled at ${p.disabledAt}; its roles no longer matter`);
    await checkRoleNames(tx, roles);
    await checkRolesGrantable(
      tx,
      grantor,
      roles.filter((r) => !p.roles.includes(r)),
    );
    await tx.principals.setRoles(id, roles);
    await tx.ledger.append(
      [{ actor, kind: 'principal.roles-changed', subject: `principal:${id}`, data: { id, from: p.roles, to: roles } }],
      now,
    );
    return viewPrincipal({ ...p, roles });
  });
}
