/**
 * The incident KPIs, from the records of cases and incidents (the KPI report of the SLO
 * capability reads them through this provider; core/slos/kpis.ts names each pair exactly):
 *
 * - time to acknowledge: a case opened → acknowledged;
 * - time to triage: a case opened → assigned an owner (its severity is set when it opens);
 * - time to mitigate: an incident declared → mitigated;
 * - time to resolve: an incident declared → resolved;
 * - time to detect: an incident's impact start → its detection (the case it came from opened,
 *   or it was declared);
 * - time to repair: an incident's detection (the case it came from opened, or it was declared) →
 *   repaired, the last task of its recovery checklists done with none left open
 *   (core/incidents/repair.ts); an incident without a recovery checklist records no repair and
 *   gives no pair, one with recovery tasks open is incomplete.
 *
 * A pair with its end still unknown counts as incomplete, never as zero. Restricted incidents
 * count in the figures (which name no incident) and by severity, as any other. Tabletop
 * exercises do not count at all.
 */
import { repairOf, type RecoveryTaskState } from '../../core/incidents/repair.ts';
import type { KpiInput } from '../../core/slos/kpis.ts';
import type { KpiProvider } from '../slos/kpis.ts';

/** The most recent cases and incidents read per report; older ones are outside any window used. */
const LIMIT = 5000;

const ms = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));

export const incidentsKpiProvider: KpiProvider = {
  name: 'cases and incidents',
  kpis: ['time-to-acknowledge', 'time-to-triage', 'time-to-mitigate', 'time-to-resolve', 'time-to-detect', 'time-to-repair'],
  async inputs(deps) {
    const out: KpiInput[] = [];
    const cases = await deps.store.incidents.listCases({ limit: LIMIT });
    const opened = new Map<number, number>();
    for (const c of cases) {
      const start = Date.parse(c.openedAt);
      opened.set(c.id, start);
      const dims = { severity: [c.severity] };
      out.push({ kpi: 'time-to-acknowledge', start, end: ms(c.acknowledgedAt), dims });
      out.push({ kpi: 'time-to-triage', start, end: ms(c.assignedAt), dims });
    }
    const { incidents } = await deps.store.incidents.listIncidents({ viewer: { id: 'system:kpis', seesRestricted: true }, limit: LIMIT });
    const exercises = new Set(await deps.store.incidents.exerciseIds());
    const recovery = new Map<number, RecoveryTaskState[]>();
    for (const t of await deps.store.incidents.recoveryTasks()) recovery.set(t.incidentId, [...(recovery.get(t.incidentId) ?? []), t]);
    for (const i of incidents) {
      if (exercises.has(i.id)) continue; // a tabletop exercise's times are practice, not production
      const declared = Date.parse(i.declaredAt);
      const dims = { severity: [i.severity] };
      out.push({ kpi: 'time-to-mitigate', start: declared, end: ms(i.mitigatedAt), dims });
      out.push({ kpi: 'time-to-resolve', start: declared, end: ms(i.resolvedAt), dims });
      const detected = (i.caseId !== null ? opened.get(i.caseId) : undefined) ?? declared;
      if (i.impactStartedAt !== null) out.push({ kpi: 'time-to-detect', start: Date.parse(i.impactStartedAt), end: detected, dims });
      const repair = repairOf(recovery.get(i.id) ?? []);
      if (repair.state !== 'none')
        out.push({ kpi: 'time-to-repair', start: detected, end: repair.state === 'repaired' ? Date.parse(repair.at) : null, dims });
    }
    return out;
  },
};
