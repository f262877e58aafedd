/**
 * The small path language of webhook mappings: `$.alert.rule_id`, `event.labels[0]`,
 * `$['odd key'].x`. Deliberately no wildcards, filters or recursion — a mapping names one value —
 * so evaluation is a walk over own properties that cannot reach a prototype or loop.
 */

export type PathSegment = string | number;

export interface JsonPath {
  /** The path as written, for messages. */
  readonly text: string;
  readonly segments: readonly PathSegment[];
}

export const MAX_PATH_LENGTH = 256;
export const MAX_PATH_SEGMENTS = 32;

/** Characters of a bare name: anything but separators, brackets, quotes and whitespace. */
const NAME_CHAR = /[^.[\]'"\s]/;

/** Parse a path; the reason names the position and what to write instead. */
export function parseJsonPath(text: string): { ok: true; value: JsonPath } | { ok: false; reason: string } {
  const fail = (at: number, what: string) => ({
    ok: false as const,
    reason: `invalid path ${JSON.stringify(text)} at character ${at + 1}: ${what}`,
  });
  if (text.length === 0) return { ok: false, reason: 'invalid path: empty; write e.g. $.alert.rule_id' };
  if (text.length > MAX_PATH_LENGTH) return { ok: false, reason: `invalid path: longer than ${MAX_PATH_LENGTH} characters` };
  const segments: PathSegment[] = [];
  let i = 0;
  let first = true;
  if (text[0] === '$') {
    i = 1;
    first = false;
  }
  while (i < text.length) {
    const c = text[i]!;
    if (c === '*' || text.startsWith('..', i))
      return fail(i, 'wildcards and recursive descent are not supported; name one value, e.g. $.alert.rule_id');
    if (c === '[') {
      const close = text.indexOf(']', i);
      const q = text[i + 1];
      if (q === "'" || q === '"') {
        const r = readQuoted(text, i + 1, q);
        if (!r) return fail(i, `unterminated quoted name; write ['name'] or ["name"]`);
        if (text[r.end] !== ']') return fail(r.end, "expected ']' after the quoted name");
        segments.push(r.value);
        i = r.end + 1;
      } else {
        if (close < 0) return fail(i, "missing ']'");
        const inner = text.slice(i + 1, close);
        if (!/^(0|[1-9][0-9]{0,5})$/.test(inner))
          return fail(i + 1, `array index must be a non-negative integer, got ${JSON.stringify(inner)}; filters are not supported`);
        segments.push(Number(inner));
        i = close + 1;
      }
    } else if (c === '.' || first) {
      const start = c === '.' ? i + 1 : i;
      let end = start;
      while (end < text.length && NAME_CHAR.test(text[end]!)) end++;
      if (end === start) return fail(start, 'expected a name');
      if (text.slice(start, end).includes('*')) return fail(start, 'wildcards are not supported');
      segments.push(text.slice(start, end));
      i = end;
    } else {
      return fail(i, `unexpected ${JSON.stringify(c)}; separate names with '.' and indexes with [n]`);
    }
    first = false;
    if (segments.length > MAX_PATH_SEGMENTS)
      return { ok: false, reason: `invalid path ${JSON.stringify(text)}: more than ${MAX_PATH_SEGMENTS} segments` };
  }
  return { ok: true, value: { text, segments } };
}

function readQuoted(text: string, at: number, quote: string): { value: string; end: number } | undefined {
  let value = '';
  for (let j = at + 1; j < text.length; j++) {
    const c = text[j]!;
    if (c === '\\' && j + 1 < text.length) {
      value += text[++j];
    } else if (c === quote) {
      return { value, end: j + 1 };
    } else {
      value += c;
    }
  }
  return undefined;
}

/** The value at the path, or undefined when any step is missing (JSON has no undefined, so this is unambiguous). */
export function readJsonPath(root: unknown, path: JsonPath): unknown {
  let cur: unknown = root;
  for (const seg of path.segments) {
    if (typeof seg === 'number') {
      if (!Array.isArray(cur) || seg >= cur.length) return undefined;
      cur = cur[seg];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, seg)) return undefined;
      cur = (cur as Record<string, unknown>)[seg];
    }
  }
  return cur;
}
