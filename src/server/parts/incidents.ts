/** Incidents in the server: the routes of cases and incidents, and the redaction of restricted incidents' ledger entries. Triage runs as a job of `bulwark serve` (cli/jobs/incidents.ts). */
import { caseRoutes } from '../routes/incidents-cases.ts';
import { incidentRoutes } from '../routes/incidents.ts';
import { incidentLinkRoutes } from '../routes/incidents-links.ts';
import { incidentWorkRoutes } from '../routes/incidents-work.ts';
import { incidentRedactor } from '../routes/incidents-views.ts';
import { addEntryRedactor } from '../routes/ledger.ts';
import type { ServerPart } from '../server-part.ts';

export const incidentsServer: ServerPart = (ctx) => {
  caseRoutes(ctx.app, ctx.routes, ctx.deps);
  incidentRoutes(ctx.app, ctx.routes, ctx.deps);
  incidentWorkRoutes(ctx.app, ctx.routes, ctx.deps);
  incidentLinkRoutes(ctx.app, ctx.routes, ctx.deps);
  // Restricted incidents stay hidden on the ledger read routes too.
  addEntryRedactor(ctx.app, incidentRedactor(ctx.deps));
};
