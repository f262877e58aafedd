/**
 * Chaos Toolkit tolerances, read and judged the way chaostoolkit-lib's `within_tolerance` does,
 * so that a hypothesis passes or fails in Bulwark exactly where it did before — including its
 * quirks, which are noted where they apply. Patterns are Python regular expressions; the common
 * Python-only syntax is translated to JavaScript.
 */
import { compileJsonPath, jsonEqual, queryJsonPath } from './tolerance-jsonpath.ts';
import type { JsonValue, Tolerance } from './types.ts';

export interface ToleranceResult {
  ok: boolean;
  reason: string;
}

export type ToleranceParse =
  { ok: true; tolerance: Exclude<Tolerance, { kind: 'probe' }> } | { ok: false; path: (string | number)[]; message: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a string still holds a `${name}` reference, checked again once configuration is resolved. */
export const hasTemplate = (s: string): boolean => s.includes('${');

/** Whether a raw tolerance is an activity (`type: probe`), which the experiment parser reads as one. */
export const isProbeTolerance = (raw: unknown): boolean => isObject(raw) && raw['type'] === 'probe';

const ALLOWED: Record<string, readonly string[]> = {
  range: ['type', 'range', 'target'],
  regex: ['type', 'pattern', 'target'],
  jsonpath: ['type', 'path', 'expect', 'count', 'target'],
};

/** Read a tolerance as written in a file (every kind but `type: probe`), or say what to fix. */
export function parseTolerance(raw: unknown): ToleranceParse {
  const fail = (message: string, path: (string | number)[] = []): ToleranceParse => ({ ok: false, path, message });
  if (typeof raw === 'boolean') return { ok: true, tolerance: { kind: 'bool', value: raw } };
  if (typeof raw === 'string') return { ok: true, tolerance: { kind: 'string', value: raw } };
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw)) {
      return fail(`tolerance ${raw} is not an integer; for a numeric interval write {type: range, range: [min, max]}`);
    }
    return { ok: true, tolerance: { kind: 'int', value: raw } };
  }
  if (Array.isArray(raw)) {
    if (raw.length === 0) return fail('an empty list tolerance never matches; list the accepted values');
    return { ok: true, tolerance: { kind: 'list', values: raw as JsonValue[] } };
  }
  if (!isObject(raw)) {
    return fail('tolerance must be a boolean, an integer, a string, a list, or {type: range|regex|jsonpath|probe, …}');
  }
  const type = raw['type'];
  if (typeof type !== 'string' || !Object.hasOwn(ALLOWED, type)) {
    return fail(
      `tolerance type ${type === undefined ? 'is missing' : `${JSON.stringify(type)} is not supported`}; use range, regex, jsonpath or probe`,
      type === undefined ? [] : ['type'],
    );
  }
  for (const k of Object.keys(raw)) {
    if (!ALLOWED[type]!.includes(k)) return fail(`unknown key '${k}' in a ${type} tolerance; allowed: ${ALLOWED[type]!.join(', ')}`, [k]);
  }
  const target = raw['target'];
  if (target !== undefined && (typeof target !== 'string' || target === '')) {
    return fail('target must be the name of a key of the result, e.g. body, status or stdout', ['target']);
  }
  const withTarget = target === undefined ? {} : { target };
  if (type === 'range') {
    const range = raw['range'];
    if (!Array.isArray(range) || range.length !== 2) return fail('range must be a list of two numbers: [min, max]', ['range']);
    const [min, max] = range as unknown[];
    if (typeof min !== 'number' || !Number.isFinite(min)) return fail('the lower bound of range must be a number', ['range', 0]);
    if (typeof max !== 'number' || !Number.isFinite(max)) return fail('the upper bound of range must be a number', ['range', 1]);
    if (min > max) return fail(`range [${min}, ${max}] is empty; write the smaller bound first: [${max}, ${min}]`, ['range']);
    return { ok: true, tolerance: { kind: 'range', min, max, ...withTarget } };
  }
  if (type === 'regex') {
    const pattern = raw['pattern'];
    if (typeof pattern !== 'string') return fail('a regex tolerance needs pattern: a regular expression string', ['pattern']);
    if (!hasTemplate(pattern)) {
      const c = compilePattern(pattern);
      if (!c.ok) return fail(c.message, ['pattern']);
    }
    return { ok: true, tolerance: { kind: 'regex', pattern, ...withTarget } };
  }
  const path = raw['path'];
  if (typeof path !== 'string' || path.trim() === '') return fail("a jsonpath tolerance needs path, e.g. '$.status'", ['path']);
  if (!hasTemplate(path)) {
    const c = compileJsonPath(path.trim());
    if (!c.ok) return fail(c.message, ['path']);
  }
  const count = raw['count'];
  if (count !== undefined && (typeof count !== 'number' || !Number.isInteger(count) || count < 0)) {
    return fail('count must be a whole number ≥ 0', ['count']);
  }
  // Chaos Toolkit compares the matches with `expect` when it is a list, and with [expect] otherwise.
  const expect = Object.hasOwn(raw, 'expect')
    ? Array.isArray(raw['expect'])
      ? (raw['expect'] as JsonValue[])
      : [raw['expect'] as JsonValue]
    : undefined;
  if (expect !== undefined && count !== undefined && count !== expect.length) {
    // Chaos Toolkit silently ignores count when expect is given; a contradiction is surely a mistake.
    return fail(`count ${count} contradicts expect, which lists ${expect.length} value(s); drop one of them`, ['count']);
  }
  const extra = { ...(expect !== undefined ? { expect } : {}), ...(count !== undefined ? { count } : {}) };
  return { ok: true, tolerance: { kind: 'jsonpath', path, ...extra, ...withTarget } };
}

