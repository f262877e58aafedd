/**
 * The approval rules (core/access/guarded-actions.ts): kept in the database (meta key
 * `access.approval-rules`), so every replica reads the same, set with a ledger entry. None by
 * default: nothing needs approval until an admin says which action needs whose.
 */
import { ApprovalRules, NO_APPROVAL_RULES, type ApprovalRules as Rules } from '../../core/access/guarded-actions.ts';
import type { Actor } from '../../core/ledger/actor.ts';
import { parseInput } from '../../core/validate.ts';
import { iso, type AppDeps } from '../deps.ts';

const KEY = 'access.approval-rules';

export async function getApprovalRules(deps: Pick<AppDeps, 'store'>): Promise<Rules> {
  const raw = await deps.store.meta.get(KEY);
  if (raw === undefined) return NO_APPROVAL_RULES;
  const parsed = ApprovalRules.safeParse(JSON.parse(raw));
  // A stored value this version does not read guards nothing rather than everything: say so loudly in the API.
  return parsed.success ? parsed.data : NO_APPROVAL_RULES;
}

export async function setApprovalRules(deps: AppDeps, actor: Actor, raw: unknown): Promise<Rules> {
  const rules = parseInput(ApprovalRules, raw, 'approval rules');
  const now = iso(deps.clock);
  await deps.store.transaction(async (tx) => {
    await tx.meta.put(KEY, JSON.stringify(rules));
    await tx.ledger.append([{ actor, kind: 'approval-rules.set', subject: 'approval-rules', data: { rules: JSON.stringify(rules) } }], now);
  });
  return rules;
}
