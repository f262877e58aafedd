/**
 * Status reports: drafted from the settings' template for their kind, filled from the incident's
 * record at that instant (status, severity, roles, impact, open tasks, next update); edited as
 * new versions while a draft; posted once, after which they no longer change. Every version is
 * kept; each step is a ledger entry (with the SHA-256 of the text) on the incident's timeline.
 */
import { conflict, invalid, notFound } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import { fillTemplate, reportValues, type ReportKind } from '../../core/incidents/status-report.ts';
import { parsePromDuration } from '../../core/slos/duration.ts';
import type { ReportVersion, Viewer } from '../../store/incidents/port.ts';
import type { Repos } from '../../store/store.ts';
import { iso, type AppDeps } from '../deps.ts';
import { currentSettings, entry, record, sha256Hex, visibleIncident } from './record.ts';

/** When the next update is due, by default, after a report of each kind. */
export const DEFAULT_NEXT_UPDATE: Record<ReportKind, string> = { tactical: '1h', executive: '4h' };

/** The furthest a report may put its next update: a status report is not a plan for next quarter. */
export const MAX_NEXT_UPDATE = '30d';
const MAX_NEXT_UPDATE_MS = 30 * 86_400_000;

export interface DraftInput {
  kind: ReportKind;
  /** `30m`, `2h`… up to MAX_NEXT_UPDATE, or `none`; the kind's default when absent. Ignored once the incident is resolved. */
  nextUpdateIn?: string;
}

export async function draftReport(deps: AppDeps, actor: Actor, viewer: Viewer, id: number, input: DraftInput): Promise<ReportVersion> {
  const inMs = input.nextUpdateIn === 'none' ? null : parsePromDuration(input.nextUpdateIn ?? DEFAULT_NEXT_UPDATE[input.kind]);
  if (inMs === undefined) throw invalid(`nextUpdateIn '${input.nextUpdateIn}' is not a duration; give one such as 30m, 2h or 1d, or none`);
  if (inMs !== null && inMs > MAX_NEXT_UPDATE_MS)
    throw invalid(
      `nextUpdateIn '${input.nextUpdateIn}' is longer than ${MAX_NEXT_UPDATE}: the next update is due at most ${MAX_NEXT_UPDATE} after the report; give a shorter duration, or none`,
    );
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const i = await visibleIncident(tx, id, viewer);
    const settings = await currentSettings(deps, tx);
    const ended = i.status === 'resolved' || i.status === 'closed';
    const nextUpdateAt = ended || inMs === null ? null : new Date(Date.parse(now) + inMs).toISOString();
    const body = fillTemplate(
      settings.statusReports[input.kind],
      reportValues({
        incident: { ...i, severityMeans: settings.severities.find((s) => s.name === i.severity)?.means ?? null },
        roles: await tx.incidents.roles(id),
        openTasks: await tx.incidents.tasks(id, { status: 'open' }),
        now,
        nextUpdateAt,
      }),
    );
    const v: ReportVersion = {
      incidentId: id,
      report: await tx.incidents.nextNumber(`report:${id}`),
      version: 1,
      kind: input.kind,
      state: 'draft',
      body,
      nextUpdateAt,
      at: now,
      by: actorLabel(actor),
    };
    await tx.incidents.addReportVersion(v);
    await record(
      tx,
      [
        entry(actor, 'incident.report.drafted', `incident:${id}`, {
          incident: id,
          report: v.report,
          version: 1,
          sha256: sha256Hex(body),
          kind: v.kind,
        }),
      ],
      now,
    );
    return v;
  });
}

async function latest(tx: Repos, id: number, report: number): Promise<ReportVersion> {
  const versions = await tx.incidents.reportVersions(id, report);
  const last = versions[versions.length - 1];
  if (!last) throw notFound(`incident ${id} has no status report ${report}; GET /v1/incidents/${id}/reports lists them`);
  return last;
}

/**
 * Edit a draft: a new version with this text. `expectVersion` (the version the editor started
 * from) keeps two editors from overwriting each other: a stale one gets a conflict.
 */
export async function editReport(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
  report: number,
  input: { body: string; expectVersion?: number },
): Promise<ReportVersion> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    await visibleIncident(tx, id, viewer);
    const last = await latest(tx, id, report);
    if (last.state === 'posted') throw conflict(`status report ${report} is posted and no longer changes; draft a new one`);
    if (input.expectVersion !== undefined && input.expectVersion !== last.version)
      throw conflict(`status report ${report} is at version ${last.version}, not ${input.expectVersion}; read it again and redo the edit`);
    if (input.body === last.body) throw conflict(`status report ${report} says that already (version ${last.version})`);
    const v: ReportVersion = { ...last, version: last.version + 1, body: input.body, at: now, by: actorLabel(actor) };
    if (!(await tx.incidents.addReportVersion(v))) throw conflict(`status report ${report} changed while this request ran; retry`);
    await record(
      tx,
      [entry(actor, 'incident.report.edited', `incident:${id}`, { incident: id, report, version: v.version, sha256: sha256Hex(v.body) })],
      now,
    );
    return v;
  });
}

/** Post a draft as it stands (a last version of it, posted); a posted report stays as it was posted. */
export async function postReport(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
  report: number,
  input: { expectVersion?: number } = {},
): Promise<ReportVersion> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    await visibleIncident(tx, id, viewer);
    const last = await latest(tx, id, report);
    if (last.state === 'posted') throw conflict(`status report ${report} was posted already, at ${last.at}`);
    if (input.expectVersion !== undefined && input.expectVersion !== last.version)
      throw conflict(`status report ${report} is at version ${last.version}, not ${input.expectVersion}; read it again before posting`);
    const v: ReportVersion = { ...last, version: last.version + 1, state: 'posted', at: now, by: actorLabel(actor) };
    if (!(await tx.incidents.addReportVersion(v))) throw conflict(`status report ${report} changed while this request ran; retry`);
    await record(
      tx,
      [
        entry(actor, 'incident.report.posted', `incident:${id}`, {
          incident: id,
          report,
          version: v.version,
          sha256: sha256Hex(v.body),
          kind: v.kind,
          nextUpdateAt: v.nextUpdateAt,
        }),
      ],
      now,
    );
    return v;
  });
}

export async function listReports(deps: Pick<AppDeps, 'store'>, viewer: Viewer, id: number): Promise<ReportVersion[]> {
  await visibleIncident(deps.store, id, viewer);
  return deps.store.incidents.reports(id);
}

export async function reportHistory(deps: Pick<AppDeps, 'store'>, viewer: Viewer, id: number, report: number): Promise<ReportVersion[]> {
  await visibleIncident(deps.store, id, viewer);
  await latest(deps.store, id, report);
  return deps.store.incidents.reportVersions(id, report);
}