/**
 * Compile a pattern written for Python's `re`: named groups `(?P<n>…)` and `(?P=n)`, leading
 * inline flags `(?i)`, `(?m)`, `(?s)`, `\A` and `\Z`, and `$` also matching before a final newline.
 */
export function compilePattern(pattern: string): { ok: true; regex: RegExp } | { ok: false; message: string } {
  let src = pattern;
  let flags = '';
  const lead = /^\(\?([aiLmsux]+)\)/.exec(src);
  if (lead) {
    for (const f of lead[1]!) {
      if (f === 'x' || f === 'L') return { ok: false, message: `pattern flag (?${f}) is not supported; remove it` };
      if ('ims'.includes(f) && !flags.includes(f)) flags += f;
    }
    src = src.slice(lead[0].length);
  }
  const multiline = flags.includes('m');
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) return { ok: false, message: `pattern '${pattern}' ends with a lone backslash` };
      if (!inClass && n === 'A') out += '(?<![\\s\\S])';
      else if (!inClass && n === 'Z') out += '(?![\\s\\S])';
      else out += c + n;
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') out += src[++i];
      if (src[i + 1] === ']') out += src[++i];
    } else if (src.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else if (src.startsWith('(?P=', i)) {
      const end = src.indexOf(')', i);
      if (end < 0) return { ok: false, message: `pattern '${pattern}' has an unterminated (?P=…)` };
      out += `\\k<${src.slice(i + 4, end)}>`;
      i = end;
    } else if (c === '$' && !multiline) {
      out += '(?=\\n?(?![\\s\\S]))';
    } else {
      out += c;
    }
  }
  try {
    return { ok: true, regex: new RegExp(out, flags) };
  } catch (e) {
    const why = (e as Error).message.replace(/^Invalid regular expression: /, '');
    return { ok: false, message: `pattern '${pattern}' is not a valid regular expression (${why}); fix or escape it` };
  }
}

