/**
 * Access in the server: tokens, principals, second factors, the caller's session, approvals and
 * breakglass; the access settings (step-up, rate limits); the approvals service other
 * capabilities use (`services.approvals`).
 */
import { Counter } from 'prom-client';
import { approvalService, type ApprovalService } from '../../app/access/approvals.ts';
import { approvalRoutes } from '../routes/approvals.ts';
import { breakglassRoutes } from '../routes/breakglass.ts';
import { principalRoutes } from '../routes/principals.ts';
import { secondFactorRoutes } from '../routes/second-factor.ts';
import { tokenRoutes } from '../routes/tokens.ts';
import { configureAccess, type AccessSettings } from '../auth.ts';
import type { ServerPart } from '../server-part.ts';

declare module '../server-part.ts' {
  interface ServerOptions {
    /** Step-up (how fresh a second factor must be, whether every person needs one) and rate limits. */
    access?: Partial<AccessSettings>;
  }
  interface Services {
    /** Multi-party approvals: request, status, consume (app/access/approvals.ts). */
    approvals: ApprovalService;
  }
}

export const accessServer: ServerPart = ({ app, routes, deps, options, services, metrics }) => {
  const breakglass = new Counter({
    name: 'bulwark_breakglass_total',
    help: 'Breakglass invoked through this server, by kind (a permission, or bypassing an approval)',
    labelNames: ['kind'],
    registers: [metrics],
  });
  configureAccess(app, options.access ?? {});
  tokenRoutes(app, routes, deps);
  principalRoutes(app, routes, deps);
  secondFactorRoutes(app, routes, deps);
  approvalRoutes(app, routes, deps);
  // Signals is set up after access: its ingest is looked up when a breakglass is invoked.
  breakglassRoutes(
    app,
    routes,
    deps,
    () => services.signals,
    (kind) => breakglass.inc({ kind }),
  );
  services.approvals = approvalService(deps);
};
