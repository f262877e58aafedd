/** Notes: the one way a person appends to the ledger by hand. Typed, bounded, attributed. */
import { z } from 'zod';
import type { LedgerEntry } from '../../core/ledger/entry.ts';
import type { Principal } from '../../core/access/permissions.ts';
import { NOTE_TYPES } from '../../core/ledger/events.ts';
import { iso, type AppDeps } from '../deps.ts';
import { apiActor } from '../../core/ledger/actor.ts';

export { NOTE_TYPES };

export const NoteInput = z.strictObject({
  type: z.enum(NOTE_TYPES).describe('what kind of note this is'),
  subject: z.string().min(1).max(200).describe('what it is about, e.g. incident:42 or service:shop'),
  text: z.string().min(1).max(10_000),
  labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_.-]{0,62}$/), z.string().max(500)).optional(),
});
export type NoteInput = z.infer<typeof NoteInput>;

/** A note by a principal through the API (`request`: the request id it came in). */
export async function addNote(deps: AppDeps, by: Principal, input: NoteInput, request?: string): Promise<LedgerEntry> {
  const data = { text: input.text, ...(input.labels ? { labels: input.labels } : {}) };
  const [entry] = await deps.store.ledger.append(
    [{ actor: apiActor(by, request), kind: `note.${input.type}`, subject: input.subject, data }],
    iso(deps.clock),
  );
  return entry!;
}
