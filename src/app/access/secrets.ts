/**
 * Sealed secrets: set (a new version), list (names, versions, times; never values), delete,
 * resolve (the value, in the process that uses it; nothing is written), and rotate the key
 * (re-seal every value under a new key, then retire the old). The ledger records names, versions
 * and key ids: never a value, nor a digest of one (a digest of a short secret can be guessed).
 * TOTP secrets written before sealing are sealed in place when a server with the key starts.
 */
import { conflict, invalid, notFound } from '../../core/errors.ts';
import { MAX_SECRET_BYTES, SECRET_NAME, SECRET_NAME_RULE, isSealed, sealContext } from '../../core/access/sealed.ts';
import type { Actor } from '../../core/ledger/actor.ts';
import { actorLabel } from '../../core/ledger/actor.ts';
import type { SecretMeta } from '../../store/access/port.ts';
import type { Repos } from '../../store/store.ts';
import { iso, type AppDeps } from '../deps.ts';
import { seal, sealedKeyId, unseal, type SecretKeys } from './sealer.ts';
import { resealRollbacksText, rollbacksTextKeyId, rollbacksTextSealed } from './sealed-rollbacks.ts';

export type SecretView = SecretMeta;

function keysOf(deps: AppDeps): SecretKeys {
  if (!deps.secretKeys) throw invalid('this process has no sealing key; sealed secrets are managed through a server (bulwark serve)');
  return deps.secretKeys;
}

export function checkSecretName(name: string): string {
  if (!SECRET_NAME.test(name)) throw invalid(`secret name '${name.slice(0, 80)}': ${SECRET_NAME_RULE}`, { path: 'name' });
  return name;
}

function checkValue(value: string): string {
  if (value.length === 0) throw invalid('the secret value is empty; pass the value on stdin or in a file', { path: 'value' });
  if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_BYTES)
    throw invalid(`the secret value is over ${MAX_SECRET_BYTES} bytes; a secret is a password, a key or a token`, { path: 'value' });
  return value;
}

/**
 * Set a secret's value: version 1 when new, one more than the name's last version otherwise (a
 * deleted name goes on counting). Sealed inside the transaction, under the sealing lock a key
 * rotation takes too, so that a value is never sealed under a key a rotation is retiring; the
 * row's key id is the one the sealed text names.
 */
export async function setSecret(deps: AppDeps, actor: Actor, name: string, value: string): Promise<SecretView> {
  checkSecretName(name);
  checkValue(value);
  const keys = keysOf(deps);
  const now = iso(deps.clock);
  const by = actorLabel(actor);
  return deps.store.transaction(async (tx) => {
    await tx.secrets.lockForSealing();
    const old = await tx.secrets.get(name);
    const last = old?.version ?? (await tx.secrets.lastVersion(name));
    const version = last + 1;
    const sealed = seal(keys, value, sealContext.secret(name, version));
    const keyId = sealedKeyId(sealed)!;
    const record = {
      name,
      version,
      keyId,
      sealed,
      createdAt: old?.createdAt ?? now,
      createdBy: old?.createdBy ?? by,
      updatedAt: now,
      updatedBy: by,
    };
    const stored = last > 0 ? await tx.secrets.update(record, last) : await tx.secrets.insert(record);
    if (!stored) throw conflict(`secret ${name} changed meanwhile; set it again`);
    await tx.ledger.append([{ actor, kind: 'secret.set', subject: `secret:${name}`, data: { name, version, keyId } }], now);
    return { name, version, keyId, createdAt: record.createdAt, createdBy: record.createdBy, updatedAt: now, updatedBy: by };
  });
}

export async function listSecrets(deps: AppDeps): Promise<SecretView[]> {
  return deps.store.secrets.list();
}

export async function deleteSecret(deps: AppDeps, actor: Actor, name: string): Promise<{ name: string; version: number }> {
  checkSecretName(name);
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const old = await tx.secrets.get(name);
    if (!old || !(await tx.secrets.delete(name))) throw notFound(`no secret ${name}; bulwark secrets list shows the names`);
    await tx.ledger.append([{ actor, kind: 'secret.deleted', subject: `secret:${name}`, data: { name, version: old.version } }], now);
    return { name, version: old.version };
  });
}

/**
 * The value of a secret, for the step that uses it (the experiment runner). Nothing is written:
 * the run records which secrets it named, never what they held.
 */
export async function resolveSecret(deps: AppDeps, name: string): Promise<string> {
  checkSecretName(name);
  const keys = keysOf(deps);
  const r = await deps.store.secrets.get(name);
  if (!r) throw notFound(`no sealed secret ${name}; set it with: bulwark secrets set ${name} < FILE`);
  return unseal(keys, r.sealed, sealContext.secret(name, r.version));
}

