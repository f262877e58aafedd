/** Incidents in the server: the routes of cases and incidents. Triage runs as a job of `bulwark serve` (cli/jobs/incidents.ts). */
import { caseRoutes } from '../routes/incidents-cases.ts';
import { incidentRoutes } from '../routes/incidents.ts';
import type { ServerPart } from '../server-part.ts';

export const incidentsServer: ServerPart = (ctx) => {
  caseRoutes(ctx.app, ctx.routes, ctx.deps);
  incidentRoutes(ctx.app, ctx.routes, ctx.deps);
};
