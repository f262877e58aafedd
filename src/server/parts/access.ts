/** Access in the server: tokens, principals, and the caller's session. */
import { principalRoutes } from '../routes/principals.ts';
import { tokenRoutes } from '../routes/tokens.ts';
import type { ServerPart } from '../server-part.ts';

export const accessServer: ServerPart = ({ app, routes, deps }) => {
  tokenRoutes(app, routes, deps);
  principalRoutes(app, routes, deps);
};