/**
 * The key ids the database names: sealed secrets, sealed TOTP secrets and runs' sealed rollbacks.
 * A server refuses to start when its key file lacks one of them (server/parts/access.ts), and a
 * rotation retires only keys no longer named here.
 */
export async function referencedKeyIds(repos: Pick<Repos, 'secrets' | 'secondFactors' | 'runRollbackSeals'>): Promise<string[]> {
  const ids = new Set<string>();
  for (const s of await repos.secrets.list()) ids.add(s.keyId);
  for (const f of await repos.secondFactors.storedSecrets()) {
    const id = sealedKeyId(f.secret);
    if (id) ids.add(id);
  }
  for (const r of await repos.runRollbackSeals.list()) {
    const id = rollbacksTextKeyId(r.rollbacks);
    if (id) ids.add(id);
  }
  return [...ids].sort();
}

/**
 * Rotate the sealing key: under the sealing lock, a new key becomes current and every secret,
 * TOTP secret and run's rollbacks is re-sealed under it in one transaction (with its ledger
 * entry); then the old keys that nothing in the database names any more are retired. A crash
 * before the retirement leaves both keys in the file, and every value readable; a key still
 * named (a run that sealed its rollbacks meanwhile) stays until the next rotation.
 */
export async function rotateSecretKey(
  deps: AppDeps,
  actor: Actor,
): Promise<{ from: string[]; to: string; secrets: number; secondFactors: number; runs: number }> {
  const keys = keysOf(deps);
  const now = iso(deps.clock);
  const result = await deps.store.transaction(async (tx) => {
    await tx.secrets.lockForSealing();
    const from = keys.ids();
    const next = keys.rotate();
    let secrets = 0;
    for (const meta of await tx.secrets.list()) {
      const r = await tx.secrets.get(meta.name);
      if (!r || sealedKeyId(r.sealed) === next.id) continue;
      const context = sealContext.secret(r.name, r.version);
      const sealed = seal(keys, unseal(keys, r.sealed, context), context);
      if (!(await tx.secrets.reseal(r.name, r.version, sealedKeyId(sealed)!, sealed)))
        throw conflict(`secret ${r.name} changed during the rotation; rotate again`);
      secrets += 1;
    }
    let secondFactors = 0;
    for (const f of await tx.secondFactors.storedSecrets()) {
      const context = sealContext.totp(f.principalId);
      const plain = isSealed(f.secret) ? unseal(keys, f.secret, context) : f.secret;
      if (!(await tx.secondFactors.replaceSecret(f.principalId, f.secret, seal(keys, plain, context))))
        throw conflict(`the second factor of ${f.principalId} changed during the rotation; rotate again`);
      secondFactors += 1;
    }
    let runs = 0;
    for (const r of await tx.runRollbackSeals.list()) {
      const to = resealRollbacksText(keys, r.runId, r.rollbacks);
      if (to === undefined) continue;
      if (!(await tx.runRollbackSeals.replace(r.runId, r.rollbacks, to)))
        throw conflict(`run ${r.runId} changed during the rotation; rotate again`);
      runs += 1;
    }
    const data = { from: from.filter((k) => k !== next.id), to: next.id, secrets, secondFactors, runs };
    await tx.ledger.append([{ actor, kind: 'secret-key.rotated', subject: 'secret-key', data }], now);
    return data;
  });
  const named = new Set(await referencedKeyIds(deps.store));
  keys.retire(result.from.filter((id) => !named.has(id)));
  return result;
}

/**
 * Seal what was stored plain before sealing existed: TOTP secrets, and the resolved rollbacks
 * runs keep for recovery. Once (a no-op when nothing plain is left), when a server with the key starts.
 */
export async function sealStoredValues(deps: AppDeps, actor: Actor): Promise<{ secondFactors: number; runs: number }> {
  const keys = keysOf(deps);
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    // Under the sealing lock, like every sealing a rotation could otherwise miss.
    await tx.secrets.lockForSealing();
    let secondFactors = 0;
    for (const f of await tx.secondFactors.storedSecrets()) {
      if (isSealed(f.secret)) continue;
      if (await tx.secondFactors.replaceSecret(f.principalId, f.secret, seal(keys, f.secret, sealContext.totp(f.principalId))))
        secondFactors += 1;
    }
    let runs = 0;
    for (const r of await tx.runRollbackSeals.list()) {
      if (rollbacksTextSealed(r.rollbacks)) continue;
      const to = resealRollbacksText(keys, r.runId, r.rollbacks);
      if (to !== undefined && (await tx.runRollbackSeals.replace(r.runId, r.rollbacks, to))) runs += 1;
    }
    if (secondFactors + runs > 0)
      await tx.ledger.append(
        [{ actor, kind: 'secrets.sealed-in-place', subject: 'secret-key', data: { secondFactors, runs, keyId: keys.current().id } }],
        now,
      );
    return { secondFactors, runs };
  });
}
