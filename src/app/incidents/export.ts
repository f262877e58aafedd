/**
 * An incident as one file, JSON or Markdown: the incident, its command roles, participants and
 * links (with the budget spent and the covering experiments), its whole timeline as the ledger
 * holds it (each entry in stored form with its leaf hash), evidence by digest with its chain of
 * custody (the entries that collected, pinned, read and verified it), tasks, every version of its
 * status reports and of its postmortem. The export is recorded in the ledger. `verifyIncidentExport`
 * checks a file against the ledger and the record: each entry is the one the ledger holds at its
 * position (same leaf hash) and about the incident, none is missing below the ledger size the file
 * names, every report, postmortem version and evidence item is the one its entry names, and the
 * other sections are rebuilt from the record and compared (or listed as not checked).
 */
import { z } from 'zod';
import type { Actor } from '../../core/ledger/actor.ts';
import { canonicalJson, entryLeafHash, type StoredEntry } from '../../core/ledger/entry.ts';
import type { IncidentLinks } from '../../core/incidents/links.ts';
import { ROLE_TITLES } from '../../core/incidents/model.ts';
import type { Viewer } from '../../store/incidents/port.ts';
import type { Repos } from '../../store/store.ts';
import { parseInput } from '../../core/validate.ts';
import { iso, type AppDeps } from '../deps.ts';
import { linksOf } from './links.ts';
import { entry, record, sha256Hex, visibleIncident } from './record.ts';

export const INCIDENT_EXPORT_FORMAT = 'bulwark-incident-export/1';

export interface ExportEntry {
  seq: number;
  time: string;
  kind: string;
  subject: string;
  /** The actor as stored (canonical JSON of a structured actor, or a plain string). */
  actor: string;
  data: unknown;
  /** SHA-256 leaf hash of the entry (RFC 6962), hex. */
  leafHash: string;
}

export interface IncidentExport {
  format: typeof INCIDENT_EXPORT_FORMAT;
  exportedAt: string;
  /** The ledger's size and root when it was read: every entry below is before it. */
  ledger: { size: number; rootHash: string };
  incident: Record<string, unknown> & { id: number };
  case: Record<string, unknown> | null;
  roles: { role: string; title: string; holder: string; from: string; to: string | null }[];
  participants: string[];
  links: IncidentLinks;
  timeline: ExportEntry[];
  evidence: {
    sha256: string;
    name: string;
    mediaType: string;
    size: number;
    origin: string;
    collectedBy: string;
    collectedAt: string;
    /** The ledger entries of its custody: collected or pinned, read, verified. */
    custody: { seq: number; time: string; kind: string; actor: string }[];
  }[];
  tasks: Record<string, unknown>[];
  reports: {
    report: number;
    version: number;
    kind: string;
    state: string;
    at: string;
    by: string;
    nextUpdateAt: string | null;
    body: string;
  }[];
  postmortem: { version: number; source: string; at: string; by: string; sha256: string; body: string }[];
}

const CUSTODY = new Set(['incident.evidence.added', 'incident.signal.pinned', 'incident.evidence.accessed', 'incident.evidence.verified']);

function exportEntry(e: StoredEntry): ExportEntry {
  return {
    seq: e.seq,
    time: e.time,
    kind: e.kind,
    subject: e.subject,
    actor: e.actor,
    data: JSON.parse(e.dataJson) as unknown,
    leafHash: entryLeafHash(e).toString('hex'),
  };
}

const custodyOf = (sha: string, d: Record<string, unknown>, kind: string): boolean =>
  d.sha256 === sha ||
  (kind === 'incident.signal.pinned' && d.evidence === sha) ||
  (kind === 'incident.evidence.verified' && Array.isArray(d.mismatches)) ||
  false;

type Sections = Pick<IncidentExport, 'incident' | 'case' | 'roles' | 'participants' | 'evidence' | 'tasks' | 'reports' | 'postmortem'>;

