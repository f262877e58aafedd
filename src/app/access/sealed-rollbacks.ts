/**
 * A run's stored rollbacks, sealed. A run keeps its rollbacks resolved (with secret values in
 * them) so that recovery can run them after a crash; they are stored as
 * `{ sealed: "bws1.…", hostBound }` (the run's id as additional data) when the process has the
 * sealing key, and opened only by the recovery that runs them. `hostBound` stays readable:
 * recovery on another host must know, without opening them, that they act on this one.
 */
import { isSealed, sealContext } from '../../core/access/sealed.ts';
import { providerTypeNamed } from '../../core/experiments/providers/index.ts';
import type { Activity } from '../../core/experiments/types.ts';
import type { Json } from '../../core/ledger/entry.ts';
import { openStored, seal, sealedKeyId, type SecretKeys } from './sealer.ts';

interface SealedRollbacks {
  sealed: string;
  hostBound: boolean;
}

const isSealedRollbacks = (v: Json): v is Json & SealedRollbacks =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v['sealed'] === 'string' && isSealed(v['sealed']);

const hostBoundOf = (rollbacks: Json): boolean =>
  Array.isArray(rollbacks) && (rollbacks as unknown as Activity[]).some((a) => providerTypeNamed(a?.provider?.type)?.hostBound === true);

/** The rollbacks as a run row stores them: sealed when there are keys and something to seal. */
export function sealRollbacks(keys: SecretKeys | undefined, runId: string, rollbacks: Json): Json {
  if (!keys || !Array.isArray(rollbacks) || rollbacks.length === 0) return rollbacks;
  return { sealed: seal(keys, JSON.stringify(rollbacks), sealContext.rollbacks(runId)), hostBound: hostBoundOf(rollbacks) };
}

/** The rollbacks of a run row, opened when sealed (rows from before sealing are read as they are). */
export function openRollbacks(keys: SecretKeys | undefined, runId: string, stored: Json): Activity[] {
  const plain = isSealedRollbacks(stored) ? (JSON.parse(openStored(keys, stored.sealed, sealContext.rollbacks(runId))) as Json) : stored;
  return Array.isArray(plain) ? (plain as unknown as Activity[]) : [];
}

/** Whether this process can open a run row's rollbacks: plain, or sealed under a key it holds. */
export function rollbacksOpenable(keys: SecretKeys | undefined, stored: Json): boolean {
  if (!isSealedRollbacks(stored)) return true;
  const keyId = sealedKeyId(stored.sealed);
  return !!keys && keyId !== undefined && keys.get(keyId) !== undefined;
}

/** Whether a run row's rollbacks act on the host they ran on, read without opening them. */
export const rollbacksHostBound = (stored: Json): boolean => (isSealedRollbacks(stored) ? stored.hostBound === true : hostBoundOf(stored));

/** For the key rotation and the sealing of old rows: the stored text re-sealed under the current key, or undefined when unchanged. */
export function resealRollbacksText(keys: SecretKeys, runId: string, text: string): string | undefined {
  const stored = JSON.parse(text) as Json;
  const plain = openRollbacks(keys, runId, stored) as unknown as Json;
  if (!Array.isArray(plain) || plain.length === 0) return undefined;
  return JSON.stringify(sealRollbacks(keys, runId, plain));
}

/** Whether a stored text holds sealed rollbacks. */
export const rollbacksTextSealed = (text: string): boolean => isSealedRollbacks(JSON.parse(text) as Json);

/** The key id a run's stored rollbacks are sealed under (undefined when plain or not JSON). */
export function rollbacksTextKeyId(text: string): string | undefined {
  let stored: Json;
  try {
    stored = JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
  return isSealedRollbacks(stored) ? sealedKeyId(stored.sealed) : undefined;
}
