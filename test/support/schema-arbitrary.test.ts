import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z, type ZodType } from 'zod';
import { CreateTokenInput } from '../../src/app/access/tokens.ts';
import { NoteInput } from '../../src/app/ledger/notes.ts';
import {
  ODD_TEXT,
  anyUtf16String,
  deepJsonText,
  jsonPaths,
  jsonSchemaArbitrary,
  oddText,
  replaceAt,
  schemaArbitrary,
  toJsonSchema,
} from './schema-arbitrary.ts';

interface Tree {
  name: string;
  children: Tree[];
}
const Tree: z.ZodType<Tree> = z.lazy(() => z.object({ name: z.string().min(1), children: z.array(Tree) }));

/** Schemas whose every constraint JSON Schema can state: every generated value must pass them. */
const SAMPLES: Record<string, ZodType> = {
  'strict object with optional, default and enum members': z.strictObject({
    name: z.string().min(1).max(20),
    kind: z.enum(['a', 'b', 'c']).default('a'),
    flag: z.boolean().optional(),
    note: z.string().max(3).nullable(),
  }),
  'loose object': z.looseObject({ id: z.string() }),
  'object stripping unknown keys': z.object({ id: z.number().int() }),
  'integers with bounds': z.number().int().min(-5).max(5),
  'safe integers': z.int(),
  'exclusive bounds': z.number().gt(0).lt(1),
  'multiples of 5 within bounds': z.number().int().multipleOf(5).min(-20).max(1000),
  'any finite number': z.number(),
  'coerced query numbers, given numbers': z.coerce.number().int().min(1).max(1000),
  'arrays with bounds': z.array(z.string().length(2)).min(1).max(3),
  tuples: z.tuple([z.string(), z.number(), z.boolean()]),
  unions: z.union([z.string().max(2), z.number().int(), z.null()]),
  'discriminated unions': z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('a'), a: z.string() }),
    z.strictObject({ type: z.literal('b'), b: z.number() }),
  ]),
  'records with key patterns': z.record(z.string().regex(/^[a-z][a-z0-9_]{0,9}$/), z.number().int().nonnegative()),
  'regex strings': z.string().regex(/^sig_[0-9a-f]{32}$/),
  'regex with a length limit': z
    .string()
    .min(3)
    .max(100)
    .regex(/^[\w .@:-]+$/),
  'literal and const': z.object({ v: z.literal('x'), n: z.literal(3) }),
  emails: z.email(),
  uuids: z.uuid(),
  'ISO date-times': z.iso.datetime(),
  'ISO dates': z.iso.date(),
  'IPv4 addresses': z.ipv4(),
  'recursive schemas': Tree,
  intersections: z.object({ a: z.string() }).and(z.object({ b: z.number() })),
  'unique items': z.array(z.number().int().min(0).max(3)).max(3),
  'unconstrained values': z.unknown(),
  'the ledger note input': NoteInput,
  'the token input': CreateTokenInput,
};

