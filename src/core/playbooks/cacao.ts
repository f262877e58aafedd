/**
 * OASIS CACAO Security Playbooks v2.0 in and out (docs/playbooks.md, "CACAO v2"). Import reads a
 * CACAO JSON playbook and writes the Bulwark playbook file it maps to: `start` and `end`, `action`
 * steps with `manual` commands (a checklist) and `http-api` commands (an `http` step each, in mode
 * manual: done by hand first, automated by promotion), `if-condition` and `switch-condition`
 * whose condition or switch is a CEL expression, `parallel` over single `http-api` actions, and
 * `playbook_variables` (inputs). Whatever else is refused with a message naming the element. Export
 * writes a Bulwark playbook as CACAO: the same elements the other way; a step kind with no CACAO
 * counterpart is refused by name. Pure: no clock (the timestamps come from the caller).
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { z } from 'zod';
import { compileExpression } from './expressions.ts';
import { parsePlaybookFile } from './playbook-file.ts';
import type { Playbook, Step } from './types.ts';

export const MAX_CACAO_LENGTH = 1_000_000;
const MAX_ELEMENTS = 200;

type Result<T> = { ok: true; value: T } | { ok: false; errors: string[] };

const element = z.looseObject({
  type: z.string().max(100),
  name: z.string().max(500).optional(),
  description: z.string().max(4000).optional(),
  on_completion: z.string().max(200).optional(),
  on_success: z.string().max(200).optional(),
  on_failure: z.string().max(200).optional(),
  on_true: z.string().max(200).optional(),
  on_false: z.string().max(200).optional(),
  condition: z.string().max(4096).optional(),
  switch: z.string().max(4096).optional(),
  cases: z.record(z.string().max(100), z.string().max(200)).optional(),
  next_steps: z.array(z.string().max(200)).max(20).optional(),
  commands: z
    .array(
      z.looseObject({
        type: z.string().max(100),
        command: z.string().max(8192).optional(),
        description: z.string().max(4000).optional(),
        headers: z.record(z.string().max(100), z.array(z.string().max(4096)).max(10)).optional(),
        content: z.string().max(65536).optional(),
        content_b64: z.string().max(100_000).optional(),
      }),
    )
    .max(50)
    .optional(),
  targets: z.array(z.string().max(200)).max(10).optional(),
});

const cacaoSchema = z.looseObject({
  type: z.literal('playbook', 'a CACAO playbook has "type": "playbook"'),
  spec_version: z.literal('cacao-2.0', 'only CACAO 2.0 is read ("spec_version": "cacao-2.0")'),
  id: z.string().max(200),
  name: z.string().min(1).max(500),
  description: z.string().max(4000).optional(),
  workflow_start: z.string().max(200),
  workflow: z.record(z.string().max(200), element),
  target_definitions: z
    .record(
      z.string().max(200),
      z.looseObject({
        type: z.string().max(100),
        address: z.record(z.string().max(20), z.array(z.string().max(500)).max(10)).optional(),
        port: z.string().max(10).optional(),
      }),
    )
    .optional(),
  playbook_variables: z
    .record(
      z.string().max(200),
      z.looseObject({ type: z.string().max(50), description: z.string().max(1000).optional(), value: z.unknown().optional() }),
    )
    .optional(),
});
type Element = z.output<typeof element>;

const slug = (s: string, max = 40) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, max) || 'step';

/** Import: the Bulwark playbook file (YAML) a CACAO v2 JSON playbook maps to, or every element refused. */
export function importCacao(text: string): Result<{ name: string; file: string }> {
  if (text.length > MAX_CACAO_LENGTH) return { ok: false, errors: [`the file is longer than ${MAX_CACAO_LENGTH} characters`] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, errors: [`not JSON: ${(e as Error).message}`] };
  }
  const r = cacaoSchema.safeParse(raw);
  if (!r.success) return { ok: false, errors: r.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
  const c = r.data;
  if (Object.keys(c.workflow).length > MAX_ELEMENTS) return { ok: false, errors: [`the workflow has more than ${MAX_ELEMENTS} elements`] };
  const errors: string[] = [];
  const ids = new Set<string>();
  const stepId = (el: Element, key: string) => {
    const base = /^[a-z]/.test(slug(el.name ?? '')) ? slug(el.name ?? '') : `s_${slug(el.name ?? key)}`;
    let id = base;
    for (let n = 2; ids.has(id); n++) id = `${base}_${n}`;
    ids.add(id);
    return id;
  };
  const visited = new Set<string>();
  const get = (key: string, from: string): Element | undefined => {
    // Own keys only: `constructor` or `toString` is not an element because every object has one.
    const el = Object.hasOwn(c.workflow, key) ? c.workflow[key] : undefined;
    if (!el) errors.push(`${from} points to ${key}, which is not in the workflow`);
    return el;
  };
  const httpStep = (el: Element, key: string, cmd: NonNullable<Element['commands']>[number]): Record<string, unknown> | undefined => {
    const m = /^(GET|POST|PUT|PATCH|DELETE)\s+(.+?)(\s+HTTP\/?[0-9.]+)?$/i.exec((cmd.command ?? '').trim());
    if (!m) {
      errors.push(`action ${key}: http-api command '${(cmd.command ?? '').slice(0, 80)}' is not "METHOD PATH HTTP/1.1"`);
      return undefined;
    }
    let url = m[2]!;
    if (!/^https?:\/\//i.test(url)) {
      const target = (el.targets ?? [])
        .map((t) => (c.target_definitions && Object.hasOwn(c.target_definitions, t) ? c.target_definitions[t] : undefined))
        .find((t) => t?.type === 'http-api');
      const host = target?.address?.dname?.[0] ?? target?.address?.ipv4?.[0] ?? target?.address?.url?.[0];
      if (!host) {
        errors.push(`action ${key}: http-api command '${m[0]}' has a path but no http-api target with an address`);
        return undefined;
      }
      const port = target?.port;
      const scheme = port === '80' || port === '8080' || /^https?:/.test(host) ? 'http' : 'https';
      const origin = /^https?:\/\//.test(host)
        ? host.replace(/\/$/, '')
        : `${scheme}://${host}${port && !['80', '443'].includes(port) ? `:${port}` : ''}`;
      url = `${origin}${url.startsWith('/') ? '' : '/'}${url}`;
    }
    const headers = Object.fromEntries(Object.entries(cmd.headers ?? {}).map(([k, v]) => [k, v.join(', ')]));
    let body: unknown;
    const content = cmd.content ?? (cmd.content_b64 !== undefined ? Buffer.from(cmd.content_b64, 'base64').toString('utf8') : undefined);
    if (content !== undefined && content !== '') {
      try {
        body = JSON.parse(content);
      } catch {
        body = content;
      }
    }
    return {
      method: m[1]!.toUpperCase(),
      url,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(body !== undefined ? { body } : {}),
    };
  };
  const cel = (source: string, key: string, what: string): string | undefined => {
    const x = compileExpression(source);
    if (x.ok) return source;
    errors.push(
      `${key}: its ${what} '${source.slice(0, 80)}' is not an expression Bulwark can evaluate (${x.message}); CACAO conditions are mapped only when they are CEL`,
    );
    return undefined;
  };
  /** The chain of steps from `key` until an end, a dead end, or `stop` (the join after a branch). */
  const chain = (start: string | undefined, from: string, stop?: string): Record<string, unknown>[] => {
    const out: Record<string, unknown>[] = [];
    let key = start;
    let prev = from;
    while (key !== undefined && key !== stop) {
      if (visited.has(key)) {
        errors.push(
          `${key} is reached twice (a loop, or branches that join elsewhere than their condition's on_completion); it cannot be mapped`,
        );
        return out;
      }
      visited.add(key);
      const el = get(key, prev);
      if (!el) return out;
      const common = (id: string) => ({
        id,
        ...(el.name ? { title: el.name.slice(0, 200) } : {}),
        ...(el.description ? { instructions: el.description.slice(0, 4000) } : {}),
      });
      switch (el.type) {
        case 'start':
          break;
        case 'end':
          return out;
        case 'action': {
          const cmds = el.commands ?? [];
          if (cmds.length === 0) errors.push(`action ${key} has no commands`);
          const manual = cmds.filter((x) => x.type === 'manual');
          const other = cmds.filter((x) => x.type !== 'manual' && x.type !== 'http-api');
          for (const x of other)
            errors.push(
              `action ${key}: a ${x.type} command cannot be mapped${x.type === 'bash' ? ' (Bulwark has no process step yet; run it as a manual command)' : ''}`,
            );
          if (manual.length > 0)
            out.push({
              ...common(stepId(el, key)),
              checklist: manual.map((x) => (x.command ?? x.description ?? 'Do it').slice(0, 500)),
            });
          for (const x of cmds.filter((y) => y.type === 'http-api')) {
            const h = httpStep(el, key, x);
            if (h) out.push({ ...common(stepId(el, key)), http: h });
          }
          break;
        }
        case 'if-condition': {
          const cond = cel(el.condition ?? '', key, 'condition');
          const id = stepId(el, key);
          const then = chain(el.on_true, key, el.on_completion);
          const otherwise = chain(el.on_false, key, el.on_completion);
          if (cond) out.push({ ...common(id), if: { condition: cond, then, else: otherwise } });
          break;
        }
        case 'switch-condition': {
          const value = cel(el.switch ?? '', key, 'switch');
          const id = stepId(el, key);
          const cases: Record<string, unknown[]> = {};
          let dflt: unknown[] = [];
          for (const [k, target] of Object.entries(el.cases ?? {})) {
            if (k === 'default') dflt = chain(target, key, el.on_completion);
            else cases[k] = chain(target, key, el.on_completion);
          }
          if (Object.keys(cases).length === 0) errors.push(`switch-condition ${key} has no cases`);
          if (value) out.push({ ...common(id), switch: { value, cases, default: dflt } });
          break;
        }
        case 'parallel': {
          const branches: Record<string, unknown>[] = [];
          for (const b of el.next_steps ?? []) {
            const sub = chain(b, key, el.on_completion);
            const only = sub.length === 1 ? sub[0]! : undefined;
            if (!only || (!only.http && !only.set))
              errors.push(`parallel ${key}: branch ${b} must be one action with one http-api command to be mapped`);
            else branches.push({ id: only.id, http: only.http });
          }
          if (branches.length >= 2) out.push({ ...common(stepId(el, key)), parallel: branches });
          else errors.push(`parallel ${key} needs at least two branches`);
          break;
        }
        case 'while-condition':
          errors.push(`while-condition ${key} cannot be mapped: Bulwark runs only bounded loops (forEach over a list)`);
          return out;
        case 'playbook-action':
          errors.push(`playbook-action ${key} cannot be mapped yet: import the called playbook and use a playbook step`);
          break;
        default:
          errors.push(`${key}: a workflow step of type ${el.type} cannot be mapped`);
      }
      prev = key;
      key = el.type === 'start' ? el.on_completion : (el.on_completion ?? el.on_success);
    }
    return out;
  };
  const steps = chain(c.workflow_start, 'workflow_start');
  const inputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.playbook_variables ?? {})) {
    const nameOf = k.replace(/^__|__$/g, '').replace(/[^a-zA-Z0-9_]/g, '_');
    if (!/^[a-z_][a-zA-Z0-9_]{0,62}$/.test(nameOf)) {
      errors.push(`playbook variable ${k}: its name cannot be an input name`);
      continue;
    }
    const type =
      v.type === 'integer' || v.type === 'long'
        ? 'number'
        : v.type === 'bool' || v.type === 'boolean'
          ? 'boolean'
          : v.type === 'dictionary'
            ? 'object'
            : 'string';
    inputs[nameOf] = {
      type,
      ...(v.description ? { description: v.description.slice(0, 1000) } : {}),
      ...(v.value !== undefined && v.value !== '' && (type !== 'number' || typeof v.value === 'number') ? { default: v.value } : {}),
    };
  }
  if (steps.length === 0 && errors.length === 0) errors.push('the workflow has no action to map');
  if (errors.length > 0) return { ok: false, errors: errors.slice(0, 20) };
  const name = `cacao-${slug(c.name, 50).replace(/_/g, '-')}`.replace(/-+$/, '');
  const file = stringify(
    {
      apiVersion: 'bulwark/v1',
      kind: 'Playbook',
      name,
      title: c.name.slice(0, 200),
      description: `${c.description ?? ''}\n(imported from CACAO ${c.id})`.trim().slice(0, 4000),
      ...(Object.keys(inputs).length > 0 ? { inputs } : {}),
      ...(hostsOf(steps).length > 0 ? { safety: { allowHosts: hostsOf(steps) } } : {}),
      steps,
    },
    { lineWidth: 0 },
  );
  const check = parsePlaybookFile(file);
  if (!check.ok) return { ok: false, errors: check.errors.map((e) => `the playbook it maps to is refused at ${e.path}: ${e.message}`) };
  return { ok: true, value: { name, file } };
}

