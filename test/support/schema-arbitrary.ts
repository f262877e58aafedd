/**
 * fast-check arbitraries from schemas, for fuzzing what the API declares.
 *
 * A zod schema is turned into JSON Schema by zod itself (`z.toJSONSchema`, the same conversion
 * the OpenAPI document uses), and the JSON Schema into an arbitrary. The keywords understood are
 * those zod emits for request schemas: object (properties, required, additionalProperties,
 * propertyNames, min/maxProperties), string (min/maxLength, pattern, format, enum, const),
 * number and integer (bounds, exclusive bounds, multipleOf), boolean, null, array (items,
 * prefixItems, min/maxItems, uniqueItems), anyOf/oneOf/allOf, type lists, $ref into $defs.
 * Anything else becomes an arbitrary JSON value. What JSON Schema cannot say (refinements,
 * transforms) is not known here, so a generated value can still be refused by the zod schema;
 * for plain schemas it is accepted (schema-arbitrary.test.ts checks a set of them).
 *
 * A dictionary of known strings and numbers (ids seen in earlier answers, say) is mixed in at
 * every position whose constraints they meet, so generated requests can name things that exist;
 * values known under a member's name (`byKey.name`) are preferred for members of that name.
 *
 * The odd-input arbitraries below (odd Unicode, any UTF-16 code unit, deep nesting, JSON value
 * mutations) are shared by the fuzzing tests.
 */
import fc from 'fast-check';
import { z, type ZodType } from 'zod';

export type JsonSchema = boolean | { [keyword: string]: unknown };

export interface Dictionary {
  strings?: readonly string[];
  numbers?: readonly number[];
  /** Values known under a member name: used often for members (and path or query parameters) of that name. */
  byKey?: Readonly<Record<string, { strings?: readonly string[]; numbers?: readonly number[] }>>;
}

export interface SchemaArbitraryOptions {
  /** Known values, used where they fit the schema. */
  dictionary?: Dictionary;
  /** Most entries generated in an array or a record (default 4); a schema's minimum wins. */
  maxItems?: number;
  /** Longest string generated where the schema sets no maximum (default 40). */
  maxStringLength?: number;
  /** Nesting depth of unconstrained values and of recursive schemas (default 3). */
  maxDepth?: number;
}

type Obj = { [keyword: string]: unknown };

