/**
 * An incident's links: the SLOs it affected and the ATT&CK techniques seen in it (each link a
 * ledger entry on its timeline), and what they say: the error budget each SLO spent over the
 * incident's impact window (the SLO capability's budgetConsumed), and the experiments that
 * exercise its techniques with what their runs said (core/incidents/links.ts).
 */
import { conflict, invalid } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import type { NewEntry } from '../../core/ledger/entry.ts';
import { evidenceOf } from '../../core/coverage/map.ts';
import {
  checkLinks,
  covers,
  impactWindow,
  MAX_EVALUATED_SLOS,
  MAX_LINKS,
  runVerdict,
  type ExperimentLinkView,
  type IncidentLinks,
  type RunSummary,
  type SloLinkView,
} from '../../core/incidents/links.ts';
import type { IncidentRecord, Viewer } from '../../store/incidents/port.ts';
import type { Repos } from '../../store/store.ts';
import { budgetConsumed } from '../slos/budget-consumed.ts';
import { iso, type AppDeps } from '../deps.ts';
import { entry, record, visibleIncident } from './record.ts';

export interface LinkInput {
  slos?: readonly string[];
  techniques?: readonly string[];
}

/**
 * Add links in the caller's transaction: each SLO must exist; links the incident has already are
 * left out. The entry (none when nothing is new) names only the new ones.
 */
export async function linkIn(tx: Repos, actor: Actor, incidentId: number, input: LinkInput, now: string): Promise<NewEntry[]> {
  const { slos, techniques } = checkLinks(input);
  for (const s of slos)
    if (!(await tx.slos.get(s))) throw invalid(`there is no SLO named '${s}'; GET /v1/slos lists them (apply it first, or leave it out)`);
  const have = await tx.incidents.links(incidentId);
  const count = (kind: string) => have.filter((l) => l.kind === kind).length;
  const by = actorLabel(actor);
  const added = { slos: [] as string[], techniques: [] as string[] };
  for (const s of slos) if (await tx.incidents.addLink(incidentId, { kind: 'slo', ref: s, addedAt: now, addedBy: by })) added.slos.push(s);
  for (const t of techniques)
    if (await tx.incidents.addLink(incidentId, { kind: 'technique', ref: t, addedAt: now, addedBy: by })) added.techniques.push(t);
  if (count('slo') + added.slos.length > MAX_LINKS || count('technique') + added.techniques.length > MAX_LINKS)
    throw invalid(`an incident links at most ${MAX_LINKS} SLOs and ${MAX_LINKS} techniques`);
  if (added.slos.length === 0 && added.techniques.length === 0) return [];
  return [entry(actor, 'incident.linked', `incident:${incidentId}`, { incident: incidentId, ...added })];
}

/** Link SLOs and techniques to an incident; 409 when every one of them is linked already. */
export async function linkIncident(deps: AppDeps, actor: Actor, viewer: Viewer, id: number, input: LinkInput): Promise<IncidentLinks> {
  const now = iso(deps.clock);
  await deps.store.transaction(async (tx) => {
    const i = await visibleIncident(tx, id, viewer);
    if ((input.slos ?? []).length + (input.techniques ?? []).length === 0)
      throw invalid('name at least one SLO (slos) or technique (techniques) to link');
    if (i.status === 'closed') throw conflict(`incident ${id} is closed; its links stay as they were`);
    const entries = await linkIn(tx, actor, id, input, now);
    if (entries.length === 0) throw conflict(`incident ${id} has every one of these links already`);
    await record(tx, entries, now);
  });
  return incidentLinks(deps, viewer, id);
}

/** How many of an experiment's newest finished runs are read to find the last before the impact. */
const RUNS_READ = 500;

async function experimentLinks(deps: Pick<AppDeps, 'store'>, techniques: readonly string[], from: string): Promise<ExperimentLinkView[]> {
  if (techniques.length === 0) return [];
  const out: ExperimentLinkView[] = [];
  for (const e of await deps.store.experiments.list()) {
    const matched = techniques.filter((t) => e.techniques.some((x) => covers(x, t)));
    if (matched.length === 0) continue;
    const runs: RunSummary[] = [];
    let cursor: { startedAt: string; id: string } | undefined;
    let read = 0;
    for (;;) {
      const page = await deps.store.runs.list({ experiment: e.title, state: 'done', limit: 100, ...(cursor ? { cursor } : {}) });
      for (const r of page.runs)
        if (!r.dryRun && r.endedAt !== null && evidenceOf(r.outcome) !== null)
          runs.push({ id: r.id, outcome: r.outcome!, endedAt: r.endedAt });
      read += page.runs.length;
      // Runs come newest first: once one ended before the impact, older ones say nothing more.
      if (!page.next || read >= RUNS_READ || runs.some((r) => Date.parse(r.endedAt) <= Date.parse(from))) break;
      cursor = page.next;
    }
    out.push({ experiment: e.name, title: e.title, techniques: matched, ...runVerdict(runs, from) });
  }
  return out.sort((a, b) => a.experiment.localeCompare(b.experiment));
}

async function sloLink(deps: Pick<AppDeps, 'store'>, slo: string, from: string, to: string): Promise<SloLinkView> {
  const none = { slo, from, to, consumed: null, bad: null, events: null, period: null };
  let r;
  try {
    r = await budgetConsumed(deps, slo, from, to);
  } catch (e) {
    return { ...none, state: 'unknown', note: `its SLO could not be evaluated: ${(e as Error).message.slice(0, 300)}` };
  }
  if (!r) return { ...none, state: 'missing', note: 'this SLO has been deleted since it was linked' };
  if (r.state !== 'evaluated') return { ...none, state: r.state, note: r.note };
  return { slo, from, to, state: 'evaluated', consumed: r.consumed, bad: r.bad, events: r.events, period: r.period, note: null };
}

/** What the incident's links say now (or at its end: the window closes when it is mitigated). */
export async function linksOf(deps: Pick<AppDeps, 'store' | 'clock'>, i: IncidentRecord): Promise<IncidentLinks> {
  const window = impactWindow(i, iso(deps.clock));
  const links = await deps.store.incidents.links(i.id);
  const slos = links.filter((l) => l.kind === 'slo').map((l) => l.ref);
  const techniques = links.filter((l) => l.kind === 'technique').map((l) => l.ref);
  return {
    window,
    slos: await Promise.all(
      slos.map((s, k) =>
        k < MAX_EVALUATED_SLOS
          ? sloLink(deps, s, window.from, window.to)
          : Promise.resolve<SloLinkView>({
              slo: s,
              from: window.from,
              to: window.to,
              state: 'not-read',
              consumed: null,
              bad: null,
              events: null,
              period: null,
              note: `not evaluated: at most ${MAX_EVALUATED_SLOS} linked SLOs are evaluated per read; see this SLO's own budget (GET /v1/slos/${s})`,
            }),
      ),
    ),
    techniques,
    experiments: await experimentLinks(deps, techniques, window.from),
  };
}

export async function incidentLinks(deps: Pick<AppDeps, 'store' | 'clock'>, viewer: Viewer, id: number): Promise<IncidentLinks> {
  return linksOf(deps, await visibleIncident(deps.store, id, viewer));
}
