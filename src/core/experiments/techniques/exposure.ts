/**
 * Exposure probes: asks for files and endpoints that must never be served — repository metadata,
 * environment files, debug and admin consoles. GET requests only; nothing to revert. Deliberately
 * absent: heap dumps and similar endpoints whose answer is large or would copy secrets into the
 * run's journal.
 */
import { z } from 'zod';
import { defineTechnique, httpActivity, parseTarget, timeoutSeconds, urlPath, urlUnder } from './technique.ts';

export const MAX_EXPOSURE_PATHS = 100;

export const DEFAULT_EXPOSURE_PATHS = [
  '/.git/config',
  '/.git/HEAD',
  '/.env',
  '/.env.local',
  '/.aws/credentials',
  '/.DS_Store',
  '/config.json',
  '/server-status',
  '/debug/vars',
  '/debug/pprof/',
  '/actuator/env',
  '/phpinfo.php',
  '/admin',
  '/admin/',
  '/console',
  '/wp-admin/',
];

export const exposureProbes = defineTechnique({
  id: 'exposure.sensitive-paths',
  name: 'Exposure probes',
  attack: ['T1595.003', 'T1552.001'],
  description:
    'GETs well-known sensitive paths (/.git/config, /.env, debug and admin endpoints); each must be refused or absent (401/403/404). Read-only; nothing to revert.',
  kind: 'http',
  params: z.strictObject({
    paths: z
      .array(urlPath())
      .min(1)
      .max(MAX_EXPOSURE_PATHS)
      .default(DEFAULT_EXPOSURE_PATHS)
      .describe('the paths to ask for, below the target'),
    method: z.enum(['GET', 'HEAD']).default('GET').describe('GET, or HEAD to fetch no body'),
    timeoutSeconds: timeoutSeconds(),
  }),
  inject(params, ctx) {
    const target = parseTarget(ctx.target);
    const method = [...new Set(params.paths)].map((path, i) =>
      httpActivity(`exposure.sensitive-paths #${i + 1} ${path}`, {
        url: urlUnder(target, path),
        method: params.method,
        timeoutMs: params.timeoutSeconds * 1000,
      }),
    );
    return { method, rollbacks: [], expectHints: { blocked: [401, 403, 404] } };
  },
});