/** The input JSON Schema of a zod schema, as the OpenAPI document gets it. */
export function toJsonSchema(schema: ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

/** Values for a zod schema, generated from its JSON Schema; any JSON value where it has none. */
export function schemaArbitrary(schema: ZodType, opts: SchemaArbitraryOptions = {}): fc.Arbitrary<unknown> {
  let js: JsonSchema;
  try {
    js = toJsonSchema(schema);
  } catch {
    return anyJson(opts.maxDepth ?? 3);
  }
  return jsonSchemaArbitrary(js, opts);
}

export function jsonSchemaArbitrary(root: JsonSchema, opts: SchemaArbitraryOptions = {}): fc.Arbitrary<unknown> {
  const ctx: Ctx = {
    root,
    strings: [...new Set(opts.dictionary?.strings ?? [])],
    numbers: [...new Set(opts.dictionary?.numbers ?? [])],
    byKey: opts.dictionary?.byKey ?? {},
    maxItems: opts.maxItems ?? 4,
    maxStringLength: opts.maxStringLength ?? 40,
    maxDepth: opts.maxDepth ?? 3,
  };
  return walk(ctx, root, 0);
}

interface Ctx {
  root: JsonSchema;
  strings: string[];
  numbers: number[];
  byKey: NonNullable<Dictionary['byKey']>;
  maxItems: number;
  maxStringLength: number;
  maxDepth: number;
}

/** Beyond this depth a recursive schema gets its smallest values: required members, minimum items. */
const HARD_DEPTH = 12;

const anyJson = (maxDepth: number): fc.Arbitrary<unknown> => fc.jsonValue({ maxDepth });

/** `key`: the member name the value is generated for, if any (array items keep their array's). */
function walk(ctx: Ctx, s: JsonSchema, depth: number, key?: string): fc.Arbitrary<unknown> {
  if (s === true || s === undefined) return anyJson(Math.max(0, ctx.maxDepth - depth));
  if (s === false) return fc.constant(null); // nothing is valid; any value will do to be refused
  if (depth > HARD_DEPTH) return fc.constant(null);

  if (typeof s.$ref === 'string') {
    const target = resolveRef(ctx.root, s.$ref);
    return target === undefined ? anyJson(1) : walk(ctx, target, depth + 1, key);
  }
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum) && s.enum.length > 0) return fc.constantFrom(...(s.enum as unknown[]));

  const branches = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(branches) && branches.length > 0) {
    const rest = without(s, ['anyOf', 'oneOf']);
    const arbs = branches.map((b) => walk(ctx, typeof b === 'object' && hasTypeKeywords(rest) ? { ...rest, ...b } : b, depth + 1, key));
    // Deep in a recursive schema, prefer the branches that end (a null, a scalar).
    return depth > ctx.maxDepth ? arbs[arbs.length - 1]! : fc.oneof(...arbs);
  }
  if (Array.isArray(s.allOf) && s.allOf.length > 0) return walk(ctx, mergeAll(without(s, ['allOf']), s.allOf as JsonSchema[]), depth, key);

  const type = s.type ?? inferType(s);
  if (Array.isArray(type)) {
    if (type.length === 0) return anyJson(1);
    return fc.oneof(...type.map((t) => walk(ctx, { ...s, type: t }, depth, key)));
  }
  switch (typeof type === 'string' ? type : 'any') {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return integerArb(ctx, s, key);
    case 'number':
      return numberArb(ctx, s, key);
    case 'string':
      return stringArb(ctx, s, key);
    case 'array':
      return arrayArb(ctx, s, depth, key);
    case 'object':
      return objectArb(ctx, s, depth);
    default:
      return anyJson(Math.max(0, ctx.maxDepth - depth));
  }
}

function resolveRef(root: JsonSchema, ref: string): JsonSchema | undefined {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Obj)[key];
  }
  return node as JsonSchema | undefined;
}

const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  'description',
  'title',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$defs',
]);

function hasTypeKeywords(s: Obj): boolean {
  return Object.keys(s).some((k) => !ANNOTATIONS.has(k));
}

function without(s: Obj, keys: string[]): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(s)) if (!keys.includes(k)) out[k] = v;
  return out;
}

/** allOf of objects (zod intersections): properties and required merged; otherwise the first that says something. */
function mergeAll(base: Obj, parts: JsonSchema[]): JsonSchema {
  const objs = parts.filter((p): p is Obj => typeof p === 'object');
  if (objs.every((p) => (p.type ?? inferType(p)) === 'object')) {
    const properties: Obj = { ...((base.properties as Obj | undefined) ?? {}) };
    const required = new Set<string>((base.required as string[] | undefined) ?? []);
    for (const p of objs) {
      Object.assign(properties, (p.properties as Obj | undefined) ?? {});
      for (const r of (p.required as string[] | undefined) ?? []) required.add(r);
    }
    return { ...base, type: 'object', properties, required: [...required] };
  }
  return objs.find(hasTypeKeywords) ?? true;
}

