import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.ts';
import { checkValueBounded, deeperThan, parseJsonBounded, readJson, valueRefusal } from './bounded-json.ts';
import { INPUT_LIMITS } from './limits.ts';
import { textProblem } from './text.ts';

const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const objects = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

/** Every string (keys included) in a JSON value, iteratively. */
function strings(v: unknown): string[] {
  const out: string[] = [];
  const stack = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === 'string') out.push(x);
    else if (Array.isArray(x)) stack.push(...(x as unknown[]));
    else if (x !== null && typeof x === 'object') for (const [k, y] of Object.entries(x)) stack.push(k, y);
  }
  return out;
}

/** The value N levels deep, built without recursion (as code that wraps input might build it). */
function deepValue(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = i % 2 === 0 ? [v] : { a: v };
  return v;
}

function timed<T>(f: () => T): { value: T; ms: number } {
  const t = process.hrtime.bigint();
  const value = f();
  return { value, ms: Number(process.hrtime.bigint() - t) / 1e6 };
}

describe('parseJsonBounded', () => {
  it('parses any JSON text within the bounds exactly as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 8 }), (text) => {
        const r = readJson(text);
        expect(r).toEqual({ ok: true, value: JSON.parse(text) as unknown });
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses JSON whose strings cannot be stored unchanged, and only such JSON', () => {
    const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const value = fc.jsonValue({ maxDepth: 4, stringUnit: unit });
    fc.assert(
      fc.property(value, (v) => {
        const text = JSON.stringify(v);
        const r = readJson(text);
        const bad = strings(JSON.parse(text)).some((s) => textProblem(s) !== undefined);
        if (bad) expect(r).toMatchObject({ ok: false, code: 'invalid', syntax: false, path: expect.stringMatching(/^\$/) });
        else expect(r).toEqual({ ok: true, value: JSON.parse(text) as unknown });
      }),
      { numRuns: 1000 },
    );
  });

  it('gives the path of the value it refuses', () => {
    expect(readJson('{"alerts":[{"labels":{"x":"a\\u0000"}}]}')).toMatchObject({
      ok: false,
      path: '$.alerts[0].labels.x',
      reason: expect.stringMatching(/^has a string at \$\.alerts\[0\]\.labels\.x that holds a NUL character/),
    });
    expect(readJson('{"a":{"odd key\\ud800":1}}')).toMatchObject({
      ok: false,
      path: '$.a',
      reason: expect.stringMatching(/a key at \$\.a that holds a lone surrogate/),
    });
    expect(readJson('{"a":[1,{"__proto__":2}]}', INPUT_LIMITS.json, { refuseProtoKeys: true })).toMatchObject({
      ok: false,
      path: '$.a[1].__proto__',
    });
    expect(readJson('{"__proto__":2}')).toEqual({ ok: true, value: JSON.parse('{"__proto__":2}') as unknown });
  });

  it('refuses nesting past the bound as invalid, never with a RangeError, at 10, 100, 5,000 and 100,000 levels', () => {
    const shallow = { depth: 8, nodes: 1000 };
    for (const n of [10, 100, 5000, 100_000]) {
      for (const text of [nested(n), objects(n), `[${'{"a":['.repeat(n / 2)}${']}'.repeat(n / 2)}]`]) {
        for (const limits of [shallow, INPUT_LIMITS.json]) {
          if (n <= limits.depth) continue;
          const { value: r, ms } = timed(() => readJson(text, limits));
          expect(r).toMatchObject({ ok: false, code: 'invalid', syntax: false });
          expect(r.ok ? '' : r.reason).toMatch(new RegExp(`nests deeper than ${limits.depth} levels`));
          expect(ms).toBeLessThan(500);
          expect(() => parseJsonBounded(text, limits, 'the body')).toThrow(DomainError);
        }
      }
    }
    expect(readJson(nested(10))).toEqual({ ok: true, value: JSON.parse(nested(10)) as unknown });
    expect(readJson(nested(64)).ok).toBe(true);
    expect(readJson(nested(65))).toMatchObject({ ok: false, reason: expect.stringMatching(/at character 65/) });
  });

  it('counts only brackets outside strings', () => {
    const text = JSON.stringify({ s: '['.repeat(1000), t: '\\"[[[', u: '"{{{{' });
    expect(deeperThan(text, 1)).toBeUndefined();
    expect(readJson(text).ok).toBe(true);
    expect(deeperThan('[["]"]]', 1)).toBe(1);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const text = JSON.stringify(v);
        const depth = (x: unknown): number => {
          let max = 0;
          const stack: [unknown, number][] = [[x, 0]];
          while (stack.length > 0) {
            const [y, d] = stack.pop()!;
            if (y === null || typeof y !== 'object') continue;
            max = Math.max(max, d + 1);
            for (const c of Object.values(y)) stack.push([c, d + 1]);
          }
          return max;
        };
        const d = depth(v);
        expect(deeperThan(text, d)).toBeUndefined();
        if (d > 0) expect(deeperThan(text, d - 1)).toBeTypeOf('number');
      }),
      { numRuns: 500 },
    );
  });

  it('refuses more values than the bound, in one array or spread out', () => {
    const limits = { depth: 64, nodes: 1000 };
    expect(readJson(`[${'0,'.repeat(999)}0]`, limits).ok).toBe(false);
    expect(readJson(`[${'0,'.repeat(998)}0]`, limits).ok).toBe(true);
    expect(readJson(JSON.stringify({ a: Array(600).fill({ b: 1 }) }), limits)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/holds more than 1000 values/),
    });
    const big = `[${'0,'.repeat(INPUT_LIMITS.json.nodes)}0]`;
    expect(readJson(big)).toMatchObject({ ok: false, code: 'invalid', reason: expect.stringMatching(/more than 100000 values/) });
  });

  it('says what is wrong in the error it throws', () => {
    expect(() => parseJsonBounded('{"a":', INPUT_LIMITS.json, 'the body')).toThrow(/^the body is not valid JSON: /);
    expect(() => parseJsonBounded(nested(100), INPUT_LIMITS.json, 'the body')).toThrow(
      /^the body nests deeper than 64 levels \(at character 65\); send at most 64 levels/,
    );
    expect(() => parseJsonBounded('[1]', { depth: 4, nodes: 10, length: 2 })).toThrow(
      expect.objectContaining({ code: 'payload_too_large' }) as Error,
    );
  });
});