/** The sections read from the record (the export's, and what its check compares with). */
async function sections(tx: Repos, id: number, timeline: readonly ExportEntry[]): Promise<Sections> {
  const incident = (await tx.incidents.getIncident(id))!;
  const c = incident.caseId !== null ? await tx.incidents.getCase(incident.caseId) : undefined;
  const evidence = (await tx.incidents.evidence(id)).map((e) => ({
    sha256: e.sha256,
    name: e.name,
    mediaType: e.mediaType,
    size: e.size,
    origin: e.origin,
    collectedBy: e.collectedBy,
    collectedAt: e.collectedAt,
    custody: timeline
      .filter((t) => CUSTODY.has(t.kind) && custodyOf(e.sha256, t.data as Record<string, unknown>, t.kind))
      .map((t) => ({ seq: t.seq, time: t.time, kind: t.kind, actor: t.actor })),
  }));
  const reports = [];
  for (const r of await tx.incidents.reports(id)) for (const v of await tx.incidents.reportVersions(id, r.report)) reports.push(v);
  reports.sort((a, b) => a.report - b.report || a.version - b.version);
  return {
    incident: { ...incident },
    case: c ? { ...c, items: await tx.incidents.caseLinks(c.id) } : null,
    roles: (await tx.incidents.roles(id)).map((r) => ({
      role: r.role,
      title: ROLE_TITLES[r.role],
      holder: r.holder,
      from: r.from,
      to: r.to,
    })),
    participants: await tx.incidents.participants(id),
    evidence,
    tasks: (await tx.incidents.tasks(id)).map((t) => ({ ...t })),
    reports: reports.map((v) => ({
      report: v.report,
      version: v.version,
      kind: v.kind,
      state: v.state,
      at: v.at,
      by: v.by,
      nextUpdateAt: v.nextUpdateAt,
      body: v.body,
    })),
    postmortem: (await tx.incidents.postmortemVersions(id)).map((v) => ({
      version: v.version,
      source: v.source,
      at: v.at,
      by: v.by,
      sha256: v.sha256,
      body: v.body,
    })),
  };
}

/** Read the incident as one document and record the export (one transaction after the reads). */
export async function exportIncident(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
  format: 'json' | 'markdown',
): Promise<IncidentExport> {
  const i = await visibleIncident(deps.store, id, viewer);
  const links = await linksOf(deps, i);
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const head = await tx.ledger.head();
    const timeline = (await tx.incidents.timeline(`incident:${id}`, { limit: 10_000_000 })).map(exportEntry);
    const out: IncidentExport = {
      format: INCIDENT_EXPORT_FORMAT,
      exportedAt: now,
      ledger: { size: head.size, rootHash: head.root.toString('hex') },
      ...(await sections(tx, id, timeline)),
      links,
      timeline,
    };
    await record(tx, [entry(actor, 'incident.exported', `incident:${id}`, { incident: id, format, ledgerSize: head.size })], now);
    return out;
  });
}

