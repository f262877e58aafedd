/**
 * The incidents the budget policy's postmortem clause looks at, read from the incidents
 * capability's store (its port, read only) and the ledger: each incident with when it counts (its
 * impact start, or its declaration) and whether a postmortem was generated for it
 * (`incident.postmortem.generated`, docs/incidents.md). Restricted incidents are left out unless
 * the caller may see restricted incidents (`incidents:restricted`; then the clause counts them
 * without naming them): the status, its counts and the KRI built from it (and the signal announcing
 * its colour) say nothing of them otherwise. Nothing of the incidents capability's use cases is
 * imported: the SLOs read its records as the KPI report does.
 *
 * With an SLO's name (its policy has postmortemAbove), each incident that names the SLO among
 * those it affected (its links) also gets the share of the SLO's budget it spent over its impact
 * window (budget-consumed.ts), as the incident's own page shows it.
 */
import { impactWindow } from '../../core/incidents/links.ts';
import type { IncidentFacts } from '../../core/slos/policy.ts';
import type { AppDeps } from '../deps.ts';
import { budgetConsumed } from './budget-consumed.ts';

/** The most recent incidents read; older ones are outside any budget period that matters. */
const LIMIT = 5000;
const PAGE = 1000;
const VIEWER = { id: 'system:slo-policy', seesRestricted: true };

/**
 * Every incident at or after `since` (ms) with whether it has a postmortem, restricted ones only
 * when `seesRestricted`; or why they could not be read.
 */
export async function incidentFacts(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  since: number,
  seesRestricted = false,
  slo?: string,
): Promise<IncidentFacts[] | { unreadable: string }> {
  try {
    const { incidents } = await deps.store.incidents.listIncidents({ viewer: VIEWER, limit: LIMIT });
    const now = deps.clock.now().toISOString();
    const recent: (Omit<IncidentFacts, 'postmortem'> & { record: (typeof incidents)[number] })[] = incidents
      .map((i) => ({ id: i.id, at: i.impactStartedAt ?? i.declaredAt, restricted: i.restricted, record: i }))
      .filter((i) => Date.parse(i.at) >= since && (seesRestricted || !i.restricted));
    if (slo !== undefined) {
      for (const i of recent) {
        const links = await deps.store.incidents.links(i.id);
        if (!links.some((l) => l.kind === 'slo' && l.ref === slo)) continue;
        const w = impactWindow(i.record, now);
        const r = await budgetConsumed(deps, slo, w.from, w.to).catch(() => undefined);
        i.spent = r?.state === 'evaluated' ? r.consumed : null;
      }
    }
    if (recent.length === 0) return [];
    const withPostmortem = new Set<number>();
    let from: number | undefined;
    for (;;) {
      const page = await deps.store.ledger.page({
        kind: 'incident.postmortem.generated',
        order: 'desc',
        limit: PAGE,
        ...(from !== undefined ? { from } : {}),
      });
      for (const e of page) {
        const id = (JSON.parse(e.dataJson) as { incident?: unknown }).incident;
        if (typeof id === 'number') withPostmortem.add(id);
      }
      if (page.length < PAGE) break;
      from = page.at(-1)!.seq - 1;
    }
    return recent.map(({ record: _record, ...i }) => ({ ...i, postmortem: withPostmortem.has(i.id) }));
  } catch (e) {
    return { unreadable: (e as Error).message };
  }
}
