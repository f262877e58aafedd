/**
 * API tokens: minted with a secret shown once, stored as a hash, revocable. Every change is a
 * ledger entry in the same transaction; the entry never holds the token.
 */
import { z } from 'zod';
import { DomainError, invalid, notFound } from '../../core/errors.ts';
import { PERMISSIONS } from '../../capabilities/index.ts';
import { DEFAULT_SCOPES, isValidScope, type Principal } from '../../core/access/permissions.ts';
import { effectiveScopes } from '../../core/access/roles.ts';
import { parseInput } from '../../core/validate.ts';
import { mintToken, tokenId, tokenMatches } from '../../core/access/token-format.ts';
import type { TokenRecord } from '../../store/access/port.ts';
import { iso, type AppDeps } from '../deps.ts';
import { unconditionalGrants } from './custom-roles.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';

export const CreateTokenInput = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[\w .@:-]+$/, 'use letters, digits, space and . _ @ : -'),
  kind: z.enum(['person', 'service']).default('service'),
  /** The principal the token acts for (its id, e.g. person:alice): within that principal's roles. */
  principal: z.string().max(200).optional(),
  scopes: z.array(z.string()).max(50).optional(),
  admin: z.boolean().default(false),
  expiresAt: z.iso.datetime().optional(),
});
export type CreateTokenInput = z.input<typeof CreateTokenInput>;

export interface TokenView {
  id: string;
  name: string;
  principal: { id: string; kind: 'person' | 'service' };
  scopes: string[];
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /** When it was last used, to the minute; null when never (or before this was kept). */
  lastUsedAt: string | null;
}

export const viewToken = (t: TokenRecord): TokenView => ({
  id: t.id,
  name: t.name,
  principal: { id: t.principalId, kind: t.principalKind },
  scopes: t.scopes,
  createdAt: t.createdAt,
  createdBy: t.createdBy,
  expiresAt: t.expiresAt,
  revokedAt: t.revokedAt,
  lastUsedAt: t.lastUsedAt ?? null,
});

export async function createToken(deps: AppDeps, actor: Actor, raw: CreateTokenInput): Promise<{ token: string; view: TokenView }> {
  const input = parseInput(CreateTokenInput, raw, 'token');
  const scopes = input.admin ? ['*'] : (input.scopes ?? [...DEFAULT_SCOPES]);
  const badScope = scopes.find((s) => !isValidScope(s, PERMISSIONS));
  if (badScope)
    throw invalid(
      `unknown scope "${badScope}"; use "*", a permission such as ledger:read, an area wildcard such as ledger:*, or a source-bound scope such as signals:ingest:alertmanager`,
    );
  const now = iso(deps.clock);
  if (input.expiresAt && input.expiresAt <= now) throw invalid('expiresAt must be in the future');
  let principalId = `${input.kind}:${input.name}`;
  let principalKind = input.kind;
  if (input.principal !== undefined) {
    const p = await deps.store.principals.get(input.principal);
    if (!p) throw invalid(`no principal ${input.principal}; create it first (bulwark principals create)`);
    if (p.disabledAt) throw invalid(`principal ${input.principal} is disabled; its tokens cannot be minted`);
    principalId = p.id;
    principalKind = p.kind;
  }
  const minted = mintToken();
  const record: TokenRecord = {
    id: minted.id,
    name: input.name,
    hash: minted.hash,
    principalId,
    principalKind,
    scopes,
    createdAt: now,
    createdBy: actorLabel(actor),
    expiresAt: input.expiresAt ?? null,
    revokedAt: null,
  };
  await deps.store.transaction(async (tx) => {
    await tx.tokens.insert(record);
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'token.created',
          subject: `token:${record.id}`,
          data: { id: record.id, name: record.name, principal: record.principalId, scopes, expiresAt: record.expiresAt },
        },
      ],
      now,
    );
  });
  return { token: minted.token, view: viewToken(record) };
}

export async function revokeToken(deps: AppDeps, actor: Actor, id: string): Promise<TokenView> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const t = await tx.tokens.get(id);
    if (!t) throw notFound(`no token with id ${id}; list them with "bulwark tokens list"`);
    if (!(await tx.tokens.revoke(id, now))) throw new DomainError('conflict', `token ${id} was already revoked at ${t.revokedAt}`);
    await tx.ledger.append([{ actor, kind: 'token.revoked', subject: `token:${id}`, data: { id, name: t.name } }], now);
    return viewToken({ ...t, revokedAt: now });
  });
}

export async function listTokens(deps: AppDeps): Promise<TokenView[]> {
  return (await deps.store.tokens.list()).map(viewToken);
}

/** The principal a bearer token stands for, or a reason it does not stand for one. */
export async function authenticate(
  deps: AppDeps,
  token: string,
): Promise<{ ok: true; principal: Principal } | { ok: false; reason: string }> {
  const id = tokenId(token);
  if (!id) return { ok: false, reason: 'the token is malformed; tokens look like bwk_<id>_<secret>' };
  const t = await deps.store.tokens.get(id);
  if (!t || !tokenMatches(token, t.hash)) return { ok: false, reason: 'the token is not known' };
  if (t.revokedAt) return { ok: false, reason: 'the token was revoked' };
  if (t.expiresAt && t.expiresAt <= iso(deps.clock)) return { ok: false, reason: 'the token has expired' };
  const scopes = await scopesOf(deps, t);
  if (!scopes) return { ok: false, reason: 'the principal of this token is disabled' };
  await noteUse(deps, t);
  return {
    ok: true,
    principal: { id: t.principalId, name: t.name, kind: t.principalKind, tokenId: t.id, tokenName: t.name, scopes },
  };
}

/** How often a token's last use is written: at most once a minute, never a write per request. */
const USED_EVERY_MS = 60_000;

/** Record a token's use when the last one recorded is a minute old or more (one conditional update). */
export async function noteUse(deps: AppDeps, t: Pick<TokenRecord, 'id' | 'lastUsedAt'>): Promise<void> {
  const now = deps.clock.now().getTime();
  if (t.lastUsedAt && now - Date.parse(t.lastUsedAt) < USED_EVERY_MS) return;
  await deps.store.tokens.touchUsed(t.id, new Date(now).toISOString(), new Date(now - USED_EVERY_MS).toISOString());
}

/**
 * What a token may do: its scopes, narrowed to its principal's roles (built-in, and custom ones
 * without a condition; plus its active breakglass grants) when the principal exists (tokens
 * made before principals, whose principal has no record, keep their scopes alone); undefined
 * when the principal is disabled. Custom roles with a condition are asked per request
 * (conditionalAccess in custom-roles.ts).
 */
export async function scopesOf(deps: AppDeps, t: Pick<TokenRecord, 'principalId' | 'scopes'>): Promise<string[] | undefined> {
  const p = await deps.store.principals.get(t.principalId);
  if (!p) return t.scopes;
  if (p.disabledAt) return undefined;
  const grants = await deps.store.breakglass.activePermissions(p.id, iso(deps.clock));
  const custom = await unconditionalGrants(deps, p.roles);
  return effectiveScopes(t.scopes, p.roles, PERMISSIONS, custom.length > 0 ? [...grants, ...custom] : grants);
}
