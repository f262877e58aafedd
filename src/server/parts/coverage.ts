/** Coverage in the server: its routes (the map is computed from the store on each read). */
import { coverageRoutes } from '../routes/coverage.ts';
import type { ServerPart } from '../server-part.ts';

export const coverageServer: ServerPart = ({ app, routes, deps }) => {
  coverageRoutes(app, routes, deps);
};
