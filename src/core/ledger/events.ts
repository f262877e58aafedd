/** The ledger's own events: signing keys and the notes people append by hand. */
import { z } from 'zod';
import { event, id, text, type EventDefinition } from './event-catalogue.ts';

export const NOTE_TYPES = ['observation', 'decision', 'action', 'evidence', 'comment'] as const;

const key = { keyId: id, name: z.string().max(200), publicKey: z.string().max(200) };

export const ledgerEvents: EventDefinition[] = [
  event('ledger.key.added', 'a checkpoint signing key is first used', z.strictObject(key)),
  event(
    'ledger.key.rotated',
    '`bulwark ledger rotate-key`',
    z.strictObject({ oldKeyId: id, newKeyId: id, name: key.name, publicKey: key.publicKey }),
  ),
  ...NOTE_TYPES.map((t) =>
    event(`note.${t}`, '`POST /v1/ledger/notes`', z.strictObject({ text, labels: z.record(z.string(), z.string()).optional() })),
  ),
];
