/**
 * JSON within bounds: nesting depth, number of values, and text that can be kept unchanged
 * (text.ts). The depth is checked on the text, by a linear scan, before JSON.parse, so no
 * recursion anywhere ever sees a deeper value; the parsed value is then walked without
 * recursion. Pure, and never recursive itself, whatever the input.
 */
import { DomainError, invalid } from '../errors.ts';
import { INPUT_LIMITS, type JsonLimits } from './limits.ts';
import { textProblem } from './text.ts';

export interface JsonOptions {
  /**
   * Refuse a `__proto__` key anywhere. JSON.parse keeps it as an own key (harmless), but code
   * that copies members by assignment would change a prototype instead: HTTP bodies refuse it,
   * as Fastify's own parser does.
   */
  refuseProtoKeys?: boolean;
}

/** Why a JSON input is refused: `syntax` when it is not JSON at all (reason: the parser's message). */
export type JsonRefusal = {
  ok: false;
  code: 'invalid' | 'payload_too_large';
  syntax: boolean;
  /** Reads after a subject: "nests deeper than 64 levels (at character 65); …". */
  reason: string;
  /** Where in the value (`$.alerts[0].labels.x`), when the refusal is about one value. */
  path?: string;
};

export type JsonRead = { ok: true; value: unknown } | JsonRefusal;

