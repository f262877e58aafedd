/** Incidents' store part: settings, cases, incidents, command roles, participants, timeline, evidence, tasks, status reports, links and postmortem versions. */
import type { StorePart } from '../store-part.ts';
import { KyselyIncidents } from './kysely-incidents.ts';
import { incidentCases } from './migrations/0013-incident-cases.ts';
import { incidents } from './migrations/0014-incidents.ts';
import { incidentTasksReports } from './migrations/0024-incident-tasks-reports.ts';
import { incidentExercises } from './migrations/0025-incident-exercises.ts';
import { incidentOutbox } from './migrations/0029-incident-outbox.ts';
import { incidentLinksPostmortems } from './migrations/0033-incident-links-postmortems.ts';
import type {} from './port.ts';
import type {} from './tables.ts';

export const incidentsStore: StorePart = {
  tables: [
    { name: 'incident_settings', backup: true },
    { name: 'incident_counters', backup: true },
    { name: 'incident_cases', backup: true },
    { name: 'incident_case_links', backup: true },
    { name: 'incidents', backup: true },
    { name: 'incident_roles', backup: true },
    { name: 'incident_participants', backup: true },
    { name: 'incident_timeline', backup: true },
    { name: 'incident_evidence_blobs', backup: true },
    { name: 'incident_evidence', backup: true },
    { name: 'incident_tasks', backup: true },
    { name: 'incident_status_reports', backup: true },
    { name: 'incident_outbox', backup: true },
    { name: 'incident_exercises', backup: true },
    { name: 'incident_links', backup: true },
    { name: 'incident_postmortems', backup: true },
  ],
  migrations: {
    '0013_incident_cases': incidentCases,
    '0014_incidents': incidents,
    '0024_incident_tasks_reports': incidentTasksReports,
    '0025_incident_exercises': incidentExercises,
    '0029_incident_outbox': incidentOutbox,
    '0033_incident_links_postmortems': incidentLinksPostmortems,
  },
  repos: (ctx) => ({ incidents: new KyselyIncidents(ctx.db) }),
  contract: async () => {
    const { incidentRepoContract } = await import('./incidents.contract.ts');
    return (current) => incidentRepoContract(current);
  },
};