function hostsOf(steps: unknown[]): string[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.http && typeof (o.http as { url?: unknown }).url === 'string') {
        try {
          out.add(new URL((o.http as { url: string }).url).hostname.replace(/^\[|\]$/g, ''));
        } catch {
          // the parse that follows names a bad URL
        }
      }
      Object.values(o).forEach(walk);
    }
  };
  walk(steps);
  return [...out].sort();
}

/** A stable CACAO identifier: the type, `--`, a UUID derived from the playbook's name and what it names. */
const cacaoId = (type: string, ...parts: string[]) => {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${type}--${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** Export: a Bulwark playbook as a CACAO v2 playbook (JSON), or every step that has no CACAO counterpart. */
export function exportCacao(pb: Playbook, at: string): Result<Record<string, unknown>> {
  const errors: string[] = [];
  const workflow: Record<string, unknown> = {};
  const targets: Record<string, unknown> = {};
  const startId = cacaoId('start', pb.name, 'start');
  const endId = cacaoId('end', pb.name, 'end');
  const key = (s: Step) =>
    cacaoId(
      s.kind === 'if' ? 'if-condition' : s.kind === 'switch' ? 'switch-condition' : s.kind === 'parallel' ? 'parallel' : 'action',
      pb.name,
      s.id,
    );
  const branch = (guard: string | undefined, b?: boolean | string) =>
    pb.steps.filter((s) => {
      const last = s.guards.at(-1);
      return guard === undefined ? last === undefined : last?.step === guard && last.branch === b;
    });
  const httpCommand = (s: Step, url: string) => {
    const u = /^(https?:\/\/[^/?#]+)(.*)$/i.exec(url);
    if (!u || u[1]!.includes('${{')) {
      errors.push(`step ${s.id}: its url ${url} has expressions in its origin; CACAO needs a fixed target`);
      return undefined;
    }
    const origin = u[1]!;
    const tid = cacaoId('http-api', pb.name, origin);
    targets[tid] = { type: 'http-api', name: origin.replace(/^https?:\/\//i, ''), address: { url: [origin] } };
    const h = s.http!;
    return {
      command: {
        type: 'http-api',
        command: `${h.method} ${u[2] || '/'} HTTP/1.1`,
        ...(h.body !== undefined ? { content: JSON.stringify(h.body) } : {}),
        ...(Object.keys(h.headers).length > 0
          ? {
              headers: Object.fromEntries(
                Object.entries(h.headers).map(([k, v]) => {
                  if (!('source' in v)) {
                    errors.push(`step ${s.id}: header ${k} is the sealed secret ${v.secret}; CACAO has no reference to a sealed secret`);
                    return [k, []];
                  }
                  return [k, [v.source]];
                }),
              ),
            }
          : {}),
      },
      target: tid,
    };
  };
  /** Write the chain of steps; the key of its first element (or `next` when empty). */
  const write = (steps: Step[], next: string | undefined): string | undefined => {
    let after = next;
    for (const s of [...steps].reverse()) {
      const k = key(s);
      const base = {
        name: s.title,
        ...(s.instructions ? { description: s.instructions } : {}),
        ...(after ? { on_completion: after } : {}),
      };
      switch (s.kind) {
        case 'checklist':
          workflow[k] = { type: 'action', ...base, commands: s.items!.map((i) => ({ type: 'manual', command: i })) };
          break;
        case 'http':
        case 'notify': {
          if (s.kind === 'notify') {
            errors.push(`step ${s.id}: a notify step has no CACAO counterpart; write it as an http step to export it`);
            break;
          }
          const c = httpCommand(s, s.http!.url.source);
          if (c) workflow[k] = { type: 'action', ...base, commands: [c.command], targets: [c.target] };
          break;
        }
        case 'if':
          workflow[k] = {
            type: 'if-condition',
            ...base,
            condition: s.condition!.source,
            on_true: write(branch(s.id, true), undefined) ?? endId,
            ...(branch(s.id, false).length > 0 ? { on_false: write(branch(s.id, false), undefined) } : {}),
          };
          break;
        case 'switch': {
          const cases: Record<string, string> = {};
          for (const c of [...s.switch!.cases, 'default']) {
            const first = write(branch(s.id, c), undefined);
            if (first) cases[c] = first;
          }
          workflow[k] = { type: 'switch-condition', ...base, switch: s.switch!.value.source, cases };
          break;
        }
        case 'parallel': {
          const next_steps: string[] = [];
          for (const b of s.parallel!) {
            if (b.kind !== 'http') {
              errors.push(`step ${s.id}: branch ${b.id} is ${b.kind}; only http branches have a CACAO counterpart`);
              continue;
            }
            const c = httpCommand(b, b.http!.url.source);
            if (!c) continue;
            const bk = cacaoId('action', pb.name, s.id, b.id);
            workflow[bk] = { type: 'action', name: b.id, commands: [c.command], targets: [c.target] };
            next_steps.push(bk);
          }
          workflow[k] = { type: 'parallel', ...base, next_steps };
          break;
        }
        case 'set':
        case 'wait':
        case 'approval':
        case 'forEach':
        case 'playbook':
        case 'process':
        case 'incident':
        case 'case':
        case 'run-experiment':
          errors.push(`step ${s.id}: a ${s.kind} step has no CACAO counterpart`);
      }
      after = k;
    }
    return after;
  };
  const first = write(branch(undefined), endId);
  workflow[startId] = { type: 'start', name: 'Start', on_completion: first ?? endId };
  workflow[endId] = { type: 'end', name: 'End' };
  if (errors.length > 0) return { ok: false, errors: errors.slice(0, 20) };
  const variables = Object.fromEntries(
    Object.entries(pb.inputs).map(([n, i]) => [
      `__${n}__`,
      {
        type: i.type === 'number' ? 'integer' : i.type === 'object' ? 'dictionary' : i.type === 'boolean' ? 'bool' : 'string',
        ...(i.description ? { description: i.description } : {}),
        ...(i.default !== undefined ? { value: i.default } : {}),
        external: true,
      },
    ]),
  );
  return {
    ok: true,
    value: {
      type: 'playbook',
      spec_version: 'cacao-2.0',
      id: cacaoId('playbook', pb.name),
      name: pb.title,
      description: pb.description,
      created_by: 'identity--bulwark',
      created: at,
      modified: at,
      workflow_start: startId,
      workflow,
      ...(Object.keys(targets).length > 0 ? { target_definitions: targets } : {}),
      ...(Object.keys(variables).length > 0 ? { playbook_variables: variables } : {}),
    },
  };
}