const md = (s: unknown) => String(s).replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** The export as Markdown: the same content, for people (the JSON is what verifies). */
export function exportMarkdown(x: IncidentExport): string {
  const i = x.incident;
  const out: string[] = [];
  out.push(`# Incident export: INC-${i.id} ${md(i.title)}`, '');
  out.push(
    `Exported ${x.exportedAt} from a ledger of ${x.ledger.size} entries (root \`${x.ledger.rootHash}\`). Each timeline entry's leaf hash is given; \`bulwark incidents export ${i.id} --format json\` and \`bulwark incidents verify-export FILE\` check them against the ledger.`,
    '',
  );
  out.push('## Incident', '');
  for (const k of [
    'severity',
    'priority',
    'status',
    'restricted',
    'impactStartedAt',
    'declaredAt',
    'declaredBy',
    'mitigatedAt',
    'resolvedAt',
    'closedAt',
    'caseId',
  ])
    out.push(`- ${k}: ${i[k] === null || i[k] === undefined ? '—' : md(i[k])}`);
  out.push('', '## Command roles', '');
  if (x.roles.length === 0) out.push('None assigned.');
  for (const r of x.roles) out.push(`- ${r.title}: ${md(r.holder)}, ${r.from} – ${r.to ?? 'still held'}`);
  out.push('', `Participants: ${x.participants.map(md).join(', ') || 'none'}.`, '');
  out.push('## Links', '');
  if (x.links.slos.length === 0) out.push('No SLO linked.');
  for (const s of x.links.slos)
    out.push(
      s.state === 'evaluated'
        ? `- SLO \`${s.slo}\`: ${(s.consumed! * 100).toFixed(2)}% of its budget spent ${s.from} – ${s.to} (${s.bad} bad of ${s.events} events)`
        : `- SLO \`${s.slo}\`: not computed (${md(s.note)})`,
    );
  out.push(`- Techniques: ${x.links.techniques.join(', ') || 'none'}`);
  for (const e of x.links.experiments)
    out.push(
      `- Experiment \`${e.experiment}\` (${e.techniques.join(', ')}): last run before the impact ${e.lastBefore ? `${e.lastBefore.outcome} at ${e.lastBefore.endedAt}` : 'none'}; latest ${e.latest ? `${e.latest.outcome} at ${e.latest.endedAt}` : 'none'}; predicted: ${e.predicted === null ? 'no run before' : e.predicted ? 'yes' : 'no'}`,
    );
  out.push('', '## Timeline', '', '| Seq | Time | Kind | Data | Leaf hash |', '| --- | --- | --- | --- | --- |');
  for (const t of x.timeline)
    out.push(`| ${t.seq} | ${t.time} | ${t.kind} | ${md(clip(JSON.stringify(t.data), 300))} | \`${t.leafHash.slice(0, 16)}…\` |`);
  out.push('', '## Evidence and custody', '');
  if (x.evidence.length === 0) out.push('No evidence.');
  for (const e of x.evidence) {
    out.push(
      `- \`${md(e.name)}\` (${e.mediaType}, ${e.size} bytes) SHA-256 \`${e.sha256}\`, from ${md(e.origin)}, collected by ${md(e.collectedBy)} at ${e.collectedAt}`,
    );
    for (const c of e.custody) out.push(`  - entry ${c.seq} ${c.time} ${c.kind}`);
  }
  out.push('', '## Tasks', '');
  if (x.tasks.length === 0) out.push('No tasks.');
  for (const t of x.tasks)
    out.push(
      `- [${t.status === 'done' ? 'x' : ' '}] ${md(t.title)} (task ${String(t.id)}, ${String(t.status)}${t.owner ? `, owner ${md(t.owner)}` : ''})`,
    );
  out.push('', '## Status reports', '');
  if (x.reports.length === 0) out.push('No status reports.');
  for (const r of x.reports)
    out.push(`### Report ${r.report}, version ${r.version} (${r.kind}, ${r.state}, ${r.at})`, '', r.body.trim(), '');
  out.push('', '## Postmortem', '');
  const pm = x.postmortem.at(-1);
  if (!pm) out.push('No postmortem saved.');
  else {
    out.push(
      `Version ${pm.version} of ${x.postmortem.length} (${pm.source}, ${pm.at}, SHA-256 \`${pm.sha256}\`).`,
      '',
      '~~~~markdown',
      pm.body.trim(),
      '~~~~',
    );
  }
  out.push('');
  return out.join('\n');
}

/** The most entries, and items of each list, an export file may hold to be checked. */
export const MAX_EXPORT_ENTRIES = 100_000;
export const MAX_EXPORT_ITEMS = 10_000;

const text = z.string().max(1_000_000);
const obj = z.record(z.string(), z.unknown());
/** An export file as the check reads it: every field it compares, each list bounded. */
export const ExportFileSchema = z.object({
  format: z.literal(INCIDENT_EXPORT_FORMAT),
  exportedAt: z.string().max(64),
  ledger: z.object({ size: z.number().int().min(0), rootHash: z.string().max(128) }),
  incident: z.looseObject({ id: z.number().int().min(1) }),
  case: obj.nullable(),
  roles: z.array(obj).max(MAX_EXPORT_ITEMS),
  participants: z.array(z.string().max(1000)).max(MAX_EXPORT_ITEMS),
  links: z.looseObject({
    slos: z.array(z.looseObject({ slo: z.string().max(200) })).max(MAX_EXPORT_ITEMS),
    techniques: z.array(z.string().max(64)).max(MAX_EXPORT_ITEMS),
  }),
  timeline: z
    .array(
      z.object({
        seq: z.number().int().min(0),
        time: z.string().max(64),
        kind: z.string().max(200),
        subject: z.string().max(200),
        actor: z.string().max(10_000),
        data: z.unknown(),
        leafHash: z.string().max(128),
      }),
    )
    .max(MAX_EXPORT_ENTRIES),
  evidence: z.array(z.looseObject({ sha256: z.string().max(128) })).max(MAX_EXPORT_ITEMS),
  tasks: z.array(obj).max(MAX_EXPORT_ITEMS),
  reports: z.array(z.looseObject({ report: z.number().int(), version: z.number().int(), body: text })).max(MAX_EXPORT_ITEMS),
  postmortem: z.array(z.looseObject({ version: z.number().int(), body: text })).max(MAX_EXPORT_ITEMS),
});
export type ExportFile = z.output<typeof ExportFileSchema>;

