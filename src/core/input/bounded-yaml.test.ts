import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Lexer, stringify } from 'yaml';
import { INPUT_LIMITS, type YamlLimits } from './limits.ts';
import { parseYamlBounded, type YamlRead } from './bounded-yaml.ts';
import { textProblem } from './text.ts';

const L = INPUT_LIMITS.yaml;

/**
 * The answer and the best wall time of three calls: the machine's cores are shared, and the first
 * parse of a process also pays for compiling the yaml package (see beforeAll).
 */
function timed(f: () => YamlRead): { r: YamlRead; ms: number } {
  let best = Infinity;
  let r: YamlRead | undefined;
  for (let i = 0; i < 3; i++) {
    const t = process.hrtime.bigint();
    r = f();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { r: r!, ms: best };
}

beforeAll(() => {
  // Compile the yaml package's code paths once, as a running server has.
  const warm = `a: &a {b: [1, "two", 3.5, null, true], c: 'x'}\nd: [*a, *a]\ne: |\n  text\n# c\n`;
  for (let i = 0; i < 50; i++) parseYamlBounded(warm);
});

const codes = (r: YamlRead) => (r.ok ? [] : r.errors.map((e) => e.code));
const first = (r: YamlRead) => {
  if (r.ok) throw new Error('expected a refusal');
  return r.errors[0]!;
};

/** Every string (keys included) in a plain value, iteratively. */
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

const tokensOf = (text: string) => Array.from(new Lexer().lex(text)).length;

/** The largest instance of a shape that is still within the length and token bounds. */
function largestWithin(make: (n: number) => string, limits: YamlLimits = L): string {
  let lo = 1;
  let hi = 20_000;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const t = make(mid);
    if (t.length <= limits.length && tokensOf(t) <= limits.tokens) lo = mid;
    else hi = mid - 1;
  }
  return make(lo);
}

/** The review's example: one anchored list of 450,000 items referenced 99 times (900 KB). */
const reviewExample = `a: &a [${'1,'.repeat(449_999)}1]\nb: [${'*a,'.repeat(98)}*a]\n`;

