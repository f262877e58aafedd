/** Incidents: triage of signals and runs into cases, incidents with command roles, a timeline in the ledger, evidence, postmortems. */
import { incidentEvents } from '../core/incidents/events.ts';
import { INCIDENT_PERMISSIONS, SEE_RESTRICTED } from '../core/incidents/permissions.ts';
import { incidentsStore } from '../store/incidents/part.ts';
import { defineCapability } from './capability.ts';

export const incidents = defineCapability({
  name: 'incidents',
  summary:
    'Triage of signals, burn alerts and failed runs into cases; incidents with severity, command roles as intervals, a tamper-evident timeline, evidence by SHA-256 and a blameless postmortem.',
  permissions: INCIDENT_PERMISSIONS,
  reservedPermissions: [SEE_RESTRICTED],
  events: incidentEvents,
  store: incidentsStore,
  server: async () => (await import('../server/parts/incidents.ts')).incidentsServer,
  commands: ['cases', 'incidents'],
  cli: async () => (await import('../cli/incidents.ts')).incidentCommands,
  jobs: async () => (await import('../cli/jobs/incidents.ts')).incidentJobs,
});
