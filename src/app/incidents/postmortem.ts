/** The postmortem of an incident, generated from its record (core/incidents/postmortem.ts); generating it is recorded with the digest of what was generated. */
import { postmortemMarkdown, type PostmortemInput } from '../../core/incidents/postmortem.ts';
import { conflict, invalid } from '../../core/errors.ts';
import { textProblem } from '../../core/input/text.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import type { PostmortemVersion, Viewer } from '../../store/incidents/port.ts';
import type { Repos } from '../../store/store.ts';
import type { IncidentLinks } from '../../core/incidents/links.ts';
import { iso, type AppDeps } from '../deps.ts';
import { incidentLinks } from './links.ts';
import { currentSettings, entry, record, sha256Hex, timelineEvent, visibleIncident } from './record.ts';

/** What the postmortem is made of, read in the caller's transaction. */
export async function postmortemInput(
  deps: Pick<AppDeps, 'store'>,
  tx: Repos,
  viewer: Viewer,
  id: number,
  links?: IncidentLinks,
): Promise<PostmortemInput> {
  const i = await visibleIncident(tx, id, viewer);
  const settings = await currentSettings(deps, tx);
  const c = i.caseId !== null ? await tx.incidents.getCase(i.caseId) : undefined;
  const events = (await tx.incidents.timeline(`incident:${id}`, { limit: 1_000_000 }))
    .map(timelineEvent)
    .map((e) => ({ seq: e.seq, time: e.time, kind: e.kind, actor: e.actorId, data: e.data }));
  return {
    incident: { ...i, severityMeans: settings.severities.find((s) => s.name === i.severity)?.means ?? null },
    roles: await tx.incidents.roles(id),
    events,
    case: c ? { id: c.id, title: c.title, openedAt: c.openedAt, acknowledgedAt: c.acknowledgedAt, items: c.items } : null,
    evidence: (await tx.incidents.evidence(id)).map((e) => ({ sha256: e.sha256, name: e.name, size: e.size, collectedAt: e.collectedAt })),
    openTasks: (await tx.incidents.tasks(id, { status: 'open' })).map((t) => ({
      id: t.id,
      title: t.title,
      owner: t.owner,
      dueAt: t.dueAt,
      checklist: t.checklist,
    })),
    recovery: (await tx.incidents.tasks(id)).filter((t) => t.checklist !== null).map((t) => ({ status: t.status, doneAt: t.doneAt })),
    ...(links ? { links } : {}),
  };
}

export async function generatePostmortem(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
): Promise<{ markdown: string; sha256: string }> {
  const now = iso(deps.clock);
  // Read before the transaction: the budget reads runs and signals through the store.
  const links = await incidentLinks(deps, viewer, id);
  return deps.store.transaction(async (tx) => {
    const markdown = postmortemMarkdown(await postmortemInput(deps, tx, viewer, id, links));
    const sha256 = sha256Hex(markdown);
    await record(tx, [entry(actor, 'incident.postmortem.generated', `incident:${id}`, { incident: id, sha256 })], now);
    return { markdown, sha256 };
  });
}

/** The longest postmortem document kept (characters). */
export const MAX_POSTMORTEM_LENGTH = 200_000;

export interface SaveInput {
  /** The version the edit starts from: 0 before the first; the newest otherwise (a stale one is refused, 409). */
  baseVersion: number;
  /** The edited Markdown; absent: a new version generated from the record. */
  markdown?: string;
}

/**
 * Save a version of the postmortem document: the person's edit, or (no markdown) a fresh one
 * generated from the record. Versions are kept; an edit from a version that is no longer the
 * newest is refused (409) so nobody overwrites an edit they did not see. Each version is a ledger
 * entry with its digest; a generated one is also `incident.postmortem.generated`.
 */
export async function savePostmortem(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
  input: SaveInput,
): Promise<PostmortemVersion> {
  const now = iso(deps.clock);
  if (input.markdown !== undefined) {
    if (input.markdown.trim() === '') throw invalid('markdown is empty; send the postmortem text, or leave markdown out to generate it');
    if (input.markdown.length > MAX_POSTMORTEM_LENGTH)
      throw invalid(`markdown is ${input.markdown.length} characters; a postmortem is at most ${MAX_POSTMORTEM_LENGTH}`);
    const problem = textProblem(input.markdown);
    if (problem) throw invalid(`markdown ${problem}`);
  }
  const links = input.markdown === undefined ? await incidentLinks(deps, viewer, id) : undefined;
  return deps.store.transaction(async (tx) => {
    await visibleIncident(tx, id, viewer);
    const versions = await tx.incidents.postmortemVersions(id);
    const newest = versions.at(-1)?.version ?? 0;
    if (input.baseVersion !== newest)
      throw conflict(
        newest === 0
          ? `incident ${id} has no postmortem yet; save with baseVersion 0`
          : `the postmortem of incident ${id} is at version ${newest} (by ${versions.at(-1)!.by}), not ${input.baseVersion}; read it and edit that version`,
      );
    const source = input.markdown === undefined ? 'generated' : 'edited';
    const body = input.markdown ?? postmortemMarkdown(await postmortemInput(deps, tx, viewer, id, links));
    const v: PostmortemVersion = {
      incidentId: id,
      version: newest + 1,
      source,
      body,
      sha256: sha256Hex(body),
      at: now,
      by: actorLabel(actor),
    };
    if (!(await tx.incidents.addPostmortemVersion(v)))
      throw conflict(`the postmortem of incident ${id} was saved by someone else meanwhile; read it and edit the newest version`);
    const subject = `incident:${id}`;
    const entries = [
      entry(actor, 'incident.postmortem.saved', subject, {
        incident: id,
        version: v.version,
        source,
        sha256: v.sha256,
        size: Buffer.byteLength(body, 'utf8'),
      }),
    ];
    if (source === 'generated') entries.unshift(entry(actor, 'incident.postmortem.generated', subject, { incident: id, sha256: v.sha256 }));
    await record(tx, entries, now);
    return v;
  });
}

/** Every version of the postmortem document, oldest first (empty before the first is saved). */
export async function postmortemVersions(deps: Pick<AppDeps, 'store'>, viewer: Viewer, id: number): Promise<PostmortemVersion[]> {
  await visibleIncident(deps.store, id, viewer);
  return deps.store.incidents.postmortemVersions(id);
}
