/**
 * How every incident change is written: its ledger entries appended in the caller's transaction,
 * and each entry's position added to the timeline of its subject (and of any other subject
 * named), so a timeline is read back from the ledger itself, ordered and tamper-evident.
 */
import { createHash } from 'node:crypto';
import { invalid, notFound } from '../../core/errors.ts';
import { decodeActor, actorLabel, type Actor } from '../../core/ledger/actor.ts';
import type { LedgerEntry, NewEntry, StoredEntry } from '../../core/ledger/entry.ts';
import { defaultSettings, parseIncidentSettings, type IncidentSettings } from '../../core/incidents/settings.ts';
import { notificationBody, notifyEventOf } from '../../core/incidents/notifications.ts';
import type { IncidentRecord, Viewer } from '../../store/incidents/port.ts';
import type { Repos } from '../../store/store.ts';
import type { AppDeps } from '../deps.ts';

/**
 * Append the entries and put each on its subject's timeline (and on `also`'s); an entry that is
 * a notification (declared, severity, role, resolved) goes into the outbox for each webhook that
 * wants it, in the same transaction, so it is sent even if the server stops right after.
 */
export async function record(tx: Repos, entries: readonly NewEntry[], now: string, also: readonly string[] = []): Promise<LedgerEntry[]> {
  if (entries.length === 0) return [];
  const written = await tx.ledger.append(entries, now);
  const bySubject = new Map<string, number[]>();
  for (const e of written) for (const s of [e.subject, ...also]) bySubject.set(s, [...(bySubject.get(s) ?? []), e.seq]);
  for (const [subject, seqs] of bySubject) await tx.incidents.addTimeline(subject, seqs);
  await enqueueNotifications(tx, written, now);
  return written;
}

async function enqueueNotifications(tx: Repos, written: readonly LedgerEntry[], now: string): Promise<void> {
  const due = written
    .map((e) => ({ e, data: e.data as Record<string, unknown>, event: notifyEventOf(e.kind, e.data as Record<string, unknown>) }))
    .filter((x) => x.event !== undefined);
  if (due.length === 0) return;
  const { notifications } = await settingsIn(tx);
  if (notifications.webhooks.length === 0) return;
  const exercises = new Set(await tx.incidents.exerciseIds());
  for (const { e, data, event } of due) {
    const incident = await tx.incidents.getIncident(Number(data.incident));
    if (!incident || exercises.has(incident.id)) continue; // an exercise tells no one outside it
    for (const hook of notifications.webhooks.filter((h) => h.on.includes(event!)))
      await tx.incidents.enqueue({
        webhook: hook.name,
        event: event!,
        incidentId: incident.id,
        body: notificationBody(hook, event!, incident, { seq: e.seq, time: e.time, kind: e.kind, data }),
        createdAt: now,
        state: 'pending',
        attempts: 0,
        nextAttemptAt: now,
        deliveredAt: null,
        lastError: null,
      });
  }
}

export const entry = (actor: Actor, kind: string, subject: string, data: NewEntry['data']): NewEntry => ({ actor, kind, subject, data });

/** The settings in force: the applied file, or the defaults. */
export async function currentSettings(deps: Pick<AppDeps, 'store'>, tx?: Repos): Promise<IncidentSettings> {
  return settingsIn(tx ?? deps.store);
}

/** The settings in force, read through `repos` (a transaction's, or the store's). */
export async function settingsIn(repos: Repos): Promise<IncidentSettings> {
  const stored = await repos.incidents.getSettings();
  if (!stored) return defaultSettings();
  const r = parseIncidentSettings(stored.file);
  if (!r.ok) throw invalid(`the applied incident settings no longer parse (${r.errors[0]!.message}); apply them again`);
  return r.settings;
}

/** The incident if the viewer may see it; a restricted one is `not_found` to others, exactly like one that does not exist. */
export async function visibleIncident(repos: Repos, id: number, viewer: Viewer): Promise<IncidentRecord> {
  const i = await repos.incidents.getIncident(id, viewer);
  if (!i) throw notFound(`no incident ${id}; GET /v1/incidents lists them`);
  return i;
}

/** Who acts, as a viewer: the principal, and whether it may see restricted incidents. */
export const viewerOf = (actor: Actor, seesRestricted: boolean): Viewer => ({ id: actor.id, seesRestricted });

export interface TimelineEvent {
  seq: number;
  time: string;
  kind: string;
  /** Who acted, short form (`token:ID`, `cli:USER`, a system part). */
  actor: string;
  /** The principal (or system part) that acted. */
  actorId: string;
  data: Record<string, unknown>;
}

export function timelineEvent(e: StoredEntry): TimelineEvent {
  const a = decodeActor(e.actor);
  return {
    seq: e.seq,
    time: e.time,
    kind: e.kind,
    actor: actorLabel(a),
    actorId: typeof a === 'string' ? a : a.id,
    data: JSON.parse(e.dataJson) as Record<string, unknown>,
  };
}

export const sha256Hex = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
