/**
 * Playbook files (`apiVersion: bulwark/v1`, `kind: Playbook`; docs/playbooks.md): YAML or JSON,
 * read through the bounded YAML parser, checked with zod, expressions compiled. Errors carry the
 * line, column and path of what to fix. Nested `if` steps are flattened into one ordered list,
 * each step guarded by the branch it is in. Pure.
 */
import { LOOPBACK_HOSTS, validHostEntry } from './safety.ts';
import { ApprovalRule } from '../access/approval-policy.ts';
import { SECRET_NAME, SECRET_NAME_RULE } from '../access/sealed.ts';
import { OUTCOMES } from '../experiments/outcome.ts';
import { INCIDENT_STATUSES } from '../incidents/model.ts';
import { z } from 'zod';
import type { Document } from 'yaml';
import { parseYamlBounded } from '../input/bounded-yaml.ts';
import { INPUT_LIMITS } from '../input/limits.ts';
import { tryParseCron, type Cron } from '../experiments/cron.ts';
import { tryParseDuration } from '../experiments/duration.ts';
import { checkJsonTemplates, compileExpression, compileTemplate, type CelExpression, type Template } from './expressions.ts';
import {
  STEP_KINDS,
  type IncidentOp,
  type InputSpec,
  type Playbook,
  type SecretRef,
  type Step,
  type StepKind,
  type StepMode,
} from './types.ts';

export const PLAYBOOK_NAME = /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/;
export const STEP_ID = /^[a-z][a-z0-9_]{0,62}$/;
export const MAX_PLAYBOOK_FILE_LENGTH = INPUT_LIMITS.yaml.length;
const MAX_TIMEOUT_MS = 10 * 60_000;

export interface PlaybookIssue {
  path: string;
  line: number;
  column: number;
  message: string;
}

export type PlaybookParse = { ok: true; playbook: Playbook } | { ok: false; errors: PlaybookIssue[] };

const duration = (what: string, maxMs = 366 * 86_400_000) =>
  z.string().superRefine((s, ctx) => {
    const d = tryParseDuration(s);
    if (!d.ok) ctx.addIssue({ code: 'custom', message: `${what}: ${d.message}` });
    else if (d.ms > maxMs) ctx.addIssue({ code: 'custom', message: `${what} is at most ${maxMs / 1000}s` });
  });

const text = (max: number) => z.string().max(max);
const stepId = z
  .string()
  .regex(STEP_ID, 'a step id is 1–63 characters of a-z, 0-9 and "_", starting with a letter (steps.ID in expressions)');
const mode = z.enum(['manual', 'assisted', 'auto']);
const jsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.string().max(8192), z.number(), z.boolean(), z.null(), z.array(jsonValue).max(200), z.record(z.string().max(200), jsonValue)]),
);

/** A sealed secret by name: `{secret: NAME}`, or `{type: sealed, name: NAME}` as experiment files write it. */
const secretName = z.string().regex(SECRET_NAME, SECRET_NAME_RULE);
const secretRef = z.union([
  z.strictObject({ secret: secretName }),
  z.strictObject({ type: z.literal('sealed'), name: secretName }).transform((r) => ({ secret: r.name })),
]);
/** A header or variable value: a template, or a sealed secret opened only when the step is executed. */
const valueOrSecret = z.union([z.string().max(4096), secretRef]);
type RawValue = string | SecretRef;
const headerName = z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'a header name: letters, digits and "-"');

const httpSchema = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
  url: z.string().min(1).max(2048),
  headers: z.record(headerName, valueOrSecret).default({}),
  body: jsonValue.optional(),
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).max(50).optional(),
});

const notifySchema = z.strictObject({
  url: z.string().min(1).max(2048),
  message: z.string().min(1).max(4096),
  headers: z.record(headerName, valueOrSecret).default({}),
});

