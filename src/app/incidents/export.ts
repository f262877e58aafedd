/**
 * An incident as one file, JSON or Markdown: the incident, its command roles, participants and
 * links (with the budget spent and the covering experiments), its whole timeline as the ledger
 * holds it (each entry in stored form with its leaf hash), evidence by digest with its chain of
 * custody (the entries that collected, pinned, read and verified it), tasks, every version of its
 * status reports and of its postmortem. The export is recorded in the ledger. `verifyIncidentExport`
 * checks a file against the ledger: each entry is the one the ledger holds at its position (same
 * leaf hash), and every report, postmortem version and evidence item is the one its entry names.
 */
import { invalid } from '../../core/errors.ts';
import type { Actor } from '../../core/ledger/actor.ts';
import { canonicalJson, entryLeafHash, type StoredEntry } from '../../core/ledger/entry.ts';
import type { IncidentLinks } from '../../core/incidents/links.ts';
import { ROLE_TITLES } from '../../core/incidents/model.ts';
import type { Viewer } from '../../store/incidents/port.ts';
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
    const incident = (await tx.incidents.getIncident(id))!;
    const head = await tx.ledger.head();
    const timeline = (await tx.incidents.timeline(`incident:${id}`, { limit: 10_000_000 })).map(exportEntry);
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
    const out: IncidentExport = {
      format: INCIDENT_EXPORT_FORMAT,
      exportedAt: now,
      ledger: { size: head.size, rootHash: head.root.toString('hex') },
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
      links,
      timeline,
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

export interface ExportVerification {
  ok: boolean;
  incident: number | null;
  entries: number;
  problems: string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** A list of objects from a field of an untrusted file: anything else counts as empty. */
const arr = <T>(v: readonly T[] | undefined): Partial<T>[] =>
  Array.isArray(v) ? (v as unknown[]).filter((x): x is Partial<T> => x !== null && typeof x === 'object' && !Array.isArray(x)) : [];

/**
 * Check an export (parsed JSON) against the ledger: its shape, each entry's leaf hash from its
 * content and against the ledger's entry at that position, and the digests of what the entries
 * name (postmortem versions, report versions, evidence). Problems are listed, never thrown.
 */
export async function verifyIncidentExport(deps: Pick<AppDeps, 'store'>, value: unknown): Promise<ExportVerification> {
  const problems: string[] = [];
  const x = value as Partial<IncidentExport> | null;
  if (x === null || typeof x !== 'object' || x.format !== INCIDENT_EXPORT_FORMAT || !Array.isArray(x.timeline))
    throw invalid(`not an incident export: expected an object with format "${INCIDENT_EXPORT_FORMAT}" and a timeline`);
  const id = typeof x.incident?.id === 'number' ? x.incident.id : null;
  const head = await deps.store.ledger.head();
  const byKind = new Map<string, Record<string, unknown>[]>();
  for (const [k, t] of x.timeline.entries()) {
    const at = `timeline[${k}]`;
    if (t === null || typeof t !== 'object' || typeof t.seq !== 'number' || !Number.isInteger(t.seq) || t.seq < 0) {
      problems.push(`${at} has no seq`);
      continue;
    }
    const stored: StoredEntry = {
      seq: t.seq,
      time: str(t.time) ?? '',
      kind: str(t.kind) ?? '',
      subject: str(t.subject) ?? '',
      actor: str(t.actor) ?? '',
      dataJson: '',
    };
    let own: string;
    try {
      stored.dataJson = canonicalJson(t.data);
      own = entryLeafHash(stored).toString('hex');
    } catch (e) {
      problems.push(`entry ${t.seq}: ${(e as Error).message}`);
      continue;
    }
    if (own !== t.leafHash) problems.push(`entry ${t.seq}: its content does not hash to the leaf hash given (altered in the file)`);
    if (t.seq >= head.size) {
      problems.push(`entry ${t.seq}: the ledger has only ${head.size} entries`);
      continue;
    }
    const [inLedger] = await deps.store.ledger.page({ from: t.seq, limit: 1, order: 'asc' });
    if (!inLedger || inLedger.seq !== t.seq) problems.push(`entry ${t.seq}: not in the ledger`);
    else if (entryLeafHash(inLedger).toString('hex') !== own)
      problems.push(`entry ${t.seq}: differs from the ledger's entry at that position`);
    const d = (t.data ?? {}) as Record<string, unknown>;
    byKind.set(stored.kind, [...(byKind.get(stored.kind) ?? []), d]);
  }
  const named = (kinds: string[], pred: (d: Record<string, unknown>) => boolean) => kinds.some((k) => (byKind.get(k) ?? []).some(pred));
  for (const p of arr(x.postmortem)) {
    if (typeof p?.body !== 'string') continue;
    const sha = sha256Hex(p.body);
    if (!named(['incident.postmortem.saved'], (d) => d.version === p.version && d.sha256 === sha))
      problems.push(`postmortem version ${p.version}: its text is not the one the ledger recorded`);
  }
  for (const r of arr(x.reports)) {
    if (typeof r?.body !== 'string') continue;
    const sha = sha256Hex(r.body);
    if (
      !named(
        ['incident.report.drafted', 'incident.report.edited', 'incident.report.posted'],
        (d) => d.report === r.report && d.version === r.version && d.sha256 === sha,
      )
    )
      problems.push(`status report ${r.report} version ${r.version}: its text is not the one the ledger recorded`);
  }
  for (const e of arr(x.evidence))
    if (!named(['incident.evidence.added', 'incident.signal.pinned'], (d) => d.sha256 === e?.sha256 || d.evidence === e?.sha256))
      problems.push(`evidence ${String(e?.sha256).slice(0, 16)}…: no ledger entry collected it`);
  return { ok: problems.length === 0, incident: id, entries: x.timeline.length, problems: problems.slice(0, 100) };
}
