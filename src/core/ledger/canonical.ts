/**
 * The fast RFC 8785 (JCS) encoder: one walk that checks and writes at once. It never explains a
 * failure; it answers `undefined` for anything it does not plainly accept, and the caller then takes
 * the slow path, whose checks name the offending path. So everything it returns is exactly what
 * the slow path (the checks, then the `canonicalize` package) would have returned.
 */

import { WALK_DEPTH } from '../input/limits.ts';

/**
 * Arrays and objects nested deeper than this are not encoded by the fast walk (which recurses):
 * the slow path refuses them with a message. Input is bounded far below it (INPUT_LIMITS).
 */
export const MAX_DEPTH = WALK_DEPTH;

/** Keys that look like a secret; secrets never enter the ledger. */
export const SECRET_KEY = /^(token|secret|password|passwd|private_?key|totp_?seed|authorization|api_?key)$/i;

/** Thrown inside the walk to abandon it; not an Error, so it costs no stack trace. */
const BAIL: unique symbol = Symbol('bail');

/** Text JSON.stringify would not write unchanged between quotes: a quote, backslash, control or surrogate. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify of a string, without the call when nothing in it needs escaping. */
export function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/**
 * JSON.stringify writes a lone surrogate as a `\udXXX` escape (well-formed JSON.stringify), while
 * `canonicalize` refuses it. A match may also be an escaped backslash followed by `ud8..` text; the
 * slow path settles either case.
 */
const SURROGATE_ESCAPE = /\\ud[89a-f]/;

/** Could this key match SECRET_KEY? Its length is 5 to 13 and it starts with a, p, s or t. */
function maybeSecret(k: string): boolean {
  const n = k.length;
  if (n < 5 || n > 13) return false;
  const c = k.charCodeAt(0) | 0x20;
  return (c === 0x61 || c === 0x70 || c === 0x73 || c === 0x74) && SECRET_KEY.test(k);
}

/**
 * `"key":` for keys seen before that do not look like a secret. Entries repeat their keys, and this
 * spares the escape and secret checks; bounded, so odd data cannot make it grow without end.
 */
const KEY_TEXT = new Map<string, string>();

function keyText(k: string): string {
  const text = (NEEDS_ESCAPE.test(k) ? JSON.stringify(k) : '"' + k + '"') + ':';
  if (k.length <= 64) {
    if (KEY_TEXT.size >= 4096) KEY_TEXT.clear();
    KEY_TEXT.set(k, text);
  }
  return text;
}

function walk(value: unknown, refuseSecrets: boolean, depth: number): string {
  switch (typeof value) {
    case 'string':
      // Calling JSON.stringify costs more than this scan for the common string that needs no escape.
      return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : '"' + value + '"';
    case 'number':
      if (value - value !== 0) throw BAIL; // NaN or ±Infinity
      return '' + value; // Number::toString, as JSON.stringify and JCS write it (-0 as 0)
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth >= MAX_DEPTH) throw BAIL;
      if (Array.isArray(value)) {
        const a = value as unknown[];
        if (typeof (a as { toJSON?: unknown }).toJSON === 'function') throw BAIL;
        const n = a.length;
        if (n === 0) return '[]';
        let out = '[';
        for (let i = 0; i < n; i++) {
          const v = a[i];
          if (v === undefined) throw BAIL; // also a hole
          out += (i === 0 ? '' : ',') + walk(v, refuseSecrets, depth + 1);
        }
        return out + ']';
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) throw BAIL;
      const o = value as Record<string, unknown>;
      if (typeof o.toJSON === 'function') throw BAIL;
      const keys = Object.keys(o);
      const n = keys.length;
      if (n === 0) return '{}';
      // UTF-16 code unit order, as RFC 8785 asks: `<` on strings, as Array.prototype.sort. An
      // insertion sort is far cheaper for the few keys of an entry, and free when already sorted.
      if (n > 32) keys.sort();
      else
        for (let i = 1; i < n; i++) {
          const k = keys[i] as string;
          let j = i - 1;
          if ((keys[j] as string) < k) continue;
          do {
            keys[j + 1] = keys[j] as string;
            j--;
          } while (j >= 0 && k < (keys[j] as string));
          keys[j + 1] = k;
        }
      let out = '{';
      for (let i = 0; i < n; i++) {
        const k = keys[i] as string;
        let member = KEY_TEXT.get(k);
        if (member === undefined) {
          if (maybeSecret(k)) {
            if (refuseSecrets) throw BAIL;
            member = JSON.stringify(k) + ':';
          } else member = keyText(k);
        }
        const v = o[k];
        if (v === undefined) throw BAIL;
        out += (i === 0 ? member : ',' + member) + walk(v, refuseSecrets, depth + 1);
      }
      return out + '}';
    }
    case 'undefined':
    case 'bigint':
    case 'symbol':
    case 'function':
      throw BAIL;
  }
}

/**
 * The RFC 8785 encoding of `value`, or `undefined` when the value is not plainly encodable: not
 * JSON, a lone surrogate, a `toJSON` method, a sparse array, a cycle, or (with `refuseSecrets`) a
 * key matching SECRET_KEY. Accepts the same values as the slow checks and agrees with `canonicalize`.
 */
export function fastCanonical(value: unknown, refuseSecrets: boolean): string | undefined {
  let out: string;
  try {
    out = walk(value, refuseSecrets, 0);
  } catch {
    return undefined;
  }
  return out.indexOf('\\u') !== -1 && SURROGATE_ESCAPE.test(out) ? undefined : out;
}

/**
 * Does any object key anywhere in `value` match SECRET_KEY? Walks what assertNoSecrets walks,
 * without recursion; true also for a value nested past MAX_DEPTH (or a cycle), so that the
 * caller's slow path, which names the problem, takes over.
 */
export function hasSecretKey(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_DEPTH) return true;
    if (Array.isArray(v)) {
      for (const x of v as unknown[]) stack.push([x, depth + 1]);
      continue;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (maybeSecret(k)) return true;
      stack.push([o[k], depth + 1]);
    }
  }
  return false;
}
