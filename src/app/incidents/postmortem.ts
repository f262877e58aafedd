/** The postmortem of an incident, generated from its record (core/incidents/postmortem.ts); generating it is recorded with the digest of what was generated. */
import { postmortemMarkdown, type PostmortemInput } from '../../core/incidents/postmortem.ts';
import type { Actor } from '../../core/ledger/actor.ts';
import type { Viewer } from '../../store/incidents/port.ts';
import type { Repos } from '../../store/store.ts';
import { iso, type AppDeps } from '../deps.ts';
import { currentSettings, entry, record, sha256Hex, timelineEvent, visibleIncident } from './record.ts';

/** What the postmortem is made of, read in the caller's transaction. */
export async function postmortemInput(deps: Pick<AppDeps, 'store'>, tx: Repos, viewer: Viewer, id: number): Promise<PostmortemInput> {
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
  };
}

export async function generatePostmortem(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
): Promise<{ markdown: string; sha256: string }> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const markdown = postmortemMarkdown(await postmortemInput(deps, tx, viewer, id));
    const sha256 = sha256Hex(markdown);
    await record(tx, [entry(actor, 'incident.postmortem.generated', `incident:${id}`, { incident: id, sha256 })], now);
    return { markdown, sha256 };
  });
}