describe('checkValueBounded', () => {
  it('accepts what parseJsonBounded accepts', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 8 }), (text) => {
        expect(valueRefusal(JSON.parse(text))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a deep value built in memory without recursing, at 10, 100, 5,000 and 100,000 levels', () => {
    for (const n of [10, 100, 5000, 100_000]) {
      const limits = n > 64 ? INPUT_LIMITS.json : { depth: 8, nodes: 1000 };
      const { ms } = timed(() =>
        expect(() => checkValueBounded(deepValue(n), limits, 'the value')).toThrow(
          expect.objectContaining({ code: 'invalid', message: expect.stringMatching(/nests deeper than/) }) as Error,
        ),
      );
      expect(ms).toBeLessThan(500);
    }
  });

  it('refuses cycles, holes and what JSON cannot hold', () => {
    const cycle: unknown[] = [];
    cycle.push(cycle);
    expect(valueRefusal(cycle)).toMatchObject({ ok: false });

    expect(valueRefusal([1, , 3])).toMatchObject({ reason: expect.stringMatching(/hole at \$\[1\]/) });
    expect(valueRefusal({ a: 1n })).toMatchObject({ reason: expect.stringMatching(/bigint at \$\.a/) });
    expect(valueRefusal({ a: NaN })).toMatchObject({ path: '$.a' });
    expect(valueRefusal({ a: new Date(0) })).toMatchObject({ path: '$.a' });
    expect(valueRefusal({ a: undefined })).toMatchObject({ path: '$.a' });
  });
});
