/**
 * The demo experiment files parse, resolve against a target URL and stay inside their blast
 * radius; and, replayed against a real demo target with its default controls (a minimal stand-in
 * for the runner: send the method, judge the last response, match the audit signals with the
 * file's CEL), they decide the three outcomes the demo promises.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blastRadiusViolations, effectiveBlastRadius } from '../core/experiments/blast-radius.ts';
import { compileCel, matchSignal } from '../core/experiments/cel.ts';
import { resolveConfiguration } from '../core/experiments/configuration.ts';
import { parseExperiment } from '../core/experiments/experiment-file.ts';
import { decideOutcome } from '../core/experiments/outcome.ts';
import { evaluateTolerance } from '../core/experiments/tolerance.ts';
import type { Experiment, HttpProvider } from '../core/experiments/types.ts';
import { parseCloudEvent, STRUCTURED_MEDIA_TYPE } from '../core/signals/cloudevents.ts';
import type { Signal } from '../core/signals/signal.ts';
import type { DemoEvent } from './audit.ts';
import { demoVars, loadDemoExperiments } from './experiments.ts';
import { startDemoTarget, type DemoTarget } from './target.ts';

let target: DemoTarget;
const events: DemoEvent[] = [];
beforeAll(async () => {
  target = await startDemoTarget({ signalSink: async (e) => void events.push(e) });
});
afterAll(() => target.stop());

async function resolved(text: string, url: string): Promise<Experiment> {
  const parsed = parseExperiment(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors, null, 2));
  expect(parsed.warnings).toEqual([]);
  const r = resolveConfiguration(parsed.experiment, {}, demoVars(url));
  if (!r.ok) throw new Error(JSON.stringify(r.errors, null, 2));
  return r.value.experiment;
}

/** Send the method's requests with the run header; the last response is the injection judged by `blocked`. */
async function replay(exp: Experiment, runId: string) {
  let last: { status: number } | undefined;
  for (const step of exp.method) {
    const p = ('ref' in step ? step.activity : step).provider as HttpProvider;
    const url = new URL(p.url);
    if (p.method === 'GET' && p.arguments) for (const [k, v] of Object.entries(p.arguments)) url.searchParams.set(k, String(v));
    const res = await fetch(url, {
      method: p.method,
      headers: { ...p.headers, 'X-Bulwark-Run': runId },
      ...(p.body !== undefined ? { body: typeof p.body === 'string' ? p.body : JSON.stringify(p.body) } : {}),
    });
    last = { status: res.status };
  }
  const signals = events.map((e) => {
    const r = parseCloudEvent({ headers: { 'content-type': STRUCTURED_MEDIA_TYPE }, body: JSON.stringify(e) }, { receivedAt: e.time });
    if (!r.ok) throw new Error(r.reason);
    return r.signal;
  });
  const mine = signals.filter((s: Signal) => s.runId === runId);
  return decideOutcome({
    rollbacks: [],
    gate: 'passed',
    blocked: { asked: true, held: evaluateTolerance(exp.expect!.blocked!.tolerance, last).ok },
    detections: exp.expect!.detected.map((d) => {
      const program = compileCel(d.when);
      if (!program.ok) throw new Error(program.message);
      const hit = mine.some((s) => matchSignal(program.program, s, { id: runId }).matched);
      return { name: d.name, deadlineMs: d.withinMs, ...(hit ? { detectedAfterMs: 0 } : {}) };
    }),
  }).outcome;
}

describe('demo experiments', () => {
  it('are three valid files with a one-minute schedule, deadlines of seconds and a loopback blast radius', async () => {
    const files = await loadDemoExperiments();
    expect(files.map((f) => f.name)).toEqual(['admin-without-auth', 'login-brute-force', 'sqli-products']);
    for (const f of files) {
      const exp = await resolved(f.text, 'http://127.0.0.1:43210/');
      expect(exp.schedule, f.name).toEqual({ cron: '* * * * *', jitterMs: 5000 });
      expect(exp.safety?.blastRadius?.hosts).toEqual(['127.0.0.1']);
      expect(exp.expect?.detected.every((d) => d.withinMs <= 5000)).toBe(true);
      const urls = exp.method.map((s) => (('ref' in s ? s.activity : s).provider as HttpProvider).url);
      expect(urls.every((u) => u.startsWith('http://127.0.0.1:43210/'))).toBe(true);
      expect(blastRadiusViolations(exp, effectiveBlastRadius(exp))).toEqual([]);
    }
  });

  it('refuse to run against a host outside their blast radius', async () => {
    const [file] = await loadDemoExperiments();
    const exp = await resolved(file!.text, 'http://shop.example.com');
    expect(blastRadiusViolations(exp, effectiveBlastRadius(exp))).not.toEqual([]);
  });

  it('end prevented, detected and missed against the default controls, and change when a control is switched', async () => {
    const byName = Object.fromEntries(
      await Promise.all((await loadDemoExperiments()).map(async (f) => [f.name, await resolved(f.text, target.url)] as const)),
    );
    expect(await replay(byName['sqli-products']!, 'runsqli0001')).toBe('prevented');
    expect(await replay(byName['admin-without-auth']!, 'runadmin0001')).toBe('detected');
    expect(await replay(byName['login-brute-force']!, 'runlogin0001')).toBe('missed');

    target.controls.set({ inputFilter: false, adminAuth: true, loginThrottling: true });
    expect(await replay(byName['sqli-products']!, 'runsqli0002')).toBe('missed');
    expect(await replay(byName['admin-without-auth']!, 'runadmin0002')).toBe('prevented');
    expect(await replay(byName['login-brute-force']!, 'runlogin0002')).toBe('prevented');
  });
});
