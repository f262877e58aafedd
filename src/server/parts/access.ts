/** Access in the server: tokens and the caller's session. */
import { tokenRoutes } from '../routes/tokens.ts';
import type { ServerPart } from '../server-part.ts';

export const accessServer: ServerPart = ({ app, routes, deps }) => tokenRoutes(app, routes, deps);
