/**
 * Evidence: content stored once by its SHA-256 (in the database, at most MAX_EVIDENCE_BYTES),
 * never modified or deleted; its custody in the ledger: who collected it, when and from where
 * (`incident.evidence.added`), every read (`incident.evidence.accessed`), every verification.
 * A pinned signal's raw payload, as it came in, becomes evidence.
 */
import { conflict, DomainError, notFound } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import type { NewEntry } from '../../core/ledger/entry.ts';
import type { EvidenceBlob, EvidenceItem, Viewer } from '../../store/incidents/port.ts';
import type { Repos } from '../../store/store.ts';
import { iso, type AppDeps } from '../deps.ts';
import { entry, record, sha256Hex, timelineEvent, visibleIncident } from './record.ts';

/** 1 MiB: log excerpts, payloads, screenshots; larger files belong in an evidence store of their own, named by digest. */
export const MAX_EVIDENCE_BYTES = 1024 * 1024;

export interface NewEvidence {
  name: string;
  mediaType: string;
  bytes: Buffer;
  /** Where it was collected: a host and path, a URL, `upload`. */
  origin: string;
}

export async function collect(
  tx: Repos,
  actor: Actor,
  id: number,
  e: NewEvidence,
  now: string,
): Promise<{ item: EvidenceItem; entries: NewEntry[] }> {
  if (e.bytes.length > MAX_EVIDENCE_BYTES)
    throw new DomainError(
      'payload_too_large',
      `evidence is ${e.bytes.length} bytes, more than ${MAX_EVIDENCE_BYTES}; keep a large file elsewhere and add an excerpt or its digest`,
    );
  const sha256 = sha256Hex(e.bytes);
  await tx.incidents.putBlob({ sha256, mediaType: e.mediaType, size: e.bytes.length, bytes: e.bytes });
  const item = { incidentId: id, sha256, name: e.name, origin: e.origin, collectedBy: actorLabel(actor), collectedAt: now };
  if (!(await tx.incidents.addEvidence(item))) throw conflict(`this content (SHA-256 ${sha256}) is evidence of incident ${id} already`);
  const stored = (await tx.incidents.getBlob(sha256))!;
  return {
    item: { ...item, mediaType: stored.mediaType, size: stored.size },
    entries: [
      entry(actor, 'incident.evidence.added', `incident:${id}`, {
        incident: id,
        sha256,
        size: stored.size,
        mediaType: stored.mediaType,
        name: e.name,
        origin: e.origin,
      }),
    ],
  };
}

export async function addEvidence(deps: AppDeps, actor: Actor, viewer: Viewer, id: number, e: NewEvidence): Promise<EvidenceItem> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    await visibleIncident(tx, id, viewer);
    const { item, entries } = await collect(tx, actor, id, e, now);
    await record(tx, entries, now);
    return item;
  });
}

/** Pin a signal: it goes on the timeline, and the raw payload it came in becomes evidence. */
export async function pinSignal(deps: AppDeps, actor: Actor, viewer: Viewer, id: number, signalId: string): Promise<EvidenceItem> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    await visibleIncident(tx, id, viewer);
    const s = await tx.signals.get(signalId);
    if (!s) throw notFound(`no signal ${signalId}; GET /v1/signals lists them`);
    const raw = await tx.signals.getEvidence(s.rawDigest);
    if (!raw) throw notFound(`signal ${signalId}'s raw payload is not stored`);
    const ext = raw.mediaType.includes('json') ? 'json' : 'txt';
    const { item, entries } = await collect(
      tx,
      actor,
      id,
      { name: `signal-${signalId}.${ext}`, mediaType: raw.mediaType, bytes: raw.bytes, origin: `signal:${signalId}` },
      now,
    );
    await record(
      tx,
      [entry(actor, 'incident.signal.pinned', `incident:${id}`, { incident: id, signal: signalId, evidence: item.sha256 }), ...entries],
      now,
    );
    return item;
  });
}

/** Read evidence content; the read is recorded (custody). */
export async function readEvidence(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
  sha256: string,
): Promise<EvidenceBlob & { name: string }> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    await visibleIncident(tx, id, viewer);
    const item = (await tx.incidents.evidence(id)).find((e) => e.sha256 === sha256);
    const blob = item && (await tx.incidents.getBlob(sha256));
    if (!item || !blob) throw notFound(`no evidence ${sha256} on incident ${id}`);
    await record(tx, [entry(actor, 'incident.evidence.accessed', `incident:${id}`, { incident: id, sha256 })], now);
    return { ...blob, name: item.name };
  });
}

export interface EvidenceCheck {
  sha256: string;
  name: string;
  ok: boolean;
  problem: string | null;
}

/**
 * Rehash every item of the incident: its content must hash to its digest and have its recorded
 * size, and its collection must be in the ledger with that digest. Any mismatch is reported by
 * item; the verification itself is recorded.
 */
export async function verifyEvidence(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
): Promise<{ ok: boolean; items: EvidenceCheck[] }> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    await visibleIncident(tx, id, viewer);
    // What the ledger says was collected: each item's digest, size, name, media type and origin.
    const recorded = new Map<string, { size: number; name: string; mediaType: string; origin: string }>();
    for (const e of (await tx.incidents.timeline(`incident:${id}`, { limit: 1_000_000 })).map(timelineEvent))
      if (e.kind === 'incident.evidence.added')
        recorded.set(String(e.data.sha256), {
          size: Number(e.data.size),
          name: String(e.data.name),
          mediaType: String(e.data.mediaType),
          origin: String(e.data.origin),
        });
    const items: EvidenceCheck[] = [];
    const stored = await tx.incidents.evidence(id);
    for (const item of stored) {
      const blob = await tx.incidents.getBlob(item.sha256);
      const r = recorded.get(item.sha256);
      let problem: string | null = null;
      if (!blob) problem = 'the content is missing';
      else if (sha256Hex(blob.bytes) !== item.sha256) problem = `the content hashes to ${sha256Hex(blob.bytes)}, not to its digest`;
      else if (!r) problem = 'its collection is not in the ledger';
      else if (blob.bytes.length !== r.size) problem = `the ledger recorded ${r.size} bytes; ${blob.bytes.length} are stored`;
      else if (item.name !== r.name || item.origin !== r.origin || blob.mediaType !== r.mediaType)
        problem = `its record differs from the ledger's (name '${r.name}', origin '${r.origin}', media type '${r.mediaType}')`;
      items.push({ sha256: item.sha256, name: item.name, ok: problem === null, problem });
    }
    // Collected, by the ledger, but no longer stored: removed behind the product's back.
    for (const [sha256, r] of recorded)
      if (!stored.some((i) => i.sha256 === sha256))
        items.push({ sha256, name: r.name, ok: false, problem: 'the ledger records its collection, but it is no longer stored' });
    await record(
      tx,
      [
        entry(actor, 'incident.evidence.verified', `incident:${id}`, {
          incident: id,
          items: items.length,
          mismatches: items.filter((i) => !i.ok).map((i) => i.sha256),
        }),
      ],
      now,
    );
    return { ok: items.every((i) => i.ok), items };
  });
}
