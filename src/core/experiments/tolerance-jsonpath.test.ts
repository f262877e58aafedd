import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileJsonPath, jsonEqual, queryJsonPath } from './tolerance-jsonpath.ts';

const doc = {
  store: {
    book: [
      { category: 'reference', author: 'Nigel Rees', title: 'Sayings of the Century', price: 8.95 },
      { category: 'fiction', author: 'Evelyn Waugh', title: 'Sword of Honour', price: 12.99 },
      { category: 'fiction', author: 'Herman Melville', title: 'Moby Dick', isbn: '0-553-21311-3', price: 8.99 },
    ],
    bicycle: { color: 'red', price: 19.95 },
    'content-type': 'json',
  },
};

function q(path: string, value: unknown = doc): unknown[] {
  const c = compileJsonPath(path);
  if (!c.ok) throw new Error(c.message);
  return queryJsonPath(c.path, value);
}

describe('JSONPath subset', () => {
  it.each([
    ['$', [doc]],
    ['$.store.bicycle.color', ['red']],
    ["$['store']['bicycle']['color']", ['red']],
    ['$.store.content-type', ['json']],
    ['$.store.book[0].title', ['Sayings of the Century']],
    ['$.store.book[-1].title', ['Moby Dick']],
    ['$.store.book[*].author', ['Nigel Rees', 'Evelyn Waugh', 'Herman Melville']],
    ['$.store.book[0,2].price', [8.95, 8.99]],
    ['$.store.book[:2].price', [8.95, 12.99]],
    ['$.store.book[::-1].price', [8.99, 12.99, 8.95]],
    ['$..price', [8.95, 12.99, 8.99, 19.95]],
    ['$.store.book[?(@.isbn)].title', ['Moby Dick']],
    ['$.store.book[?(@.price < 10)].title', ['Sayings of the Century', 'Moby Dick']],
    ["$.store.book[?(@.category = 'fiction' and @.price > 10)].author", ['Evelyn Waugh']],
    ["$.store.book[?(@.category == 'reference' || @.price > 12)].price", [8.95, 12.99]],
    ['$.store.book[?(!@.isbn)].price', [8.95, 12.99]],
    ['$.store.bicycle.*', ['red', 19.95]],
    ['$.nothing.here', []],
  ])('%s', (path, expected) => {
    expect(q(path)).toEqual(expected);
  });

  it.each([
    ['store', /starts with '\$'/],
    ['$.', /expected a name or '\*' after '\.'/],
    ['$[', /expected a name in quotes/],
    ['$.a[0', /expected ',' or '\]'/],
    ["$['a", /unterminated string/],
    ['$.a[::0]', /slice step cannot be 0/],
    ['$[?(@.a ==)]', /expected @, \$, a string/],
    [`$[?(${'('.repeat(40)}@.a${')'.repeat(40)})]`, /nested too deeply/],
  ])('refuses %s', (path, why) => {
    const r = compileJsonPath(path);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(why);
  });

  it('never throws while compiling arbitrary text or querying arbitrary values', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.jsonValue(), (s, v) => {
        const c = compileJsonPath(`$${s}`);
        if (c.ok) expect(Array.isArray(queryJsonPath(c.path, v))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('walks a deeply nested value without exhausting the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = { a: deep };
    expect(q('$..a', deep)).toHaveLength(20_000);
  });

  it('compares deeply nested values without exhausting the stack', () => {
    const nest = (n: number, leaf: unknown) => {
      let v = leaf;
      for (let i = 0; i < n; i++) v = i % 2 === 0 ? [v] : { a: v };
      return v;
    };
    for (const n of [10, 5000, 100_000]) {
      const root = { x: nest(n, 1), y: nest(n, 1), z: nest(n, 2) };
      expect(jsonEqual(root.x, root.y)).toBe(true);
      expect(jsonEqual(root.x, root.z)).toBe(false);
      expect(q('$[?(@.x == @.y)]', [root])).toHaveLength(1);
      expect(q('$[?(@.x == @.z)]', [root])).toHaveLength(0);
    }
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual([1, 2], [1, 2, 3])).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
});