/** Parse JSON text within the limits; never throws. */
export function readJson(text: string, limits: JsonLimits = INPUT_LIMITS.json, options: JsonOptions = {}): JsonRead {
  if (limits.length !== undefined && text.length > limits.length) {
    return refuse('payload_too_large', `is longer than ${limits.length} characters; send less`);
  }
  const deep = deeperThan(text, limits.depth);
  if (deep !== undefined) {
    return refuse(
      'invalid',
      `nests deeper than ${limits.depth} levels (at character ${deep + 1}); send at most ${limits.depth} levels of arrays and objects`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    return { ok: false, code: 'invalid', syntax: true, reason: e instanceof Error ? e.message : 'not JSON' };
  }
  return walk(value, limits, options) ?? { ok: true, value };
}

/** Parse JSON text within the limits, or throw DomainError `invalid` (`payload_too_large` past limits.length) naming `what`. */
export function parseJsonBounded(
  text: string,
  limits: JsonLimits = INPUT_LIMITS.json,
  what = 'the JSON',
  options: JsonOptions = {},
): unknown {
  const r = readJson(text, limits, options);
  if (r.ok) return r.value;
  throw refusalError(r, what);
}

/** The same bounds for a value already parsed; undefined when it is within them. Never throws, never recurses. */
export function valueRefusal(value: unknown, limits: JsonLimits = INPUT_LIMITS.json, options: JsonOptions = {}): JsonRefusal | undefined {
  return walk(value, limits, options);
}

/** The same bounds for a value already parsed, or throw DomainError `invalid` naming `what`. */
export function checkValueBounded(
  value: unknown,
  limits: JsonLimits = INPUT_LIMITS.json,
  what = 'the value',
  options: JsonOptions = {},
): void {
  const r = walk(value, limits, options);
  if (r) throw refusalError(r, what);
}

/** The DomainError for a refusal: `${what} ${reason}`, or "… is not valid JSON: …" for a syntax error. */
export function refusalError(r: JsonRefusal, what: string): DomainError {
  if (r.syntax) return invalid(`${what} is not valid JSON: ${r.reason}`);
  const message = `${what} ${r.reason}`;
  return r.code === 'invalid' ? invalid(message, r.path !== undefined ? { path: r.path } : undefined) : new DomainError(r.code, message);
}

function refuse(code: JsonRefusal['code'], reason: string, path?: string): JsonRefusal {
  return path === undefined ? { ok: false, code, syntax: false, reason } : { ok: false, code, syntax: false, reason, path };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * The offset of the first bracket past `max` levels, or undefined. String-aware, so brackets
 * inside strings do not count; for valid JSON the depth it sees is exactly the value's depth.
 * What it says about text that is not JSON does not matter: JSON.parse refuses that next.
 */
export function deeperThan(text: string, max: number): number | undefined {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Skip the string: to the next quote not escaped by a backslash.
      for (i++; i < n; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return i;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return undefined;
}

/** One value still to visit, with what is needed to name its path if it is refused. */
interface Visit {
  value: unknown;
  depth: number;
  parent: Visit | undefined;
  key: string | number | undefined;
}

/** Count, depth and text of every value, iteratively; the first refusal, or undefined. */
function walk(root: unknown, limits: JsonLimits, options: JsonOptions): JsonRefusal | undefined {
  const stack: Visit[] = [{ value: root, depth: 0, parent: undefined, key: undefined }];
  // Counted as they are found, so that one huge array is refused without visiting all of it.
  let nodes = 1;
  const tooMany = () =>
    refuse('invalid', `holds more than ${limits.nodes} values (arrays, objects, strings, numbers, booleans and nulls); send fewer`);
  while (stack.length > 0) {
    const at = stack.pop()!;
    const v = at.value;
    switch (typeof v) {
      case 'string': {
        const problem = textProblem(v);
        if (problem !== undefined) return refuse('invalid', `has a string at ${pathOf(at)} that ${problem}`, pathOf(at));
        continue;
      }
      case 'number':
        if (!Number.isFinite(v))
          return refuse('invalid', `has ${v} at ${pathOf(at)}, which JSON cannot hold; send a finite number`, pathOf(at));
        continue;
      case 'boolean':
        continue;
      case 'object': {
        if (v === null) continue;
        const depth = at.depth + 1;
        if (depth > limits.depth) {
          return refuse(
            'invalid',
            `nests deeper than ${limits.depth} levels (at ${pathOf(at)}); send at most ${limits.depth} levels of arrays and objects`,
            pathOf(at),
          );
        }
        if (Array.isArray(v)) {
          nodes += v.length;
          if (nodes > limits.nodes) return tooMany();
          for (let i = v.length - 1; i >= 0; i--) {
            if (!(i in v)) return refuse('invalid', `has a hole at ${pathOf(at)}[${i}], which JSON cannot hold`, `${pathOf(at)}[${i}]`);
            stack.push({ value: v[i] as unknown, depth, parent: at, key: i });
          }
          continue;
        }
        const proto = Object.getPrototypeOf(v) as unknown;
        if (proto !== Object.prototype && proto !== null) {
          return refuse('invalid', `has a value at ${pathOf(at)} that is not plain JSON data`, pathOf(at));
        }
        const keys = Object.keys(v);
        nodes += keys.length;
        if (nodes > limits.nodes) return tooMany();
        for (let i = keys.length - 1; i >= 0; i--) {
          const k = keys[i]!;
          const child: Visit = { value: (v as Record<string, unknown>)[k], depth, parent: at, key: k };
          const problem = textProblem(k);
          if (problem !== undefined) return refuse('invalid', `has a key at ${pathOf(at)} that ${problem}`, pathOf(at));
          if (options.refuseProtoKeys && k === '__proto__') {
            return refuse('invalid', `has the key "__proto__" at ${pathOf(child)}, which is refused; rename it`, pathOf(child));
          }
          stack.push(child);
        }
        continue;
      }
      case 'bigint':
      case 'undefined':
      case 'symbol':
      case 'function':
        return refuse('invalid', `has a ${typeof v} at ${pathOf(at)}, which JSON cannot hold`, pathOf(at));
    }
  }
  return undefined;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_KEY_SHOWN = 64;

/** `$.alerts[0].labels["odd key"]`, built only when a refusal needs it. */
function pathOf(at: Visit): string {
  const parts: string[] = [];
  for (let v: Visit | undefined = at; v?.parent !== undefined; v = v.parent) {
    const k = v.key;
    if (typeof k === 'number') parts.push(`[${k}]`);
    else if (k !== undefined && IDENTIFIER.test(k) && k.length <= MAX_KEY_SHOWN) parts.push(`.${k}`);
    else {
      const shown = k === undefined ? '' : k.length > MAX_KEY_SHOWN ? `${k.slice(0, MAX_KEY_SHOWN)}…` : k;
      // JSON.stringify escapes control characters and lone surrogates, so the path is printable.
      parts.push(`[${JSON.stringify(shown)}]`);
    }
  }
  return `$${parts.reverse().join('')}`;
}
