import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseExperiment } from '../experiment-file.ts';
import { evaluateTolerance } from '../tolerance.ts';
import type { Step } from '../types.ts';
import { bruteForce, credentialStuffing, MAX_BRUTE_FORCE } from './auth.ts';
import { toExperimentYaml } from './render.ts';
import { MAX_BURST, MAX_CONCURRENCY, requestBurst } from './request-burst.ts';
import { parseParams } from './technique.ts';

const CTX = { target: 'http://127.0.0.1:8080', runId: 'burst0001run' };

const background = (s: Step) => ('ref' in s ? s.activity : s).background;

/** Lengths of the runs of background requests that each foreground request closes. */
function waves(method: Step[]): number[] {
  const out: number[] = [];
  let n = 0;
  for (const s of method) {
    n++;
    if (!background(s)) {
      out.push(n);
      n = 0;
    }
  }
  return out;
}

describe('the request burst', () => {
  it('sends exactly count requests in waves of at most concurrency, the method waiting for each wave', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_BURST }), fc.integer({ min: 1, max: MAX_CONCURRENCY }), (count, concurrency) => {
        const { method } = requestBurst.build({ path: '/', method: 'GET', count, concurrency, timeoutSeconds: 5 }, CTX);
        expect(method).toHaveLength(count);
        const w = waves(method);
        expect(w.reduce((a, b) => a + b, 0)).toBe(count);
        for (const size of w) expect(size).toBeLessThanOrEqual(concurrency);
        expect(background(method.at(-1)!)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('writes 1000 requests as two activities and refs, and asks each for an orderly answer: served or shed, never a 5xx', () => {
    const yaml = toExperimentYaml(requestBurst, { count: 1000, concurrency: 50 }, CTX);
    expect(yaml.length).toBeLessThan(60_000);
    const parsed = parseExperiment(yaml);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    expect(parsed.experiment.method.filter((s) => !('ref' in s))).toHaveLength(2);
    const tolerance = parsed.experiment.expect!.blocked!.tolerance;
    expect(evaluateTolerance(tolerance, { status: 200, headers: {}, body: '' }).ok).toBe(true);
    expect(evaluateTolerance(tolerance, { status: 429, headers: {}, body: '' }).ok).toBe(true);
    expect(evaluateTolerance(tolerance, { status: 503, headers: {}, body: '' }).ok).toBe(true);
    expect(evaluateTolerance(tolerance, { status: 500, headers: {}, body: '' }).ok).toBe(false);
    expect(evaluateTolerance(tolerance, { status: 502, headers: {}, body: '' }).ok).toBe(false);
  });

  it('refuses counts beyond its bounds', () => {
    expect(parseParams(requestBurst, { count: MAX_BURST + 1 }).ok).toBe(false);
    expect(parseParams(requestBurst, { concurrency: MAX_CONCURRENCY + 1 }).ok).toBe(false);
    expect(parseParams(requestBurst, { count: 0 }).ok).toBe(false);
    const r = parseParams(bruteForce, { count: MAX_BRUTE_FORCE + 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toEqual(['parameter count must be at most 100']);
  });
});

describe('authentication attacks', () => {
  it('brute-forces one account with 20 distinct canary passwords by default', () => {
    const p = parseParams(bruteForce, {});
    if (!p.ok) throw new Error(p.errors.join());
    const { method } = bruteForce.build(p.params, CTX);
    expect(method).toHaveLength(20);
    const passwords = method.map(
      (s) => (('ref' in s ? s.activity : s).provider as { arguments: Record<string, string> }).arguments['password'],
    );
    expect(new Set(passwords).size).toBe(20);
    expect(passwords[0]).toBe('bwk-canary-${bulwark_run_id}-p1');
  });

  it('stuffs credentials split at the first colon, so passwords may hold colons', () => {
    const p = parseParams(credentialStuffing, { credentials: ['alice:pa:ss', 'bob:'], in: 'json' });
    if (!p.ok) throw new Error(p.errors.join());
    const { method } = credentialStuffing.build(p.params, CTX);
    expect(method.map((s) => ('ref' in s ? s.activity : s).provider)).toMatchObject([
      { method: 'POST', body: { username: 'alice', password: 'pa:ss' } },
      { method: 'POST', body: { username: 'bob', password: '' } },
    ]);
    expect(parseParams(credentialStuffing, { credentials: ['no-colon'] }).ok).toBe(false);
  });
});
