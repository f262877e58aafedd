/**
 * Expressions in playbooks: CEL over `inputs`, `steps` (each done step's outputs by step id),
 * `trigger` (the signal that started the run, or null) and `run` ({ id, playbook, version }).
 * Strings elsewhere in a step (a URL, a header, a body's strings) are templates: `${{ expr }}`
 * parts are replaced by the value of the expression; a string that is one `${{ expr }}` and
 * nothing else takes the value with its type. Expressions are parsed and checked when the file
 * is read; an error while evaluating is a value, never a throw.
 */
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { toCel } from '../cel-values.ts';

export interface CelExpression {
  readonly source: string;
  readonly program: ParseResult;
}

/** A string with `${{ … }}` parts, or a plain string. */
export interface Template {
  readonly source: string;
  /** Literal text and expressions, in order. */
  readonly parts: readonly (string | CelExpression)[];
}

export interface ExprContext {
  inputs: Record<string, unknown>;
  steps: Record<string, unknown>;
  trigger: unknown;
  run: { id: string; playbook: string; version: number };
  /** `signal` in expressions: the signal a `wait` looks at; the trigger when absent. */
  signal?: unknown;
  /** In a `forEach` body: the item and its index (null elsewhere). */
  item?: unknown;
  index?: number;
}

const MAX_SOURCE = 4096;

const env = new Environment({ homogeneousAggregateLiterals: false, limits: { maxAstNodes: 2000, maxDepth: 32 } })
  .registerVariable('inputs', 'map<string, dyn>')
  .registerVariable('steps', 'map<string, dyn>')
  .registerVariable('trigger', 'dyn')
  .registerVariable('signal', 'dyn')
  .registerVariable('run', 'map<string, dyn>')
  .registerVariable('item', 'dyn')
  .registerVariable('index', 'dyn');

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

/** Parse and check an expression; the message says what to fix. `bool` demands a boolean result. */
export function compileExpression(
  source: string,
  want: 'any' | 'bool' = 'any',
): { ok: true; expr: CelExpression } | { ok: false; message: string } {
  if (typeof source !== 'string' || source.trim() === '')
    return { ok: false, message: 'the expression is empty; write e.g. steps.block.status == 200' };
  if (source.length > MAX_SOURCE) return { ok: false, message: `the expression is longer than ${MAX_SOURCE} characters` };
  let program: ParseResult;
  try {
    program = env.parse(source);
  } catch (e) {
    return { ok: false, message: `CEL syntax error in '${source}': ${firstLine(e)}` };
  }
  let checked: ReturnType<ParseResult['check']>;
  try {
    checked = program.check();
  } catch (e) {
    return { ok: false, message: `CEL type error in '${source}': ${firstLine(e)}` };
  }
  if (!checked.valid) {
    const m = firstLine(checked.error);
    const hint = /Unknown variable/.test(m)
      ? ' (the variables are inputs, steps, trigger, signal, run, and item and index in a forEach)'
      : '';
    return { ok: false, message: `CEL error in '${source}': ${m}${hint}` };
  }
  if (want === 'bool' && checked.type !== 'bool' && checked.type !== 'dyn')
    return { ok: false, message: `'${source}' yields ${checked.type}, not a bool; compare it, e.g. ${source} == …` };
  return { ok: true, expr: { source, program } };
}

const TEMPLATE = /\$\{\{([\s\S]*?)\}\}/g;

/** Parse a template string; each `${{ … }}` part compiled. */
export function compileTemplate(source: string): { ok: true; template: Template } | { ok: false; message: string } {
  const parts: (string | CelExpression)[] = [];
  let last = 0;
  for (const m of source.matchAll(TEMPLATE)) {
    if (m.index > last) parts.push(source.slice(last, m.index));
    const c = compileExpression(m[1]!.trim());
    if (!c.ok) return c;
    parts.push(c.expr);
    last = m.index + m[0].length;
  }
  if (last < source.length) parts.push(source.slice(last));
  if (parts.some((p) => typeof p === 'string' && p.includes('${{')))
    return { ok: false, message: `'${source}' opens a \${{ without closing it with }}` };
  return { ok: true, template: { source, parts } };
}

/** CEL values back to JSON: BigInts to numbers, maps to objects, other types to their text. */
export function fromCel(v: unknown, depth = 0): unknown {
  if (depth > 64) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map((x) => fromCel(x, depth + 1));
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), fromCel(x, depth + 1)]));
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromCel(x, depth + 1)]));
  return typeof v === 'undefined' ? null : typeof v === 'symbol' || typeof v === 'function' ? null : (JSON.stringify(v) ?? null);
}

export type Evaluated = { ok: true; value: unknown } | { ok: false; message: string };

function celContext(ctx: ExprContext) {
  return {
    inputs: toCel(ctx.inputs),
    steps: toCel(ctx.steps),
    trigger: toCel(ctx.trigger ?? null),
    signal: toCel((ctx.signal !== undefined ? ctx.signal : ctx.trigger) ?? null),
    run: toCel(ctx.run),
    item: toCel(ctx.item ?? null),
    index: toCel(ctx.index ?? null),
  };
}

/** Evaluate an expression; an error (a missing key, a bad type) is a value naming the expression. */
export function evaluate(expr: CelExpression, ctx: ExprContext): Evaluated {
  try {
    return { ok: true, value: fromCel(expr.program(celContext(ctx))) };
  } catch (e) {
    return { ok: false, message: `'${expr.source}' failed: ${firstLine(e)}` };
  }
}

/**
 * A template's value: the one expression's value when it is nothing else, else the text. With
 * `encode` (a URL), every expression's value is encoded into the text, even when it is the
 * whole template: a value never supplies the scheme, host, path or query of a URL.
 */
export function render(t: Template, ctx: ExprContext, encode?: (s: string) => string): Evaluated {
  if (!encode && t.parts.length === 1 && typeof t.parts[0] !== 'string') return evaluate(t.parts[0]!, ctx);
  let out = '';
  for (const p of t.parts) {
    if (typeof p === 'string') out += p;
    else {
      const v = evaluate(p, ctx);
      if (!v.ok) return v;
      const s = typeof v.value === 'string' ? v.value : JSON.stringify(v.value);
      out += encode ? encode(s) : s;
    }
  }
  return { ok: true, value: out };
}

/** A JSON value whose strings are templates, rendered; the first failure. */
export function renderJson(v: unknown, ctx: ExprContext, depth = 0): Evaluated {
  if (depth > 32) return { ok: false, message: 'the body nests too deeply' };
  if (typeof v === 'string') {
    const t = compileTemplate(v);
    return t.ok ? render(t.template, ctx) : t;
  }
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const x of v) {
      const r = renderJson(x, ctx, depth + 1);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = renderJson(x, ctx, depth + 1);
      if (!r.ok) return r;
      out[k] = r.value;
    }
    return { ok: true, value: out };
  }
  return { ok: true, value: v };
}

/** Every template string inside a JSON value, compiled; the first problem with its path. */
export function checkJsonTemplates(
  v: unknown,
  path: (string | number)[] = [],
  depth = 0,
): { path: (string | number)[]; message: string } | undefined {
  if (depth > 32) return { path, message: 'the body nests too deeply' };
  if (typeof v === 'string') {
    const t = compileTemplate(v);
    return t.ok ? undefined : { path, message: t.message };
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = checkJsonTemplates(v[i], [...path, i], depth + 1);
      if (p) return p;
    }
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const p = checkJsonTemplates(x, [...path, k], depth + 1);
      if (p) return p;
    }
  }
  return undefined;
}
