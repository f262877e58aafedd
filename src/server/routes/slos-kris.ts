/** KRIs over HTTP: each key risk indicator's count now, its amber and red thresholds, its colour and why. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../../app/deps.ts';
import { evaluateKris } from '../../app/slos/kris.ts';
import { KRI_COLOURS, KRI_NAMES } from '../../core/slos/kris.ts';
import type { RouteRegistry } from '../route.ts';
import { allStatuses } from './slos.ts';

export const KriView = z.object({
  kri: z.enum(KRI_NAMES as [string, ...string[]]),
  title: z.string(),
  description: z.string(),
  value: z.number().nullable().describe('null when it could not be counted'),
  amber: z.number().describe('amber at or above this'),
  red: z.number().describe('red at or above this'),
  colour: z.enum(KRI_COLOURS).describe('unknown when it could not be counted, never green then'),
  why: z.string(),
  items: z.array(z.string()).describe('what the count is made of, at most 20'),
});

export function kriRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/kris',
    tag: 'slos',
    summary:
      'KRIs now: missed detections, techniques not exercised, regressed experiments, SLOs low on budget or freezing; green, amber or red',
    auth: { permission: 'slos:read' },
    priority: 'low',
    response: z.object({ at: z.string(), kris: z.array(KriView) }),
    handler: async () => ({ at: deps.clock.now().toISOString(), kris: await evaluateKris(deps, await allStatuses(deps)) }),
  });
}
