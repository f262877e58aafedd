/** The engine's pure rules: backoff with jitter, guards, what counts as a done HTTP call, the dry run. */
import { render, renderJson, evaluate, type ExprContext } from './expressions.ts';
import { urlRefusal } from './safety.ts';
import { isSecretRef, type IncidentOp, type Playbook, type RetryPolicy, type Step } from './types.ts';
import type { ProcessProvider } from '../experiments/providers/process.ts';

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
  /** Headers whose value is a sealed secret, by name: opened only when the request is sent. */
  secretHeaders?: Record<string, string>;
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
  const secretHeaders: Record<string, string> = {};
  for (const [k, t] of Object.entries(h.headers)) {
    if (isSecretRef(t)) {
      secretHeaders[k] = t.secret;
      continue;
    }
    const v = render(t, ctx);
    if (!v.ok) return v;
    headers[k] = typeof v.value === 'string' ? v.value : JSON.stringify(v.value);
  }
  const secrets = Object.keys(secretHeaders).length > 0 ? { secretHeaders } : {};
  if (h.body === undefined) return { ok: true, request: { method: h.method, url: url.value, headers, ...secrets } };
  const body = renderJson(h.body, ctx);
  if (!body.ok) return body;
  return { ok: true, request: { method: h.method, url: url.value, headers, body: body.value, ...secrets } };
}

/** A `process` step's command, its expressions evaluated; variables that are sealed secrets named, not opened. */
export interface PreparedProcess {
  provider: Pick<ProcessProvider, 'path' | 'arguments' | 'env'>;
  /** Variables whose value is a sealed secret, by name: opened only when the process starts. */
  secretEnv: Record<string, string>;
}

const asText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export function prepareProcess(step: Step, ctx: ExprContext): { ok: true; process: PreparedProcess } | { ok: false; message: string } {
  const p = step.process!;
  const path = render(p.path, ctx);
  if (!path.ok) return path;
  if (typeof path.value !== 'string' || !path.value.startsWith('/'))
    return { ok: false, message: `path is ${JSON.stringify(path.value)}, not an absolute path` };
  let args: ProcessProvider['arguments'];
  if (p.arguments.kind === 'shell') {
    const line = render(p.arguments.line, ctx);
    if (!line.ok) return line;
    args = { kind: 'shell', line: asText(line.value) };
  } else {
    const argv: string[] = [];
    for (const [i, a] of p.arguments.argv.entries()) {
      const v = render(a, ctx);
      if (!v.ok) return v;
      const text = asText(v.value);
      // A value from an expression (a run's input, a signal's field) is one argument, never an option.
      if (a.parts.some((x) => typeof x !== 'string') && text.startsWith('-'))
        return {
          ok: false,
          message: `argument ${i} is ${JSON.stringify(text.slice(0, 40))}, computed from an expression and starting with '-', which the program would read as an option`,
        };
      argv.push(text);
    }
    args = { kind: 'argv', argv };
  }
  const env: Record<string, string> = {};
  const secretEnv: Record<string, string> = {};
  for (const [k, t] of Object.entries(p.env)) {
    if (isSecretRef(t)) {
      secretEnv[k] = t.secret;
      continue;
    }
    const v = render(t, ctx);
    if (!v.ok) return v;
    env[k] = asText(v.value);
  }
  return { ok: true, process: { provider: { path: path.value, arguments: args, env }, secretEnv } };
}

/** Render each template field of an incident or case operation to text; the first failure. */
export function renderIncidentOp(
  op: IncidentOp,
  ctx: ExprContext,
): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(op)) {
    if (v !== null && typeof v === 'object' && 'parts' in v) {
      const r = render(v as Parameters<typeof render>[0], ctx);
      if (!r.ok) return { ok: false, message: `${k}: ${r.message}` };
      out[k] = r.value;
    } else out[k] = v;
  }
  return { ok: true, value: out };
}

/** What an incident or case operation does, in words (the dry run, the checklist of a manual step). */
export function describeIncidentOp(op: IncidentOp): string {
  const src = (t: { source: string } | undefined) => (t ? t.source : '');
  switch (op.op) {
    case 'open':
      return `open an incident "${src(op.title)}" (severity ${src(op.severity)}, priority ${src(op.priority)}${op.restricted ? ', restricted' : ''})`;
    case 'note':
      return `add a note to incident ${src(op.incident)}: ${src(op.text)}`;
    case 'status':
      return `set incident ${src(op.incident)}'s status to ${src(op.to)}`;
    case 'task':
      return `add the task "${src(op.title)}" to incident ${src(op.incident)}`;
    case 'acknowledge-case':
      return `acknowledge case ${src(op.case)}`;
    case 'close-case':
      return `close case ${src(op.case)} as ${src(op.resolution)}`;
    case 'escalate-case':
      return `escalate case ${src(op.case)} into an incident (severity ${src(op.severity)}, priority ${src(op.priority)})`;
  }
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
      case 'process': {
        const r = prepareProcess(s, ctx);
        const secret =
          r.ok && Object.keys(r.process.secretEnv).length > 0 ? ` (sealed secrets: ${Object.values(r.process.secretEnv).join(', ')})` : '';
        if (!r.ok) return { ...base, action: `start a process of the server's allow-list: ${who}`, unresolved: r.message };
        const p = r.process.provider;
        const cmd =
          p.arguments.kind === 'shell'
            ? `sh -c ${JSON.stringify(`${p.path} ${p.arguments.line}`)}`
            : [p.path, ...p.arguments.argv].join(' ');
        return { ...base, action: `start ${cmd}${secret}, done on exit status ${s.process!.expectStatus.join(' or ')}: ${who}` };
      }
      case 'incident':
      case 'case':
        return { ...base, action: `${describeIncidentOp(s.incidentOp!)}: ${who}` };
      case 'run-experiment': {
        const e = s.experiment!;
        return {
          ...base,
          action: `run experiment ${e.name} and wait up to ${e.withinMs / 1000}s for its outcome${e.expect.length > 0 ? ` (done when ${e.expect.join(' or ')})` : ''}: ${who}`,
        };
      }
    }
  });
}
