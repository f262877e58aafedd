/**
 * A bounded request burst, to check that rate limiting and load shedding answer 429/503 (with
 * Retry-After) instead of falling over. The experiment model has no "repeat N times with
 * concurrency C" option, so the burst is written with what it has: one request defined twice
 * (a background and a foreground copy) and then repeated by `ref`, in waves of C — C-1 background
 * requests and one in the foreground that the method waits for before the next wave starts.
 * Background requests of a wave that outlive its foreground one overlap the next wave, so C is
 * the number started per wave, not a hard cap; the per-request timeout bounds the overlap.
 * Nothing is changed on the target; nothing to revert.
 *
 * `blocked` judges every request alike, so it asks what must hold for each: an orderly answer —
 * served (2xx, 3xx) or shed (429, 503) — never an error, a reset or a timeout. Whether the
 * limiter engaged at all is for a detection (a rate-limit metric alert) to say.
 */
import { z } from 'zod';
import { defineTechnique, httpActivity, parseTarget, timeoutSeconds, urlPath, urlUnder } from './technique.ts';
import type { Step } from '../types.ts';

export const MAX_BURST = 1000;
export const MAX_CONCURRENCY = 50;

export const requestBurst = defineTechnique({
  id: 'load.request-burst',
  name: 'Bounded request burst',
  attack: ['T1499.003'],
  description:
    'Sends `count` requests in waves of `concurrency` to one path; each must get an orderly answer — served, or shed with 429/503 — never an error or a timeout. Nothing to revert.',
  kind: 'http',
  params: z.strictObject({
    path: urlPath().default('/').describe('the path to hit, below the target'),
    method: z.enum(['GET', 'HEAD', 'POST']).default('GET').describe('the HTTP method'),
    count: z.number().int().min(1).max(MAX_BURST).default(200).describe('requests in all'),
    concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).default(10).describe('requests started together in each wave'),
    timeoutSeconds: timeoutSeconds(5),
  }),
  inject(params, ctx) {
    const url = urlUnder(parseTarget(ctx.target), params.path);
    const request = { url, method: params.method, timeoutMs: params.timeoutSeconds * 1000 };
    const fg = httpActivity('load.request-burst request', request);
    const bg = httpActivity('load.request-burst request (background)', request, { background: true });
    const method: Step[] = [];
    let usedFg = false;
    let usedBg = false;
    for (let i = 0; i < params.count; i++) {
      const lastOfWave = i % params.concurrency === params.concurrency - 1 || i === params.count - 1;
      if (lastOfWave) {
        method.push(usedFg ? { ref: fg.name, activity: fg } : fg);
        usedFg = true;
      } else {
        method.push(usedBg ? { ref: bg.name, activity: bg } : bg);
        usedBg = true;
      }
    }
    return {
      method,
      rollbacks: [],
      expectHints: { blocked: { type: 'regex', pattern: '^([23][0-9][0-9]|429|503)$', target: 'status' } },
      notes: [
        `concurrency is expressed as waves of background activities (${params.concurrency} per wave); a runner option for repeated requests with a hard concurrency cap would make it exact`,
      ],
    };
  },
});