export interface ExportVerification {
  ok: boolean;
  incident: number | null;
  entries: number;
  problems: string[];
  /** What the check compared with the ledger and the record. */
  checked: string[];
  /** What the file holds that the check does not vouch for, and why. */
  notChecked: string[];
}

/** Equal as JSON (keys in any order); a value that is not JSON is not equal. */
const same = (a: unknown, b: unknown): boolean => {
  try {
    return (
      canonicalJson(JSON.parse(JSON.stringify(a ?? null)) as unknown) === canonicalJson(JSON.parse(JSON.stringify(b ?? null)) as unknown)
    );
  } catch {
    return false;
  }
};

/** Sections rebuilt from the record, compared with the file's when nothing happened to the incident since the cut. */
const SECTIONS = ['incident', 'case', 'roles', 'participants', 'evidence', 'tasks', 'reports', 'postmortem'] as const;

/**
 * Check an export against the ledger and the record. The file is parsed first (a 400 naming the
 * field). Then, with one read of the incident's timeline: each entry hashes to its leaf hash and is
 * the ledger's entry at its position; each is about the incident (its subject is the incident or
 * the case it came from, and it is on the incident's timeline); none is missing (every entry on
 * the timeline below the ledger size the file names is in it); the postmortem, report and evidence
 * digests are the ones their entries recorded. The other sections (incident, case, roles,
 * participants, evidence metadata and custody, tasks, reports, postmortem, linked SLOs and
 * techniques) are rebuilt from the record and compared when no entry about the incident (other
 * than exports) was written after the cut; otherwise they are listed as not checked. The budget
 * figures and experiments in `links` are computed at export time and never vouched for.
 * Problems are listed, never thrown; a hidden or unknown incident is 404.
 */