function describe(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** `value.get(target, value)`: the named key of a result, or the result itself when absent. */
function pick(value: unknown, target: string | undefined): unknown {
  if (target === undefined || !isObject(value) || !Object.hasOwn(value, target)) return value;
  return value[target];
}

const hasStatus = (v: unknown): v is { status: unknown } => isObject(v) && Object.hasOwn(v, 'status');

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Judge a probe's result against a tolerance. An http result is `{status, headers, body}` and a
 * process result `{status, stdout, stderr}`: an integer or list tolerance compares `status`.
 */
export function evaluateTolerance(tolerance: Tolerance, value: unknown): ToleranceResult {
  const res = (ok: boolean, reason: string) => ({ ok, reason });
  switch (tolerance.kind) {
    case 'bool':
      return value === tolerance.value
        ? res(true, `result is ${tolerance.value}`)
        : res(false, `expected ${tolerance.value}, got ${describe(value)}`);
    case 'string':
      return value === tolerance.value
        ? res(true, `result equals ${describe(tolerance.value)}`)
        : res(
            false,
            `expected ${describe(tolerance.value)}, got ${describe(value)}${isObject(value) ? ' (to match part of a result, use {type: regex, target: …})' : ''}`,
          );
    case 'int': {
      if (hasStatus(value)) {
        return value.status === tolerance.value
          ? res(true, `status is ${tolerance.value}`)
          : res(false, `status is ${describe(value.status)}, expected ${tolerance.value}`);
      }
      return value === tolerance.value
        ? res(true, `result is ${tolerance.value}`)
        : res(false, `expected ${tolerance.value}, got ${describe(value)}`);
    }
    case 'list': {
      const list = tolerance.values;
      const subject = hasStatus(value) ? value.status : value;
      const what = hasStatus(value) ? 'status' : 'result';
      if (!hasStatus(value) && list.length === 2) {
        // Chaos Toolkit reads a two-element list as an inclusive range [low, high].
        const [lo, hi] = list as [JsonValue, JsonValue];
        const numbers = typeof lo === 'number' && typeof hi === 'number' && typeof value === 'number';
        const strings = typeof lo === 'string' && typeof hi === 'string' && typeof value === 'string';
        if (numbers || strings) {
          const v = value;
          const inside = lo <= v && v <= hi;
          return res(inside, `${describe(v)} is ${inside ? '' : 'not '}within [${describe(lo)}, ${describe(hi)}]`);
        }
      }
      const found = list.some((x) => jsonEqual(x, subject));
      return res(found, `${what} ${describe(subject)} is ${found ? '' : 'not '}one of ${describe(list)}`);
    }
    case 'range': {
      const v = pick(value, tolerance.target);
      let n: number | undefined;
      if (typeof v === 'number') n = v;
      else if (typeof v === 'string' && NUMERIC.test(v.trim())) n = Number(v.trim());
      if (n === undefined || !Number.isFinite(n)) {
        const hint = tolerance.target === undefined && isObject(v) ? '; set target (e.g. status)' : '';
        return res(false, `range needs a number, got ${describe(v)}${hint}`);
      }
      const inside = tolerance.min <= n && n <= tolerance.max;
      return res(inside, `${n} is ${inside ? '' : 'not '}within [${tolerance.min}, ${tolerance.max}]`);
    }
    case 'regex': {
      const c = compilePattern(tolerance.pattern);
      if (!c.ok) return res(false, c.message);
      const v = pick(value, tolerance.target);
      const text = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : describeFull(v);
      if (text === undefined) return res(false, `regex needs text, got ${describe(v)}; set target (e.g. body or stdout)`);
      const hit = c.regex.test(text);
      return res(hit, `${describe(text)} ${hit ? 'matches' : 'does not match'} /${tolerance.pattern}/`);
    }
    case 'jsonpath': {
      const c = compileJsonPath(tolerance.path.trim());
      if (!c.ok) return res(false, c.message);
      let v = pick(value, tolerance.target);
      if (typeof v === 'string') {
        try {
          v = JSON.parse(v) as unknown;
        } catch {
          // Chaos Toolkit queries the text itself when it is not JSON.
        }
      }
      const values = queryJsonPath(c.path, v);
      if (tolerance.expect !== undefined) {
        const ok = jsonEqual(values, tolerance.expect);
        return res(ok, `${tolerance.path} found ${describe(values)}${ok ? '' : `, expected ${describe(tolerance.expect)}`}`);
      }
      if (tolerance.count !== undefined) {
        const ok = values.length === tolerance.count;
        return res(ok, `${tolerance.path} found ${values.length} value(s)${ok ? '' : `, expected ${tolerance.count}`}`);
      }
      return values.length > 0
        ? res(true, `${tolerance.path} found ${describe(values)}`)
        : res(false, `${tolerance.path} found nothing in ${describe(v)}`);
    }
    case 'probe':
      return res(false, `tolerance probe '${tolerance.probe.name}' must be run by the runner with the value as argument`);
  }
}

function describeFull(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  try {
    return JSON.stringify(v);
  } catch {
    return undefined;
  }
}