const processSchema = z.strictObject({
  path: z.string().min(1).max(1024),
  /** A list: argv, no shell. A string: a command line for `/bin/sh -c` (as experiments' process provider). */
  arguments: z.union([z.array(z.string().max(4096)).max(100), z.string().max(8192)]).default([]),
  env: z.record(z.string().min(1).max(100), valueOrSecret).default({}),
  expectStatus: z.array(z.number().int().min(0).max(255)).min(1).max(50).optional(),
});

const ref = z.union([z.string().min(1).max(4096), z.number().int().min(1)]).transform(String);
const t = (max: number) => z.string().min(1).max(max);
const incidentSchema = z
  .strictObject({
    open: z
      .strictObject({
        title: t(200),
        severity: t(100),
        priority: t(100).default('P3'),
        restricted: z.boolean().default(false),
      })
      .optional(),
    note: z.strictObject({ incident: ref, text: t(4000) }).optional(),
    status: z
      .strictObject({
        incident: ref,
        to: t(100).describe(INCIDENT_STATUSES.join(', ')),
        note: t(2000).optional(),
      })
      .optional(),
    task: z
      .strictObject({ incident: ref, title: t(500), owner: t(200).optional(), dueIn: duration('dueIn', 366 * 86_400_000).optional() })
      .optional(),
  })
  .refine((o) => Object.keys(o).length === 1, 'an incident step does one of: open, note, status, task');
const caseSchema = z
  .strictObject({
    acknowledge: z.strictObject({ case: ref }).optional(),
    close: z.strictObject({ case: ref, resolution: t(100), note: t(2000).optional() }).optional(),
    escalate: z.strictObject({ case: ref, severity: t(100), priority: t(100).default('P3'), title: t(200).optional() }).optional(),
  })
  .refine((o) => Object.keys(o).length === 1, 'a case step does one of: acknowledge, close, escalate');

const experimentSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/, 'an experiment name: a-z, 0-9 and "-"'),
  vars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a variable name'), z.string().max(4096)).default({}),
  expect: z
    .array(z.enum(OUTCOMES, { message: `an outcome: ${OUTCOMES.join(', ')}` }))
    .max(OUTCOMES.length)
    .default([]),
  within: duration('within', 86_400_000).default('1h'),
});

const waitSignalSchema = z.strictObject({
  signal: z.string().min(1).max(4096),
  timeout: duration('timeout', 30 * 86_400_000),
  onTimeout: z.enum(['fail', 'continue']).default('fail'),
});

const approvalSchema = z.strictObject({
  summary: z.string().min(1).max(500).optional(),
  rules: z.array(ApprovalRule).min(1, 'give at least one rule, e.g. { count: 1, groups: [security] }').max(5),
  denials: z.number().int().min(1).max(10).optional(),
  expiresIn: duration('expiresIn', 7 * 86_400_000).default('24h'),
});

/** What `wait` takes, said once for the errors of both forms. */
const WAIT_FORMS = 'wait is a duration such as 10m, or { signal: <CEL over signal>, timeout: 30m, onTimeout: fail | continue }';

interface RawStep {
  id: string;
  title?: string | undefined;
  instructions: string;
  mode?: 'manual' | 'assisted' | 'auto' | undefined;
  timeout: string;
  retry: { attempts: number; backoff: string; maxBackoff: string };
  assignee?: string | undefined;
  http?: z.output<typeof httpSchema> | undefined;
  notify?: z.output<typeof notifySchema> | undefined;
  set?: Record<string, string> | undefined;
  if?: { condition: string; then: RawStep[]; else: RawStep[] } | undefined;
  wait?: string | z.output<typeof waitSignalSchema> | undefined;
  checklist?: string[] | undefined;
  approval?: z.output<typeof approvalSchema> | undefined;
  switch?: { value: string; cases: Record<string, RawStep[]>; default: RawStep[] } | undefined;
  forEach?: { items: string; max: number; do: RawStep } | undefined;
  parallel?: RawStep[] | undefined;
  playbook?: { name: string; inputs: Record<string, string> } | undefined;
  process?: z.output<typeof processSchema> | undefined;
  incident?: z.output<typeof incidentSchema> | undefined;
  case?: z.output<typeof caseSchema> | undefined;
  'run-experiment'?: z.output<typeof experimentSchema> | undefined;
}

