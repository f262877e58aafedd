/**
 * Signed checkpoints: made on demand and periodically when the log has grown, stored, and
 * handed to publishers (a file, a webhook) so that a copy lives outside Bulwark's database.
 */
import { checkpointTime, parseCheckpointNote, signCheckpoint } from '../../core/ledger/checkpoint.ts';
import type { CheckpointRecord } from '../../store/ledger/port.ts';
import { iso, type AppDeps } from '../deps.ts';
import { keyRecord } from './key-ring.ts';
import { systemActor, type Actor } from '../../core/ledger/actor.ts';

export type Publisher = (c: CheckpointRecord) => Promise<void>;

export interface CheckpointView {
  size: number;
  root: string;
  time: string;
  keyId: string;
  keyName: string;
  origin: string;
  note: string;
}

export function viewCheckpoint(c: CheckpointRecord): CheckpointView {
  const parsed = parseCheckpointNote(c.note);
  const sig = parsed.ok ? parsed.value.signatures[0] : undefined;
  return {
    size: c.size,
    root: c.root.toString('hex'),
    time: (parsed.ok ? checkpointTime(parsed.value) : undefined) ?? c.time,
    keyId: c.keyId,
    keyName: sig?.name ?? '',
    origin: parsed.ok ? parsed.value.origin : '',
    note: c.note,
  };
}

/** Register the current signing key's public half, so verifiers can find it. Idempotent. */
export async function registerCurrentKey(deps: AppDeps, actor: Actor): Promise<void> {
  const k = deps.keys.current();
  const known = await deps.store.ledger.keys();
  if (known.some((r) => r.keyId === k.keyId)) return;
  const now = iso(deps.clock);
  await deps.store.transaction(async (tx) => {
    await tx.ledger.addKey(keyRecord(k, now));
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'ledger.key.added',
          subject: `key:${k.keyId}`,
          data: { keyId: k.keyId, name: k.name, publicKey: k.rawPublic.toString('base64') },
        },
      ],
      now,
    );
  });
}

/**
 * Sign the current head. A head that already has a checkpoint by the current key is not signed
 * again (one checkpoint per size and key). Returns the checkpoint and whether it is new.
 */
export async function makeCheckpoint(
  deps: AppDeps,
  opts: { publishers?: readonly Publisher[]; onPublishError?: (e: unknown) => void; force?: boolean } = {},
): Promise<{ checkpoint: CheckpointRecord; created: boolean }> {
  await registerCurrentKey(deps, systemActor('system'));
  const key = deps.keys.current();
  const head = await deps.store.ledger.head();
  const latest = await deps.store.ledger.latestCheckpoint();
  // With `force`, a head already signed is signed again and published; the store keeps the first
  // checkpoint per size and key, so the new note is returned and published but not stored.
  if (!opts.force && latest && latest.size === head.size && latest.keyId === key.keyId) return { checkpoint: latest, created: false };
  const time = iso(deps.clock);
  const signed = signCheckpoint(
    { origin: deps.origin, size: head.size, root: head.root, extensions: [`time ${time}`] },
    key.name,
    key.privateKey,
    key.publicKey,
  );
  const record: CheckpointRecord = { size: head.size, keyId: key.keyId, root: head.root, time, note: signed.note };
  await deps.store.ledger.addCheckpoint(record);
  for (const publish of opts.publishers ?? []) {
    try {
      await publish(record);
    } catch (e) {
      opts.onPublishError?.(e);
    }
  }
  return { checkpoint: record, created: true };
}

/** Rotate the signing key: the new public key is recorded, the old one is kept and retired. */
export async function rotateKey(deps: AppDeps, actor: Actor): Promise<{ oldKeyId: string; newKeyId: string }> {
  const old = deps.keys.current();
  const next = deps.keys.rotate();
  const now = iso(deps.clock);
  await deps.store.transaction(async (tx) => {
    await tx.ledger.addKey(keyRecord(next, now));
    await tx.ledger.retireKey(old.keyId, now);
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'ledger.key.rotated',
          subject: `key:${next.keyId}`,
          data: { oldKeyId: old.keyId, newKeyId: next.keyId, name: next.name, publicKey: next.rawPublic.toString('base64') },
        },
      ],
      now,
    );
  });
  return { oldKeyId: old.keyId, newKeyId: next.keyId };
}