export async function verifyIncidentExport(deps: Pick<AppDeps, 'store'>, viewer: Viewer, value: unknown): Promise<ExportVerification> {
  const x = parseInput(ExportFileSchema, value, 'incident export');
  const id = x.incident.id;
  const incident = await visibleIncident(deps.store, id, viewer);
  const problems: string[] = [];
  const checked: string[] = [];
  const notChecked: string[] = [
    'links: the budget figures and the experiments (computed when exported, from data that changes)',
    'exportedAt, ledger.rootHash',
  ];
  const head = await deps.store.ledger.head();
  const cut = x.ledger.size;
  if (cut > head.size) problems.push(`ledger.size ${cut}: the ledger has only ${head.size} entries`);
  // One read: the incident's timeline as the ledger holds it.
  const all = await deps.store.incidents.timeline(`incident:${id}`, { limit: MAX_EXPORT_ENTRIES * 2 });
  const stored = new Map(all.filter((e) => e.seq < cut).map((e) => [e.seq, e]));
  const subjects = new Set([`incident:${id}`, ...(incident.caseId !== null ? [`case:${incident.caseId}`] : [])]);
  const byKind = new Map<string, Record<string, unknown>[]>();
  const seen = new Set<number>();
  for (const t of x.timeline) {
    if (seen.has(t.seq)) {
      problems.push(`entry ${t.seq}: given twice`);
      continue;
    }
    seen.add(t.seq);
    const own: StoredEntry = { seq: t.seq, time: t.time, kind: t.kind, subject: t.subject, actor: t.actor, dataJson: '' };
    let leaf: string;
    try {
      own.dataJson = canonicalJson(t.data);
      leaf = entryLeafHash(own).toString('hex');
    } catch (e) {
      problems.push(`entry ${t.seq}: ${(e as Error).message}`);
      continue;
    }
    if (leaf !== t.leafHash) problems.push(`entry ${t.seq}: its content does not hash to the leaf hash given (altered in the file)`);
    if (!subjects.has(t.subject)) problems.push(`entry ${t.seq}: its subject ${t.subject.slice(0, 80)} is not incident ${id} or its case`);
    const inLedger = stored.get(t.seq);
    if (t.seq >= cut) problems.push(`entry ${t.seq}: at or after the ledger size the file names (${cut})`);
    else if (!inLedger) problems.push(`entry ${t.seq}: not an entry of incident ${id}'s timeline in the ledger`);
    else if (entryLeafHash(inLedger).toString('hex') !== leaf)
      problems.push(`entry ${t.seq}: differs from the ledger's entry at that position`);
    const d = (t.data !== null && typeof t.data === 'object' ? t.data : {}) as Record<string, unknown>;
    byKind.set(t.kind, [...(byKind.get(t.kind) ?? []), d]);
  }
  const missing = [...stored.keys()].filter((s) => !seen.has(s));
  if (missing.length > 0)
    problems.push(
      `${missing.length} entr${missing.length === 1 ? 'y' : 'ies'} of incident ${id} before ledger size ${cut} missing from the file: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}`,
    );
  checked.push(
    `timeline: every entry hashes to its leaf hash, is the ledger's entry at its position, is about incident ${id}, and none of the ${stored.size} entries before ledger size ${cut} is missing`,
  );

  const named = (kinds: string[], pred: (d: Record<string, unknown>) => boolean) => kinds.some((k) => (byKind.get(k) ?? []).some(pred));
  for (const p of x.postmortem)
    if (!named(['incident.postmortem.saved'], (d) => d.version === p.version && d.sha256 === sha256Hex(p.body)))
      problems.push(`postmortem version ${p.version}: its text is not the one the ledger recorded`);
  for (const r of x.reports)
    if (
      !named(
        ['incident.report.drafted', 'incident.report.edited', 'incident.report.posted'],
        (d) => d.report === r.report && d.version === r.version && d.sha256 === sha256Hex(r.body),
      )
    )
      problems.push(`status report ${r.report} version ${r.version}: its text is not the one the ledger recorded`);
  for (const e of x.evidence)
    if (!named(['incident.evidence.added', 'incident.signal.pinned'], (d) => d.sha256 === e.sha256 || d.evidence === e.sha256))
      problems.push(`evidence ${e.sha256.slice(0, 16)}…: no ledger entry collected it`);
  checked.push(
    'postmortem and status report texts: each hashes to the digest its entry recorded; evidence: each digest was collected by an entry',
  );

  // The record as it stands is the record at the cut when nothing about the incident happened since.
  const after = all.filter((e) => e.seq >= cut && e.kind !== 'incident.exported');
  if (after.length > 0) {
    notChecked.push(
      `${SECTIONS.join(', ')}, links' SLOs and techniques: incident ${id} has ${after.length} entr${after.length === 1 ? 'y' : 'ies'} after ledger size ${cut}, so the record has moved on; export it again to check them`,
    );
  } else {
    const now = await deps.store.transaction(async (tx) => sections(tx, id, all.filter((e) => e.seq < cut).map(exportEntry)));
    for (const k of SECTIONS) if (same(now[k], x[k]) === false) problems.push(`${k}: not what the record holds for incident ${id}`);
    const links = await deps.store.incidents.links(id);
    const want = (kind: string) =>
      links
        .filter((l) => l.kind === kind)
        .map((l) => l.ref)
        .sort();
    if (!same(x.links.slos.map((s) => s.slo).sort(), want('slo')) || !same([...x.links.techniques].sort(), want('technique')))
      problems.push(`links: the SLOs or techniques are not the ones linked to incident ${id}`);
    checked.push(`${SECTIONS.join(', ')}, links' SLOs and techniques: rebuilt from the record and equal to the file's`);
  }
  return { ok: problems.length === 0, incident: id, entries: x.timeline.length, problems: problems.slice(0, 100), checked, notChecked };
}