describe('schemaArbitrary', () => {
  for (const [name, schema] of Object.entries(SAMPLES)) {
    it(`generates values the schema accepts: ${name}`, () => {
      fc.assert(
        fc.property(schemaArbitrary(schema), (value) => {
          const r = schema.safeParse(value);
          if (!r.success) throw new Error(`${JSON.stringify(value)} refused: ${r.error.message}`);
        }),
        { numRuns: 200, seed: 42 },
      );
    });
  }

  it('mixes in dictionary values that fit, and only those', () => {
    const id = z.string().regex(/^[a-z0-9]{12}$/);
    const seen = fc.sample(schemaArbitrary(id, { dictionary: { strings: ['abcdefabcdef', 'NOT-AN-ID'] } }), { numRuns: 300, seed: 7 });
    expect(seen).toContain('abcdefabcdef');
    expect(seen).not.toContain('NOT-AN-ID');
    const seq = z.number().int().min(0);
    const nums = fc.sample(schemaArbitrary(seq, { dictionary: { numbers: [123456789, -4] } }), { numRuns: 300, seed: 7 });
    expect(nums).toContain(123456789);
    expect(nums).not.toContain(-4);
  });

  it('leaves optional members out about half the time, and never required ones', () => {
    const schema = z.strictObject({ a: z.string(), b: z.number().optional() });
    const sample = fc.sample(schemaArbitrary(schema), { numRuns: 400, seed: 9 }) as Record<string, unknown>[];
    expect(sample.every((v) => 'a' in v)).toBe(true);
    const withB = sample.filter((v) => 'b' in v).length;
    expect(withB).toBeGreaterThan(120);
    expect(withB).toBeLessThan(280);
  });

  it('prefers values known under the member name', () => {
    const schema = z.strictObject({ name: z.string().regex(/^[a-z-]{1,20}$/) });
    const dictionary = { strings: ['other-value'], byKey: { name: { strings: ['fuzz-probe'] } } };
    const names = fc.sample(schemaArbitrary(schema, { dictionary }), { numRuns: 400, seed: 9 }).map((v) => (v as { name: string }).name);
    expect(names.filter((n) => n === 'fuzz-probe').length).toBeGreaterThan(names.filter((n) => n === 'other-value').length);
  });

  it('reaches both ends of a bounded integer range', () => {
    const seen = new Set(fc.sample(schemaArbitrary(z.number().int().min(1).max(9_007_199_254_740_991)), { numRuns: 500, seed: 3 }));
    expect(seen.has(1)).toBe(true);
    expect(seen.has(9_007_199_254_740_991)).toBe(true);
  });

  it('falls back to any JSON value where the schema says nothing', () => {
    fc.assert(
      fc.property(jsonSchemaArbitrary({}), (v) => {
        expect(() => JSON.stringify(v)).not.toThrow();
      }),
      { numRuns: 100, seed: 1 },
    );
    expect(toJsonSchema(z.string())).toMatchObject({ type: 'string' });
  });

  it('generates only values an object with additionalProperties: false allows', () => {
    fc.assert(
      fc.property(jsonSchemaArbitrary({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false }), (v) => {
        expect(Object.keys(v as object).every((k) => k === 'a')).toBe(true);
      }),
      { numRuns: 100, seed: 1 },
    );
  });
});

describe('odd input', () => {
  it('includes lone surrogates, noncharacters, NUL and bidi marks', () => {
    const lone = (s: string) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
    expect(ODD_TEXT.some(lone)).toBe(true);
    expect(ODD_TEXT).toEqual(expect.arrayContaining(['\ufffe', '\u0000', '\u200f']));
    const sample = fc.sample(anyUtf16String({ minLength: 20, maxLength: 20 }), { numRuns: 200, seed: 5 });
    expect(sample.some(lone)).toBe(true);
    expect(fc.sample(oddText, { numRuns: 50, seed: 5 }).every((s) => typeof s === 'string')).toBe(true);
  });

  it('writes deep JSON that JSON.parse reads back at that depth', () => {
    let v: unknown = JSON.parse(deepJsonText(100, 'object'));
    let depth = 0;
    while (v !== null && typeof v === 'object') {
      v = (v as { a: unknown }).a;
      depth += 1;
    }
    expect(depth).toBe(100);
    expect(JSON.parse(deepJsonText(3, 'array'))).toEqual([[[]]]);
  });

  it('lists every position of a value and replaces one without touching the original', () => {
    const v = { a: [1, { b: 'x' }], c: null };
    expect(jsonPaths(v).map((p) => p.path.join('.'))).toEqual(['', 'a', 'a.0', 'a.1', 'a.1.b', 'c']);
    expect(replaceAt(v, ['a', 1, 'b'], () => 'y')).toEqual({ a: [1, { b: 'y' }], c: null });
    expect(v.a[1]).toEqual({ b: 'x' });
  });
});