function inferType(s: Obj): string | undefined {
  if ('properties' in s || 'additionalProperties' in s || 'propertyNames' in s) return 'object';
  if ('items' in s || 'prefixItems' in s) return 'array';
  if ('pattern' in s || 'minLength' in s || 'maxLength' in s || 'format' in s) return 'string';
  if ('minimum' in s || 'maximum' in s || 'exclusiveMinimum' in s || 'exclusiveMaximum' in s) return 'number';
  return undefined;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

// ---------------------------------------------------------------------------------------------
// numbers

/** Known values that fit, those known under `key` weighted up; none when nothing fits. */
function knownArbs<T>(ctx: Ctx, kind: 'strings' | 'numbers', key: string | undefined, fits: (v: T) => boolean): fc.WeightedArbitrary<T>[] {
  const general = (ctx[kind] as unknown as T[]).filter(fits);
  const keyed = key !== undefined && Object.hasOwn(ctx.byKey, key) ? ((ctx.byKey[key]![kind] ?? []) as unknown as T[]).filter(fits) : [];
  return [
    ...(keyed.length > 0 ? [{ arbitrary: fc.constantFrom(...keyed), weight: 6 }] : []),
    ...(general.length > 0 ? [{ arbitrary: fc.constantFrom(...general), weight: 1 }] : []),
  ];
}

function integerArb(ctx: Ctx, s: Obj, key?: string): fc.Arbitrary<number> {
  let lo = Math.ceil(num(s.minimum) ?? Number.MIN_SAFE_INTEGER);
  let hi = Math.floor(num(s.maximum) ?? Number.MAX_SAFE_INTEGER);
  const exLo = num(s.exclusiveMinimum);
  const exHi = num(s.exclusiveMaximum);
  if (exLo !== undefined) lo = Math.max(lo, Math.floor(exLo) + 1);
  if (exHi !== undefined) hi = Math.min(hi, Math.ceil(exHi) - 1);
  lo = Math.max(lo, Number.MIN_SAFE_INTEGER);
  hi = Math.min(hi, Number.MAX_SAFE_INTEGER);
  if (lo > hi) return fc.constant(lo);
  const step = num(s.multipleOf);
  const arb = fc.oneof(
    // Where counts, sizes and positions live: near the lower bound, or around zero.
    { arbitrary: boundedInt(Math.max(lo, Math.min(0, hi) - 100), Math.min(hi, Math.max(lo, 0) + 1000)), weight: 2 },
    { arbitrary: boundedInt(lo, hi), weight: 1 },
    { arbitrary: fc.constantFrom(lo, hi), weight: 1 },
    ...knownArbs<number>(ctx, 'numbers', key, (n) => Number.isInteger(n) && n >= lo && n <= hi),
  );
  if (step === undefined || step <= 0 || !Number.isInteger(step)) return arb;
  return arb.map((v) => {
    const first = Math.ceil(lo / step) * step;
    const m = first + Math.floor((v - first) / step) * step;
    return m < lo ? first : m > hi ? m - step : m;
  });
}

const INT32 = 2 ** 31 - 1;

function boundedInt(lo: number, hi: number): fc.Arbitrary<number> {
  if (lo >= -INT32 - 1 && hi <= INT32) return fc.integer({ min: lo, max: hi });
  return fc.bigInt({ min: BigInt(lo), max: BigInt(hi) }).map(Number);
}

function numberArb(ctx: Ctx, s: Obj, key?: string): fc.Arbitrary<number> {
  const min = num(s.minimum) ?? num(s.exclusiveMinimum);
  const max = num(s.maximum) ?? num(s.exclusiveMaximum);
  const minExcluded = s.minimum === undefined && s.exclusiveMinimum !== undefined;
  const maxExcluded = s.maximum === undefined && s.exclusiveMaximum !== undefined;
  const ints = integerArb(ctx, s, key);
  const doubles = fc
    .double({
      noNaN: true,
      noDefaultInfinity: true,
      ...(min !== undefined ? { min, minExcluded } : { min: -1e15 }),
      ...(max !== undefined ? { max, maxExcluded } : { max: 1e15 }),
    })
    .map((d) => (Object.is(d, -0) ? 0 : d));
  const step = num(s.multipleOf);
  if (step !== undefined) return ints;
  // No integer between the bounds (0 < x < 1): doubles only.
  const intLo = min === undefined ? -Infinity : minExcluded ? Math.floor(min) + 1 : Math.ceil(min);
  const intHi = max === undefined ? Infinity : maxExcluded ? Math.ceil(max) - 1 : Math.floor(max);
  return intLo <= intHi ? fc.oneof(ints, doubles) : doubles;
}

// ---------------------------------------------------------------------------------------------
// strings

function stringArb(ctx: Ctx, s: Obj, key?: string): fc.Arbitrary<string> {
  const min = num(s.minLength) ?? 0;
  const max = num(s.maxLength) ?? Math.max(min, ctx.maxStringLength);
  const fits = lengthBetween(min, max);
  let pattern: RegExp | undefined;
  if (typeof s.pattern === 'string') {
    // Without flags, as zod tests it (JSON Schema keeps no flags).
    try {
      pattern = new RegExp(s.pattern);
    } catch {
      pattern = undefined;
    }
  }
  const accepts = (v: string) => fits(v) && (pattern === undefined || pattern.test(v));
  const arbs: fc.Arbitrary<string>[] = [];

  const formatted = typeof s.format === 'string' ? formatArb(s.format) : undefined;
  if (formatted) arbs.push(pattern || min > 0 || s.maxLength !== undefined ? guardedFilter(formatted, accepts) : formatted);
  else if (pattern) {
    const matching = patternArb(pattern, max);
    if (matching) arbs.push(guardedFilter(matching, accepts));
  } else {
    const cap = Math.min(max, Math.max(min, ctx.maxStringLength));
    arbs.push(
      fc.string({ minLength: min, maxLength: cap }),
      // Code points outside the BMP take two UTF-16 units, and zod counts units: half as many
      // code points always fit.
      fc.string({ unit: 'grapheme-composite', minLength: min, maxLength: Math.max(min, Math.floor(cap / 2)) }).filter(fits),
      fc.string({ unit: anyCodePoint, minLength: min, maxLength: Math.max(min, Math.floor(cap / 2)) }).filter(fits),
    );
    // The longest string allowed, where sending it stays cheap.
    if (max > cap && max <= 64 * 1024) arbs.push(fc.constant('x'.repeat(max)));
  }
  const known = knownArbs<string>(ctx, 'strings', key, accepts);
  // A pattern fast-check cannot generate from, with nothing known that fits: plain strings (zod may refuse them).
  if (arbs.length === 0 && known.length === 0) arbs.push(fc.string({ minLength: min, maxLength: Math.min(max, ctx.maxStringLength) }));
  return fc.oneof(...arbs.map((arbitrary) => ({ arbitrary, weight: 1 })), ...known.map((k) => ({ ...k, weight: k.weight * 2 })));
}

/** Strings of `min`–`max` UTF-16 code units, as zod counts them. */
const lengthBetween = (min: number, max: number) => (v: string) => v.length >= min && v.length <= max;

function patternArb(pattern: RegExp, max: number): fc.Arbitrary<string> | undefined {
  try {
    const arb = fc.stringMatching(pattern, { maxLength: Math.min(max, 10_000) });
    // Sample once: fast-check refuses some regex syntax only when it generates.
    fc.sample(arb, { numRuns: 1, seed: 1 });
    return arb;
  } catch {
    return undefined;
  }
}

/**
 * `arb` filtered by `accepts`, without the risk of spinning forever: fast-check's filter retries
 * until a value passes, so it is used only when a probe shows that most values do. Otherwise the
 * first of a few candidates that passes is kept, or the last candidate, which the schema then
 * refuses (which a fuzzer may well send).
 */
function guardedFilter(arb: fc.Arbitrary<string>, accepts: (v: string) => boolean): fc.Arbitrary<string> {
  const probe = fc.sample(arb, { numRuns: 50, seed: 11 });
  if (probe.filter(accepts).length >= 5) return arb.filter(accepts);
  return fc.array(arb, { minLength: 8, maxLength: 8 }).map((candidates) => candidates.find(accepts) ?? candidates.at(-1)!);
}

const MIN_DATE = new Date('1970-01-01T00:00:00.000Z');
const MAX_DATE = new Date('9999-12-31T23:59:59.999Z');
const isoDate = fc.date({ min: MIN_DATE, max: MAX_DATE, noInvalidDate: true }).map((d) => d.toISOString());

function formatArb(format: string): fc.Arbitrary<string> | undefined {
  switch (format) {
    case 'date-time':
      return fc.oneof(
        isoDate,
        isoDate.map((d) => d.replace(/\.\d{3}Z$/, 'Z')),
      );
    case 'date':
      return isoDate.map((d) => d.slice(0, 10));
    case 'time':
      return isoDate.map((d) => d.slice(11, 19));
    case 'email':
      return fc
        .tuple(fc.stringMatching(/^[a-z0-9]{1,10}$/), fc.stringMatching(/^[a-z0-9]{1,10}$/), fc.constantFrom('com', 'org', 'example'))
        .map(([local, domain, tld]) => `${local}@${domain}.${tld}`);
    case 'uuid':
    case 'guid':
      return fc.uuid();
    case 'uri':
    case 'url':
      return fc.webUrl();
    case 'ipv4':
      return fc.ipV4();
    case 'ipv6':
      return fc.ipV6();
    case 'ulid':
      return fc.ulid();
    case 'base64':
      return fc.base64String();
    case 'duration':
      return fc.tuple(fc.nat(99), fc.nat(23), fc.nat(59)).map(([d, h, m]) => `P${d}DT${h}H${m}M`);
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// arrays and objects

function arrayArb(ctx: Ctx, s: Obj, depth: number, key?: string): fc.Arbitrary<unknown[]> {
  const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as JsonSchema[]).map((p) => walk(ctx, p, depth + 1, key)) : [];
  const minItems = num(s.minItems) ?? 0;
  const maxItems = Math.max(
    minItems,
    Math.min(num(s.maxItems) ?? Infinity, depth > ctx.maxDepth ? minItems : ctx.maxItems + prefix.length),
  );
  const items = s.items === false ? undefined : walk(ctx, (s.items as JsonSchema | undefined) ?? true, depth + 1, key);
  const restMin = Math.max(0, minItems - prefix.length);
  const restMax = items ? Math.max(restMin, maxItems - prefix.length) : 0;
  const rest = items
    ? s.uniqueItems === true
      ? fc.uniqueArray(items, { minLength: restMin, maxLength: restMax, selector: (v) => JSON.stringify(v) })
      : fc.array(items, { minLength: restMin, maxLength: restMax })
    : fc.constant([] as unknown[]);
  return fc.tuple(fc.tuple(...prefix), rest).map(([head, tail]) => [...head, ...tail]);
}

/** Marks an optional member left out. */
const ABSENT: unique symbol = Symbol('absent');

/** Keys JSON.parse would turn into prototype changes, or that every object already has. */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function objectArb(ctx: Ctx, s: Obj, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties = (s.properties as Record<string, JsonSchema> | undefined) ?? {};
  const required = new Set(((s.required as string[] | undefined) ?? []).filter((k) => k in properties));
  const shallow = depth > ctx.maxDepth;
  const declared: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, p] of Object.entries(properties)) {
    if (shallow && !required.has(k)) continue;
    const arb = walk(ctx, p, depth + 1, k);
    // Optional members are left out half the time (fc.record's own optional keys almost never are).
    declared[k] = required.has(k) ? arb : fc.option(arb, { nil: ABSENT, freq: 2 });
  }
  const fixed = fc
    .record(declared)
    .map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== ABSENT)) as Record<string, unknown>);

  const additional = s.additionalProperties as JsonSchema | undefined;
  const maxProps = num(s.maxProperties);
  const room = Math.min(ctx.maxItems, maxProps !== undefined ? Math.max(0, maxProps - Object.keys(properties).length) : Infinity);
  const minExtra = Math.max(0, (num(s.minProperties) ?? 0) - Object.keys(properties).length);
  if (additional === false || room === 0 || (shallow && minExtra === 0)) return fixed;
  // A declared object without additionalProperties (zod's z.object) takes unknown keys and strips them.
  if (additional === undefined && Object.keys(properties).length > 0) return fixed;
  const names = s.propertyNames as JsonSchema | undefined;
  const keyArb = (
    typeof names === 'object' && names !== null ? walk(ctx, { type: 'string', ...names }, depth + 1) : fc.string({ maxLength: 12 })
  ).filter((k) => typeof k === 'string' && !(k in properties) && !RESERVED_KEYS.has(k)) as fc.Arbitrary<string>;
  const extra = fc.dictionary(keyArb, walk(ctx, additional ?? true, depth + 1), {
    minKeys: Math.min(minExtra, room),
    maxKeys: Math.max(Math.min(minExtra, room), room),
    noNullPrototype: true,
  });
  return fc.tuple(fixed, extra).map(([a, b]) => ({ ...b, ...a }));
}