describe('parseYamlBounded: what is accepted', () => {
  it('reads any JSON value written as YAML or as JSON, as JSON.parse would', () => {
    const value = fc.jsonValue({ maxDepth: 6 }).filter((v) => strings(v).every((s) => textProblem(s) === undefined));
    fc.assert(
      fc.property(value, (v) => {
        const json = JSON.stringify(v);
        const fromJson = parseYamlBounded(json);
        expect(fromJson.ok ? fromJson.value : fromJson.errors).toEqual(JSON.parse(json) as unknown);
        // YAML keeps -0, which JSON writes as 0.
        const fromYaml = parseYamlBounded(stringify(v));
        expect(fromYaml.ok ? fromYaml.value : fromYaml.errors).toEqual(v);
      }),
      { numRuns: 500 },
    );
  });

  it('expands aliases, keeps a __proto__ key a key, and gives positions', () => {
    const r = parseYamlBounded('a: &x {b: [1, 2]}\nc: *x\n__proto__: {polluted: true}\n');
    expect(r.ok && r.value).toEqual({ a: { b: [1, 2] }, c: { b: [1, 2] }, ['__proto__']: { polluted: true } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    if (r.ok) expect(r.position(18)).toEqual({ line: 2, column: 1 });
  });

  it('counts the expanded size exactly: an alias is the size of its anchored node', () => {
    // 1 (root) + 4 (a: the list and its 3 items) + 1 (b) + 2 × 4 (the aliases) = 14 values.
    const text = 'a: &a [1, 2, 3]\nb: [*a, *a]\n';
    const at = (nodes: number) => ({ ...L, nodes });
    expect(parseYamlBounded(text, at(14)).ok).toBe(true);
    expect(codes(parseYamlBounded(text, at(13)))).toEqual(['TOO_MANY_NODES']);
    // Depth: the list (1) inside b's list (2) inside the root (3).
    expect(parseYamlBounded(text, { ...L, depth: 3 }).ok).toBe(true);
    expect(codes(parseYamlBounded(text, { ...L, depth: 2 }))).toEqual(['TOO_DEEP']);
  });

  it('never throws, and places every error at a line and column of the text', () => {
    const unit = fc.constantFrom(...'ab:- []{},&*!|>#"\'\n ?\t\\%@`'.split(''), '\u0000', '\ud800', 'é');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 200 }), (text) => {
        const r = parseYamlBounded(text);
        if (r.ok) return;
        expect(r.errors.length).toBeGreaterThan(0);
        expect(r.errors.length).toBeLessThanOrEqual(100);
        const lines = text.split('\n').length;
        for (const e of r.errors) {
          expect(e.line).toBeGreaterThanOrEqual(1);
          expect(e.line).toBeLessThanOrEqual(lines + 1);
          expect(e.column).toBeGreaterThanOrEqual(1);
          expect(e.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseYamlBounded: alias amplification is refused before anything is expanded', () => {
  it("refuses the review's example (900 KB, 45 million values expanded) at once, under either set of limits", () => {
    for (const limits of [L, INPUT_LIMITS.atomicYaml]) {
      const { r, ms } = timed(() => parseYamlBounded(reviewExample, limits));
      expect(['TOO_LONG', 'TOO_MANY_TOKENS']).toContain(first(r).code);
      expect(ms).toBeLessThan(500);
    }
    expect(first(parseYamlBounded(reviewExample)).message).toBe(`the file is longer than ${L.length} characters; split it`);
  });

  it('refuses one anchored list referenced many times, within the length and token bounds', () => {
    const text = largestWithin((n) => `a: &a [${'1,'.repeat(n)}1]\nb: [${'*a,'.repeat(98)}*a]\n`);
    const { r, ms } = timed(() => parseYamlBounded(text));
    expect(first(r)).toMatchObject({ code: 'TOO_MANY_NODES', line: 2, message: expect.stringContaining(`more than ${L.nodes} values`) });
    expect(ms).toBeLessThan(500);
  });

  it('refuses nested anchor bombs (billion laughs) in a fixed time, however far they would expand', () => {
    for (const levels of [5, 9, 30]) {
      const lines = ['l0: &l0 [x, x, x, x, x, x, x, x, x, x]'];
      for (let i = 1; i < levels; i++)
        lines.push(
          `l${i}: &l${i} [${Array(10)
            .fill(`*l${i - 1}`)
            .join(', ')}]`,
        );
      const text = `${lines.join('\n')}\n`;
      const { r, ms } = timed(() => parseYamlBounded(text));
      // Past 100 aliases the alias bound comes first; either way nothing was expanded.
      expect(['TOO_MANY_NODES', 'TOO_MANY_ALIASES']).toContain(first(r).code);
      expect(first(r).message).toMatch(new RegExp(`more than (${L.nodes} values|${L.aliases} aliases)`));
      expect(ms).toBeLessThan(500);
    }
    // Mappings as well as lists.
    const ten = (name: string) => Array(10).fill(`*${name}`).join(', ');
    const maps = `a: &a {k1: v, k2: v, k3: v, k4: v, k5: v, k6: v, k7: v, k8: v, k9: v, k10: v}\nb: &b {x: [${ten('a')}]}\nc: &c {y: [${ten('b')}]}\nd: &d [${ten('c')}]\ne: [${ten('d')}]\n`;
    expect(first(parseYamlBounded(maps)).code).toBe('TOO_MANY_NODES');
    // An anchor given again names the later node from there on.
    expect(parseYamlBounded('a: &a [1]\nb: &a [2, 3]\nc: *a\n')).toMatchObject({ ok: true, value: { a: [1], b: [2, 3], c: [2, 3] } });
  });

  it('refuses text amplification: a long string referenced many times', () => {
    const text = `a: &a "${'x'.repeat(30_000)}"\nb: [${'*a, '.repeat(9)}*a]\n`;
    const r = parseYamlBounded(text);
    expect(first(r)).toMatchObject({ code: 'TOO_MUCH_TEXT', message: expect.stringContaining(`more than ${L.text} characters`) });
  });

  it('refuses depth reached through aliases, an alias inside its own anchor, and too many aliases', () => {
    const chain = Array.from({ length: 70 }, (_, i) => (i === 0 ? 'a0: &a0 [x]' : `a${i}: &a${i} [*a${i - 1}]`)).join('\n');
    expect(first(parseYamlBounded(chain))).toMatchObject({
      code: 'TOO_DEEP',
      message: 'the file nests too deeply; keep it under 64 levels',
    });
    expect(first(parseYamlBounded('a: &a [1, *a]\n'))).toMatchObject({ code: 'ALIAS_CYCLE', line: 1, column: 11 });
    expect(first(parseYamlBounded('a: &a {b: *a}\n')).code).toBe('ALIAS_CYCLE');
    const many = `a: &a 1\nb: [${'*a, '.repeat(100)}*a]\n`;
    expect(first(parseYamlBounded(many))).toMatchObject({
      code: 'TOO_MANY_ALIASES',
      message: expect.stringContaining('more than 100 aliases'),
    });
    expect(parseYamlBounded(`a: &a 1\nb: [${'*a, '.repeat(99)}*a]\n`).ok).toBe(true);
  });
});

describe('parseYamlBounded: size, depth, keys and text', () => {
  it('refuses nesting past the bound without a RangeError, at 100, 5,000 and 30,000 levels, flow or block', () => {
    for (const n of [100, 5000, 30_000]) {
      for (const text of [`${'['.repeat(n)}${']'.repeat(n)}`, `${'{a: '.repeat(n)}1${'}'.repeat(n)}`, `${'- '.repeat(n)}1\n`]) {
        if (text.length > L.length) continue;
        const { r, ms } = timed(() => parseYamlBounded(text));
        // Block nesting costs two tokens a level: past 4,096 levels the token bound comes first.
        const e = first(r);
        if (e.code === 'TOO_MANY_TOKENS') expect(n).toBeGreaterThan(L.tokens / 2);
        else expect(e).toMatchObject({ code: 'TOO_DEEP', message: 'the file nests too deeply; keep it under 64 levels' });
        expect(ms).toBeLessThan(500);
      }
    }
    const indented = Array.from({ length: 100 }, (_, i) => `${'  '.repeat(i)}k:`).join('\n') + ' 1\n';
    expect(first(parseYamlBounded(indented)).code).toBe('TOO_DEEP');
    expect(parseYamlBounded(`${'['.repeat(64)}${']'.repeat(64)}`).ok).toBe(true);
    expect(first(parseYamlBounded(`${'['.repeat(65)}${']'.repeat(65)}`)).code).toBe('TOO_DEEP');
  });

  it('refuses text past the length bound before parsing, and past the token bound after lexing only', () => {
    expect(first(parseYamlBounded('x'.repeat(L.length + 1)))).toMatchObject({ code: 'TOO_LONG', line: 1, column: 1 });
    const many = '- 1\n'.repeat(L.tokens);
    const { r, ms } = timed(() => parseYamlBounded(many));
    expect(first(r)).toMatchObject({ code: 'TOO_MANY_TOKENS', message: expect.stringContaining(`more than ${L.tokens} YAML tokens`) });
    expect(first(r).line).toBeGreaterThan(1000);
    expect(ms).toBeLessThan(500);
  });

  it('refuses keys that are not plain scalars, and duplicate keys as toJS would write them', () => {
    expect(first(parseYamlBounded('title: t\n? [x]\n: 1\n'))).toMatchObject({
      code: 'NON_SCALAR_KEY',
      line: 2,
      column: 3,
      message: 'a key must be a plain string, not a list, mapping or alias',
    });
    expect(first(parseYamlBounded('a: &k x\n*k : 1\n')).code).toBe('NON_SCALAR_KEY');
    expect(first(parseYamlBounded('a: 1\nb: 2\na: 3\n'))).toMatchObject({ code: 'DUPLICATE_KEY', line: 3, column: 1, syntax: true });
    // 1 and "1" are one key once in an object: the second would silently replace the first.
    expect(first(parseYamlBounded('1: a\n"1": b\n')).code).toBe('DUPLICATE_KEY');
    const dups = parseYamlBounded(`{${'a: 1, '.repeat(500)}a: 1}`);
    expect(dups.ok ? 0 : dups.errors.length).toBe(100);
  });

  it('refuses text that cannot be stored unchanged, in the file or produced by an escape', () => {
    expect(first(parseYamlBounded('a: 1 # \u0000\n'))).toMatchObject({ code: 'TEXT', line: 1, column: 8 });
    expect(first(parseYamlBounded('a: "x\\0"\n'))).toMatchObject({
      code: 'TEXT',
      message: expect.stringMatching(/^a string here holds a NUL/),
    });
    expect(first(parseYamlBounded('"\\ud800": 1\n')).message).toMatch(/^a key here holds a lone surrogate/);
  });

  it('refuses a second document', () => {
    expect(first(parseYamlBounded('a: 1\n---\nb: 2\n'))).toMatchObject({ code: 'MULTIPLE_DOCS', line: 2 });
    expect(parseYamlBounded('---\na: 1\n').ok).toBe(true);
  });

  it('keeps the parse of the worst shapes within the bounds to a fixed time', () => {
    // CPU time of each on this machine under load (2 shared cores, load average 17–22): 22–48 ms.
    const shapes: ((n: number) => string)[] = [
      (n) => `[${'1,'.repeat(n)}1]`,
      (n) => '- 1\n'.repeat(n),
      (n) => Array.from({ length: n }, (_, i) => `k${i}: v\n`).join(''),
      (n) => `[${','.repeat(n)}]`,
      (n) => `[${'[],'.repeat(n)}[]]`,
      (n) => '#c\n'.repeat(n),
      (n) => Array.from({ length: n }, (_, i) => `- &a${i} ${i}\n`).join(''),
      (n) => `{${'a: 1,'.repeat(n)}a: 1}`,
    ];
    for (const make of shapes) {
      const text = largestWithin(make);
      const { ms } = timed(() => parseYamlBounded(text));
      expect(ms, text.slice(0, 20)).toBeLessThan(500);
    }
  });
});
