/** The engine's pure rules: backoff with jitter, guards, what counts as a done HTTP call, the dry run. */
import { render, renderJson, evaluate, type ExprContext } from './expressions.ts';
import { urlRefusal } from './safety.ts';
import type { Playbook, RetryPolicy, Step } from './types.ts';

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1): exponential from backoffMs, capped
 * at maxBackoffMs, with "equal jitter" (half fixed, half random) so replicas retrying one failed
 * service spread out. `random` is in [0, 1).
 */
export function backoffMs(policy: RetryPolicy, attempt: number, random: number): number {
  const exp = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(exp / 2 + (exp / 2) * random);
}

/** Whether a step's guards hold, given each `if` step's outputs; undefined while an `if` it depends on has not run. */
export function guardsHold(step: Step, outputs: Record<string, unknown>): boolean | undefined {
  for (const g of step.guards) {
    const o = (Object.hasOwn(outputs, g.step) ? outputs[g.step] : undefined) as { result?: unknown; case?: unknown } | undefined;
    if (o === undefined) return false; // the if (or switch) was itself skipped
    if ((typeof g.branch === 'string' ? o.case : o.result) !== g.branch) return false;
  }
  return true;
}

/** Whether an HTTP answer's status counts as done. */
export function statusOk(step: Step, status: number): boolean {
  const want = step.http?.expectStatus ?? [];
  return want.length > 0 ? want.includes(status) : status >= 200 && status < 300;
}

export interface PreparedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
}

/** A step's HTTP request with its expressions evaluated, or why it cannot be. */
export function prepareRequest(
  step: Step,
  ctx: ExprContext,
  allowHosts: readonly string[],
): { ok: true; request: PreparedRequest } | { ok: false; message: string } {
  const h = step.http!;
  // Values are percent-encoded into the URL: `x/../admin?` stays one path segment's text.
  const url = render(h.url, ctx, encodeURIComponent);
  if (!url.ok) return url;
  if (typeof url.value !== 'string' || !/^https?:\/\//i.test(url.value))
    return { ok: false, message: `url is ${JSON.stringify(url.value)}, not an http(s) URL` };
  const refused = urlRefusal(url.value, allowHosts);
  if (refused) return { ok: false, message: `refused before sending: ${refused}` };
  const headers: Record<string, string> = {};
  for (const [k, t] of Object.entries(h.headers)) {
    const v = render(t, ctx);
    if (!v.ok) return v;
    headers[k] = typeof v.value === 'string' ? v.value : JSON.stringify(v.value);
  }
  if (h.body === undefined) return { ok: true, request: { method: h.method, url: url.value, headers } };
  const body = renderJson(h.body, ctx);
  if (!body.ok) return body;
  return { ok: true, request: { method: h.method, url: url.value, headers, body: body.value } };
}

/** What one step of a dry run would do. */
export interface PlannedStep {
  id: string;
  title: string;
  kind: Step['kind'];
  mode: Step['mode'];
  /** What would happen, in words. */
  action: string;
  request?: PreparedRequest;
  /** Why the request or value cannot be known before the run (it reads an earlier step's outputs). */
  unresolved?: string;
  guarded: boolean;
}

/** The dry run: each step with what it would do, expressions evaluated as far as the inputs allow. Nothing is sent. */
export function planRun(pb: Playbook, inputs: Record<string, unknown>, trigger: unknown = null): PlannedStep[] {
  const ctx: ExprContext = { inputs, steps: {}, trigger, run: { id: 'dry-run', playbook: pb.name, version: 0 } };
  return pb.steps.map((s) => {
    const base = { id: s.id, title: s.title, kind: s.kind, mode: s.mode, guarded: s.guards.length > 0 };
    const who =
      s.mode === 'manual'
        ? 'a person does it and records the outcome'
        : s.mode === 'assisted'
          ? 'prepared; runs when a person confirms'
          : 'runs automatically';
    switch (s.kind) {
      case 'http':
      case 'notify': {
        const r = prepareRequest(s, ctx, pb.allowHosts);
        const what = s.kind === 'notify' ? 'notify (webhook POST)' : 'HTTP request';
        return r.ok
          ? { ...base, action: `${what} ${r.request.method} ${r.request.url}: ${who}`, request: r.request }
          : { ...base, action: `${what}: ${who}`, unresolved: r.message };
      }
      case 'set': {
        const vals: Record<string, unknown> = {};
        let unresolved: string | undefined;
        for (const [k, e] of Object.entries(s.set!)) {
          const v = evaluate(e, ctx);
          if (v.ok) vals[k] = v.value;
          else unresolved ??= v.message;
        }
        return {
          ...base,
          action: `set ${Object.keys(s.set!).join(', ')}${unresolved ? '' : ` = ${JSON.stringify(vals)}`}`,
          ...(unresolved ? { unresolved } : {}),
        };
      }
      case 'if':
        return { ...base, action: `if ${s.condition!.source}: the steps of the branch taken run, the others are skipped` };
      case 'switch':
        return {
          ...base,
          action: `switch on ${s.switch!.value.source}: the steps of the case matched (${[...s.switch!.cases, 'default'].join(', ')}) run, the others are skipped`,
        };
      case 'forEach':
        return {
          ...base,
          action: `for each item of ${s.forEach!.items.source} (at most ${s.forEach!.max}): ${s.forEach!.body.kind}, one after another: ${who}`,
        };
      case 'parallel':
        return {
          ...base,
          action: `at once: ${s.parallel!.map((b) => `${b.id} (${b.kind})`).join(', ')}: ${who}`,
        };
      case 'playbook':
        return { ...base, action: `start a run of playbook ${s.call!.name} and wait for it to end (its failure fails this step)` };
      case 'wait':
        return s.waitSignal
          ? {
              ...base,
              action: `wait up to ${s.waitSignal.timeoutMs / 1000}s for a signal where ${s.waitSignal.match.source} (then ${s.waitSignal.onTimeout === 'fail' ? 'the step fails' : 'the run goes on'} if none came)`,
            }
          : { ...base, action: `wait ${s.waitMs! / 1000}s (no memory held; a restart keeps the deadline)` };
      case 'approval': {
        const rules = s
          .approval!.policy.rules.map(
            (r) =>
              `${r.count} of ${[...(r.groups ?? []).map((g) => `group ${g}`), ...(r.roles ?? []).map((x) => `role ${x}`)].join(' or ') || 'anyone'}`,
          )
          .join(' and ');
        return {
          ...base,
          action: `ask for approval (${rules}; expires after ${s.approval!.policy.expiresInMinutes} min) and wait; denied or expired fails the step`,
        };
      }
      case 'checklist':
        return { ...base, action: `checklist for a person: ${s.items!.join('; ')}` };
    }
  });
}
