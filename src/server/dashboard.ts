/**
 * The dashboard's static files, anonymous because they hold no data, and the single-page app's
 * deep links: any GET outside /v1 that is not a file answers index.html.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Bulwark</title>
<p>The dashboard is not built. Run <code>npm run build:web</code> (npm start does it for you).</p>`;

export async function registerDashboard(app: FastifyInstance, webDir: string): Promise<{ indexHtml: () => string }> {
  const index = path.join(webDir, 'index.html');
  const built = existsSync(index);
  if (built) {
    await app.register(async (child) => {
      child.addHook('onRoute', (route) => {
        route.config = { ...(route.config ?? {}), auth: 'public' };
      });
      await child.register(fastifyStatic, { root: webDir, wildcard: false, index: false, serveDotFiles: false });
    });
  }
  // Read per request (a small file): a rebuilt dashboard is served without a restart.
  return { indexHtml: () => (existsSync(index) ? readFileSync(index, 'utf8') : NOT_BUILT) };
}