// ---------------------------------------------------------------------------------------------
// odd input, shared by the fuzzing tests

/**
 * Any Unicode scalar value (a code point that is not a surrogate), as its string. fast-check's own
 * `unit: 'binary'` does the same but is slow to start.
 */
export const anyCodePoint: fc.Arbitrary<string> = fc
  .oneof(fc.integer({ min: 0, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0x10ffff }))
  .map((c) => String.fromCodePoint(c));

/** Any UTF-16 code unit, lone surrogates included: what a JavaScript string can hold. */
export const anyCodeUnit: fc.Arbitrary<string> = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Strings of arbitrary UTF-16 code units. */
export const anyUtf16String = (constraints: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<string> =>
  fc.string({ unit: anyCodeUnit, ...constraints });

/** Text that breaks naive handling: surrogates, noncharacters, controls, bidi and combining marks, emoji. */
export const ODD_TEXT: readonly string[] = [
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '\udc00\ud800', // a pair in the wrong order
  'a\ud83d', // high surrogate at the end
  '\ud83db', // high surrogate before a letter
  '\ufffe', // noncharacters
  '\uffff',
  '\ufdd0',
  '\udbff\udfff', // U+10FFFF, a noncharacter outside the BMP
  '\u0000', // NUL
  'a\u0000b',
  '\u0001\u001f\u007f', // controls
  '\u0085', // NEL
  '\u2028\u2029', // line and paragraph separators (break JavaScript string literals)
  '\u200f', // right-to-left mark
  '\u202e', // right-to-left override
  '\u2066\u2069', // isolates
  '\u200b\u200c\u200d', // zero widths
  '\ufeff', // byte order mark
  'e\u0301', // combining acute (NFD of é)
  '\u00e9', // é precomposed (NFC)
  'Z\u0351\u0359\u035a\u0363\u0364\u0365\u0366\u0367\u0368\u0369\u036a\u036b', // stacked combining marks
  '\u{1f600}', // emoji
  '\u{1f469}\u200d\u{1f469}\u200d\u{1f467}', // ZWJ sequence
  '\u{1f1fa}\u{1f1f8}', // flag
  '\u0130\u0131\u00df\ufb03', // case mappings that change length
  '\u00ad', // soft hyphen
  '"\\\'`<>&%{}$', // quoting and templating
  '${bulwark_run_id}',
  '\r\n\t',
  ' ',
  '',
];

/** One of the odd strings, alone or around ordinary text. */
export const oddText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...ODD_TEXT),
  fc.tuple(fc.string({ maxLength: 5 }), fc.constantFrom(...ODD_TEXT), fc.string({ maxLength: 5 })).map(([a, b, c]) => a + b + c),
  anyUtf16String({ minLength: 1, maxLength: 8 }),
);

/** JSON text of `depth` nested arrays (`[[[…]]]`) or objects (`{"a":{"a":…}}`). */
export function deepJsonText(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** Every position in a JSON value: the path to it and the value there. */
export function jsonPaths(value: unknown, path: (string | number)[] = [], out: { path: (string | number)[]; value: unknown }[] = []) {
  out.push({ path, value });
  if (Array.isArray(value)) value.forEach((v, i) => jsonPaths(v, [...path, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) jsonPaths(v, [...path, k], out);
  return out;
}

/** `value` with the position at `path` replaced by `replace(old)`; a copy, the original is kept. */
export function replaceAt(value: unknown, path: readonly (string | number)[], replace: (old: unknown) => unknown): unknown {
  if (path.length === 0) return replace(value);
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? replaceAt(v, rest, replace) : v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = k === head ? replaceAt(v, rest, replace) : v;
    return out;
  }
  return value;
}