/** A step's kind is the one key of these it has (the model's list of kinds). */
const KIND_KEYS = STEP_KINDS;

const stepSchema: z.ZodType<RawStep> = z.lazy(() =>
  z
    .strictObject({
      id: stepId,
      title: text(200).optional(),
      instructions: text(4000).default(''),
      mode: mode.optional(),
      timeout: duration('timeout', MAX_TIMEOUT_MS).default('30s'),
      retry: z
        .strictObject({
          attempts: z.number().int().min(1).max(20).default(1),
          backoff: duration('backoff').default('1s'),
          maxBackoff: duration('maxBackoff').default('5m'),
        })
        .default({ attempts: 1, backoff: '1s', maxBackoff: '5m' }),
      assignee: text(200).min(1).optional(),
      http: httpSchema.optional(),
      notify: notifySchema.optional(),
      set: z
        .record(z.string().regex(/^[a-z_][a-zA-Z0-9_]{0,62}$/, 'an output name: a-z, A-Z, 0-9 and "_"'), z.string().max(4096))
        .optional(),
      if: z
        .strictObject({
          condition: z.string().max(4096),
          then: z.array(stepSchema).max(100).default([]),
          else: z.array(stepSchema).max(100).default([]),
        })
        .optional(),
      wait: z.union([duration('wait'), waitSignalSchema]).optional(),
      checklist: z.array(z.string().min(1).max(500)).min(1).max(100).optional(),
      approval: approvalSchema.optional(),
      switch: z
        .strictObject({
          value: z.string().max(4096),
          cases: z
            .record(z.string().min(1).max(100), z.array(stepSchema).max(100))
            .refine((c) => Object.keys(c).length >= 1 && Object.keys(c).length <= 50, 'a switch has 1 to 50 cases'),
          default: z.array(stepSchema).max(100).default([]),
        })
        .optional(),
      forEach: z
        .strictObject({
          items: z.string().max(4096),
          max: z.number().int().min(1).max(100).default(20),
          // The body's id is optional: it is named by the forEach step's.
          do: z.preprocess((v) => (v && typeof v === 'object' && !Array.isArray(v) && !('id' in v) ? { id: 'each', ...v } : v), stepSchema),
        })
        .optional(),
      parallel: z.array(stepSchema).min(2, 'a parallel has at least two branches').max(20).optional(),
      playbook: z
        .strictObject({
          name: z.string().regex(PLAYBOOK_NAME, 'a playbook name is 1–64 characters of a-z, 0-9 and "-"'),
          inputs: z
            .record(z.string().regex(/^[a-z_][a-zA-Z0-9_]{0,62}$/, 'an input name: a-z, A-Z, 0-9 and "_"'), z.string().max(4096))
            .default({}),
        })
        .optional(),
      process: processSchema.optional(),
      incident: incidentSchema.optional(),
      case: caseSchema.optional(),
      'run-experiment': experimentSchema.optional(),
    })
    .superRefine((s, ctx) => {
      const kinds = KIND_KEYS.filter((k) => s[k] !== undefined);
      if (kinds.length !== 1)
        ctx.addIssue({
          code: 'custom',
          message:
            kinds.length === 0
              ? `a step says what it does with one of: ${KIND_KEYS.join(', ')}`
              : `a step does one thing: it has ${kinds.join(' and ')}; keep one and move the other to a step of its own`,
        });
    }),
);

const inputSchema = z.strictObject({
  type: z.enum(['string', 'number', 'boolean', 'object']).default('string'),
  required: z.boolean().default(false),
  description: text(1000).default(''),
  default: jsonValue.optional(),
  from: z.string().max(4096).optional(),
});

export const playbookFileSchema = z.strictObject({
  apiVersion: z.literal('bulwark/v1'),
  kind: z.literal('Playbook'),
  name: z.string().regex(PLAYBOOK_NAME, 'a name is 1–64 characters of a-z, 0-9 and "-", not starting or ending with "-"'),
  title: text(200).min(1).optional(),
  description: text(4000).default(''),
  owner: text(200).min(1).optional(),
  trigger: z
    .strictObject({ manual: z.boolean().default(true), signal: z.string().max(4096).optional(), schedule: z.string().max(200).optional() })
    .default({ manual: true }),
  inputs: z.record(z.string().regex(/^[a-z_][a-zA-Z0-9_]{0,62}$/, 'an input name: a-z, A-Z, 0-9 and "_"'), inputSchema).default({}),
  automateAfter: z.number().int().min(1).max(100).default(2),
  safety: z
    .strictObject({
      allowHosts: z
        .array(
          z
            .string()
            .refine(
              validHostEntry,
              'a host: a name, *.name, an IP address or an IPv4 CIDR block such as 10.0.0.0/8 (no scheme, port or path)',
            ),
        )
        .max(100),
    })
    .optional(),
  steps: z.array(stepSchema).min(1, 'a playbook has at least one step').max(200),
});

interface Pending {
  path: (string | number)[];
  message: string;
}

const ms = (s: string) => (tryParseDuration(s) as { ok: true; ms: number }).ms;

/** Parse a playbook file: the model, or every error with its line and column. */
export function parsePlaybookFile(textIn: string): PlaybookParse {
  const read = parseYamlBounded(textIn);
  if (!read.ok)
    return { ok: false, errors: read.errors.slice(0, 20).map((e) => ({ path: '', line: e.line, column: e.column, message: e.message })) };
  const locate = (p: Pending): PlaybookIssue => {
    const pos = read.position(offsetOf(read.doc, p.path));
    return { path: p.path.join('.'), ...pos, message: p.message };
  };
  const r = playbookFileSchema.safeParse(read.value);
  if (!r.success)
    return {
      ok: false,
      errors: r.error.issues
        .flatMap((i) => unwrapUnion(i))
        .slice(0, 20)
        .map(locate),
    };
  const problems: Pending[] = [];
  const playbook = build(r.data, problems);
  if (problems.length > 0) return { ok: false, errors: problems.slice(0, 20).map(locate) };
  return { ok: true, playbook };
}

function build(f: z.output<typeof playbookFileSchema>, problems: Pending[]): Playbook {
  const expr = (source: string, path: (string | number)[], want: 'any' | 'bool' = 'any'): CelExpression => {
    const c = compileExpression(source, want);
    if (!c.ok) {
      problems.push({ path, message: c.message });
      return { source, program: undefined as never };
    }
    return c.expr;
  };
  const template = (source: string, path: (string | number)[]): Template => {
    const c = compileTemplate(source);
    if (!c.ok) {
      problems.push({ path, message: c.message });
      return { source, parts: [source] };
    }
    return c.template;
  };
  const valueOf = (v: RawValue, path: (string | number)[]) => (typeof v === 'string' ? template(v, path) : v);
  const inputs: Record<string, InputSpec> = {};
  for (const [name, i] of Object.entries(f.inputs)) {
    inputs[name] = {
      type: i.type,
      required: i.required,
      description: i.description,
      ...(i.default !== undefined ? { default: i.default } : {}),
      ...(i.from !== undefined ? { from: expr(i.from, ['inputs', name, 'from']) } : {}),
    };
    if (i.from !== undefined && f.trigger.signal === undefined)
      problems.push({
        path: ['inputs', name, 'from'],
        message: '`from` reads the triggering signal; add trigger.signal, or remove `from`',
      });
  }
  const steps: Step[] = [];
  const seen = new Set<string>();
  const makeStep = (s: RawStep, path: (string | number)[], guards: Step['guards']): Step => {
    const kind: StepKind = KIND_KEYS.find((k) => s[k] !== undefined)!;
    const stepMode = modeOf(kind, s.mode, [...path, 'mode'], problems);
    const step: Step = {
      id: s.id,
      title: s.title ?? s.id,
      instructions: s.instructions,
      kind,
      mode: stepMode,
      path,
      guards,
      timeoutMs: ms(s.timeout),
      retry: { attempts: s.retry.attempts, backoffMs: ms(s.retry.backoff), maxBackoffMs: ms(s.retry.maxBackoff) },
      ...(s.assignee !== undefined ? { assignee: s.assignee } : {}),
    };
    if (s.http) {
      const h = s.http;
      const body = h.body;
      if (body !== undefined) {
        const p = checkJsonTemplates(body, [...path, 'http', 'body']);
        if (p) problems.push(p);
      }
      if (!/^https?:\/\//i.test(h.url) && !h.url.startsWith('${{'))
        problems.push({ path: [...path, 'http', 'url'], message: `url '${h.url}' must start with http:// or https://` });
      step.http = {
        method: h.method,
        url: template(h.url, [...path, 'http', 'url']),
        headers: Object.fromEntries(Object.entries(h.headers).map(([k, v]) => [k, valueOf(v, [...path, 'http', 'headers', k])])),
        ...(body !== undefined ? { body } : {}),
        expectStatus: h.expectStatus ?? [],
      };
    }
    if (s.notify) {
      const n = s.notify;
      if (!/^https?:\/\//i.test(n.url))
        problems.push({ path: [...path, 'notify', 'url'], message: `url '${n.url}' must start with http:// or https://` });
      template(n.message, [...path, 'notify', 'message']);
      step.http = {
        method: 'POST',
        url: template(n.url, [...path, 'notify', 'url']),
        headers: Object.fromEntries(Object.entries(n.headers).map(([k, v]) => [k, valueOf(v, [...path, 'notify', 'headers', k])])),
        body: { text: n.message, playbook: '${{ run.playbook }}', run: '${{ run.id }}', step: s.id },
        expectStatus: [],
      };
    }
    if (s.set) step.set = Object.fromEntries(Object.entries(s.set).map(([k, v]) => [k, expr(v, [...path, 'set', k])]));
    if (typeof s.wait === 'string') step.waitMs = ms(s.wait);
    else if (s.wait !== undefined)
      step.waitSignal = {
        match: expr(s.wait.signal, [...path, 'wait', 'signal'], 'bool'),
        timeoutMs: ms(s.wait.timeout),
        onTimeout: s.wait.onTimeout,
      };
    if (s.approval) {
      const a = s.approval;
      step.approval = {
        summary: template(a.summary ?? `Playbook ${f.name}, step ${s.title ?? s.id}`, [...path, 'approval', 'summary']),
        policy: {
          rules: a.rules,
          ...(a.denials !== undefined ? { denials: a.denials } : {}),
          expiresInMinutes: Math.max(1, Math.ceil(ms(a.expiresIn) / 60_000)),
        },
      };
    }
    if (s.checklist) step.items = s.checklist;
    if (s.process) {
      const p = s.process;
      const at = [...path, 'process'];
      if (!p.path.startsWith('/') && !p.path.startsWith('${{'))
        problems.push({
          path: [...at, 'path'],
          message: `path '${p.path}' must be absolute (the server's allow-list names absolute paths)`,
        });
      // A value put into a shell's command line is read by the shell (quotes, `;`, `$(…)`): a run's
      // inputs or a signal's fields would become commands. Expressions go in argv, one value an argument.
      if (typeof p.arguments === 'string' && p.arguments.includes('${{'))
        problems.push({
          path: [...at, 'arguments'],
          message:
            'a command line for /bin/sh cannot hold expressions: the shell would read a value as code; give arguments as a list (argv), one value per argument',
        });
      step.process = {
        path: template(p.path, [...at, 'path']),
        arguments:
          typeof p.arguments === 'string'
            ? { kind: 'shell', line: template(p.arguments, [...at, 'arguments']) }
            : { kind: 'argv', argv: p.arguments.map((a, i) => template(a, [...at, 'arguments', i])) },
        env: Object.fromEntries(Object.entries(p.env).map(([k, v]) => [k, valueOf(v, [...at, 'env', k])])),
        expectStatus: p.expectStatus ?? [0],
      };
    }
    if (s.incident || s.case) step.incidentOp = incidentOpOf(s, path, template);
    if (s['run-experiment']) {
      const e = s['run-experiment'];
      step.experiment = {
        name: e.name,
        vars: Object.fromEntries(Object.entries(e.vars).map(([k, v]) => [k, template(v, [...path, 'run-experiment', 'vars', k])])),
        expect: e.expect,
        withinMs: ms(e.within),
      };
    }
    const actions = (sub: RawStep, at: (string | number)[], what: string): Step => {
      const b = makeStep(sub, at, []);
      if (b.kind !== 'http' && b.kind !== 'notify' && b.kind !== 'set')
        problems.push({ path: at, message: `${what} does an http, notify or set step, not ${b.kind}` });
      return { ...b, mode: step.mode };
    };
    if (s.forEach)
      step.forEach = {
        items: expr(s.forEach.items, [...path, 'forEach', 'items']),
        max: s.forEach.max,
        body: actions(s.forEach.do, [...path, 'forEach', 'do'], 'a forEach'),
      };
    if (s.parallel) {
      const ids = new Set<string>();
      step.parallel = s.parallel.map((b, j) => {
        if (ids.has(b.id))
          problems.push({ path: [...path, 'parallel', j, 'id'], message: `branch id '${b.id}' is used twice in this parallel` });
        ids.add(b.id);
        return actions(b, [...path, 'parallel', j], 'a parallel branch');
      });
    }
    return step;
  };
  const walk = (raw: RawStep[], base: (string | number)[], guards: Step['guards']) => {
    raw.forEach((s, i) => {
      const path = [...base, i];
      if (seen.has(s.id)) problems.push({ path: [...path, 'id'], message: `step id '${s.id}' is used twice; give each step its own id` });
      seen.add(s.id);
      const step = makeStep(s, path, guards);
      steps.push(step);
      if (s.playbook) {
        if (s.playbook.name === f.name)
          problems.push({ path: [...path, 'playbook', 'name'], message: `playbook ${f.name} cannot call itself (a cycle)` });
        step.call = {
          name: s.playbook.name,
          inputs: Object.fromEntries(Object.entries(s.playbook.inputs).map(([k, v]) => [k, expr(v, [...path, 'playbook', 'inputs', k])])),
        };
      }
      if (s.if) {
        step.condition = expr(s.if.condition, [...path, 'if', 'condition'], 'bool');
        walk(s.if.then, [...path, 'if', 'then'], [...guards, { step: s.id, branch: true }]);
        walk(s.if.else, [...path, 'if', 'else'], [...guards, { step: s.id, branch: false }]);
      }
      if (s.switch) {
        step.switch = { value: expr(s.switch.value, [...path, 'switch', 'value']), cases: Object.keys(s.switch.cases) };
        if (Object.hasOwn(s.switch.cases, 'default'))
          problems.push({ path: [...path, 'switch', 'cases', 'default'], message: 'the default branch is switch.default, not a case' });
        for (const [k, sub] of Object.entries(s.switch.cases))
          walk(sub, [...path, 'switch', 'cases', k], [...guards, { step: s.id, branch: k }]);
        walk(s.switch.default, [...path, 'switch', 'default'], [...guards, { step: s.id, branch: 'default' }]);
      }
    });
  };
  walk(f.steps, ['steps'], []);
  if (steps.length > 200)
    problems.push({ path: ['steps'], message: `the playbook has ${steps.length} steps with those inside ifs; keep it to 200` });
  return {
    name: f.name,
    title: f.title ?? f.name,
    description: f.description,
    ...(f.owner !== undefined ? { owner: f.owner } : {}),
    trigger: {
      manual: f.trigger.manual,
      ...(f.trigger.signal !== undefined ? { signal: expr(f.trigger.signal, ['trigger', 'signal'], 'bool') } : {}),
      ...(f.trigger.schedule !== undefined ? { schedule: scheduleOf(f.trigger.schedule, problems) } : {}),
    },
    inputs,
    automateAfter: f.automateAfter,
    allowHosts: f.safety?.allowHosts ?? [...LOOPBACK_HOSTS],
    steps,
  };
}

/** An `incident` or `case` step's operation, its texts compiled as templates. */
function incidentOpOf(
  s: RawStep,
  path: (string | number)[],
  template: (source: string, path: (string | number)[]) => Template,
): IncidentOp {
  const at = (...p: string[]) => [...path, ...p];
  const opt = (v: string | undefined, ...p: string[]) => (v !== undefined ? template(v, at(...p)) : undefined);
  const i = s.incident;
  if (i?.open)
    return {
      op: 'open',
      title: template(i.open.title, at('incident', 'open', 'title')),
      severity: template(i.open.severity, at('incident', 'open', 'severity')),
      priority: template(i.open.priority, at('incident', 'open', 'priority')),
      restricted: i.open.restricted,
    };
  if (i?.note)
    return {
      op: 'note',
      incident: template(i.note.incident, at('incident', 'note', 'incident')),
      text: template(i.note.text, at('incident', 'note', 'text')),
    };
  if (i?.status) {
    const note = opt(i.status.note, 'incident', 'status', 'note');
    return {
      op: 'status',
      incident: template(i.status.incident, at('incident', 'status', 'incident')),
      to: template(i.status.to, at('incident', 'status', 'to')),
      ...(note ? { note } : {}),
    };
  }
  if (i?.task) {
    const owner = opt(i.task.owner, 'incident', 'task', 'owner');
    return {
      op: 'task',
      incident: template(i.task.incident, at('incident', 'task', 'incident')),
      title: template(i.task.title, at('incident', 'task', 'title')),
      ...(owner ? { owner } : {}),
      ...(i.task.dueIn !== undefined ? { dueInMs: ms(i.task.dueIn) } : {}),
    };
  }
  const c = s.case!;
  if (c.acknowledge) return { op: 'acknowledge-case', case: template(c.acknowledge.case, at('case', 'acknowledge', 'case')) };
  if (c.close) {
    const note = opt(c.close.note, 'case', 'close', 'note');
    return {
      op: 'close-case',
      case: template(c.close.case, at('case', 'close', 'case')),
      resolution: template(c.close.resolution, at('case', 'close', 'resolution')),
      ...(note ? { note } : {}),
    };
  }
  const e = c.escalate!;
  const title = opt(e.title, 'case', 'escalate', 'title');
  return {
    op: 'escalate-case',
    case: template(e.case, at('case', 'escalate', 'case')),
    severity: template(e.severity, at('case', 'escalate', 'severity')),
    priority: template(e.priority, at('case', 'escalate', 'priority')),
    ...(title ? { title } : {}),
  };
}

function scheduleOf(source: string, problems: Pending[]): { source: string; cron: Cron } {
  const c = tryParseCron(source);
  if (!c.ok) {
    problems.push({ path: ['trigger', 'schedule'], message: c.message });
    return { source, cron: undefined as never };
  }
  return { source, cron: c.cron };
}

/**
 * The kinds whose mode is fixed, and that mode: what a person does by hand (`checklist`) stays
 * manual; the engine's own logic (`set`, `if`, `switch`, `wait`, `playbook`) and an `approval`
 * (its approvers are the people) are always automatic. Every other kind's mode is a choice.
 */
const FIXED_MODES: ReadonlyMap<StepKind, StepMode> = new Map<StepKind, StepMode>([
  ['checklist', 'manual'],
  ['set', 'auto'],
  ['if', 'auto'],
  ['switch', 'auto'],
  ['wait', 'auto'],
  ['approval', 'auto'],
  ['playbook', 'auto'],
]);

/** Whether a step kind's mode is chosen by the file (and so may become `auto` only by the two-person rule). */
export const modeIsChoice = (kind: StepKind): boolean => !FIXED_MODES.has(kind);

function modeOf(kind: StepKind, given: StepMode | undefined, path: (string | number)[], problems: Pending[]): StepMode {
  const fixed = FIXED_MODES.get(kind);
  if (fixed === undefined) return given ?? 'manual';
  if (given !== undefined && given !== fixed)
    problems.push({
      path,
      message:
        kind === 'checklist'
          ? 'a checklist is done by a person: its mode is manual'
          : kind === 'approval'
            ? 'an approval step waits for its approvers (bulwark approvals): its mode is auto'
            : `a ${kind} step is Bulwark's own logic: its mode is auto`,
    });
  return fixed;
}

/**
 * A union's issue (`wait`'s two forms) as the issues of the form the input was meant for: the
 * branch that got past the type check, or one message naming both forms.
 */
function unwrapUnion(i: z.core.$ZodIssue): Pending[] {
  const path = i.path as (string | number)[];
  if (i.code !== 'invalid_union') return [{ path, message: i.message }];
  const branch = i.errors.find((b) => !b.some((e) => e.code === 'invalid_type' && e.path.length === 0));
  if (!branch) return [{ path, message: WAIT_FORMS }];
  return branch.map((e) => ({ path: [...path, ...(e.path as (string | number)[])], message: e.message }));
}

/** Where in the text a path points: its node, or the nearest one above it that exists. */
function offsetOf(doc: Document.Parsed, path: (string | number)[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return node.range[0];
  }
  return 0;
}

/** The same file with one step's mode changed, its layout and comments kept (promotion writes it). */
export function withStepMode(textIn: string, stepPath: (string | number)[], newMode: StepMode): string {
  const read = parseYamlBounded(textIn);
  if (!read.ok) throw new Error('withStepMode: the file no longer parses');
  read.doc.setIn([...stepPath, 'mode'], newMode);
  return read.doc.toString({ lineWidth: 0 });
}

/** Values for a run's inputs: given ones checked against their type, defaults filled, required ones present. */
export function resolveInputs(
  pb: Playbook,
  given: Record<string, unknown>,
): { ok: true; values: Record<string, unknown> } | { ok: false; message: string } {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(given))
    if (!Object.hasOwn(pb.inputs, k))
      return {
        ok: false,
        message: `input '${k}' is not declared by playbook ${pb.name}; it takes ${Object.keys(pb.inputs).join(', ') || 'no inputs'}`,
      };
  for (const [name, spec] of Object.entries(pb.inputs)) {
    const v = (Object.hasOwn(given, name) ? given[name] : undefined) ?? spec.default;
    if (v === undefined || v === null) {
      if (spec.required)
        return { ok: false, message: `input '${name}' is required (${spec.type}${spec.description ? `: ${spec.description}` : ''})` };
      continue;
    }
    const t = spec.type === 'object' ? (typeof v === 'object' && !Array.isArray(v) ? 'object' : typeof v) : typeof v;
    if (t !== spec.type)
      return { ok: false, message: `input '${name}' is a ${spec.type}, not ${Array.isArray(v) ? 'an array' : `a ${typeof v}`}` };
    out[name] = v;
  }
  return { ok: true, values: out };
}
