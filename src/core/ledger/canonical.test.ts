import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { DomainError, invalid } from '../errors.ts';
import { MAX_DEPTH, quote } from './canonical.ts';
import { assertNoSecrets, canonicalJson, encodeData, type Json } from './entry.ts';

// The encoding as it was before the one-walk encoder, kept as the oracle for outputs and errors;
// changed only where the old one was wrong: holes of sparse arrays and lone surrogates are now
// refused with a DomainError (the old code wrote `[1,,2]` and threw a plain Error).
const SECRET = /^(token|secret|password|passwd|private_?key|totp_?seed|authorization|api_?key)$/i;
function refAssertJson(value: unknown, path: string): void {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(`${path} is not a finite number`);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw invalid(`${path}[${i}] is a hole in a sparse array, which JSON cannot carry`);
      refAssertJson(value[i], `${path}[${i}]`);
    }
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) throw invalid(`${path}.${k} is undefined; omit the key instead`);
      refAssertJson(v, `${path}.${k}`);
    }
    return;
  }
  throw invalid(`${path} is a ${typeof value}, which JSON cannot carry`);
}
function refCanonicalJson(value: unknown): string {
  refAssertJson(value, '$');
  let out: string | undefined;
  try {
    out = canonicalize(value);
  } catch (e) {
    throw invalid(`value cannot be encoded as canonical JSON: ${(e as Error).message}; send well-formed Unicode text`);
  }
  if (out === undefined) throw invalid('value cannot be encoded as JSON');
  return out;
}
function refAssertNoSecrets(value: Json, path = 'data'): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => refAssertNoSecrets(v, `${path}[${i}]`));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (SECRET.test(k))
        throw invalid(`${path}.${k} looks like a secret, and secrets never enter the ledger; remove the field or rename it`);
      refAssertNoSecrets(v, `${path}.${k}`);
    }
  }
}
function refEncodeData(value: unknown): string {
  refAssertNoSecrets(value as Json);
  return refCanonicalJson(value);
}

type Outcome = { ok: string } | { error: string };
function outcome(f: () => string | void): Outcome {
  try {
    return { ok: String(f()) };
  } catch (e) {
    return { error: `${(e as Error).constructor.name}/${(e as { code?: string }).code ?? ''}: ${(e as Error).message}` };
  }
}
/** The new functions agree with the old ones, in output or in error type, code and message. */
function agrees(value: unknown): void {
  expect(outcome(() => encodeData(value))).toEqual(outcome(() => refEncodeData(value)));
  expect(outcome(() => canonicalJson(value))).toEqual(outcome(() => refCanonicalJson(value)));
  expect(outcome(() => assertNoSecrets(value as Json))).toEqual(outcome(() => refAssertNoSecrets(value as Json)));
}

const adversarialKey = fc.oneof(
  fc.constantFrom('', '0', '1', '9', '10', '01', '-1', '1.5', '4294967294', '4294967295', '__proto__', 'constructor', 'toJSON'),
  fc.constantFrom('\u20ac', '\r', '\ufb33', '\ud83d\ude00', '\u0080', '\u00f6', '"', '\\', '\u2028', '\u007f', '\u0000'),
  fc.constantFrom('Token', 'api_key', 'apikey', 'PrivateKey', 'tokens', 'x_token', 'passwd', 'totpSeed'),
  fc.nat().map(String),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
);
const adversarialValue = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -0, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, -1.5, 0.1 + 0.2, 1e300),
    fc.double(),
    fc.string({ unit: 'binary' }),
    fc.array(tie('v')),
    fc.dictionary(adversarialKey, tie('v')),
  ),
}));
/** Objects as JSON.parse makes them, so `__proto__` is an ordinary own key. */
const parsedObject = fc.dictionary(adversarialKey, fc.jsonValue()).map((o) => {
  const text = `{${Object.entries(o)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`)
    .join(',')}}`;
  return JSON.parse(text) as unknown;
});

describe('encodeData', () => {
  it('is canonicalize for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(canonicalize(v));
        agrees(v);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with the old checks and encoding on adversarial keys, numbers and strings', () => {
    fc.assert(fc.property(adversarialValue.v, agrees), { numRuns: 3000 });
    fc.assert(fc.property(parsedObject, agrees), { numRuns: 1000 });
  });

  it('agrees with the old checks and encoding on values JSON cannot carry', () => {
    const anything = fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
      stringUnit: 'binary',
      key: adversarialKey,
    });
    fc.assert(fc.property(anything, agrees), { numRuns: 3000 });
  });

  it('orders keys by UTF-16 code units, not as JSON.stringify orders integer-like keys', () => {
    const v = JSON.parse('{"9":1,"10":2,"b":3,"a":4,"__proto__":5,"":6}') as unknown;
    expect(encodeData(v)).toBe('{"":6,"10":2,"9":1,"__proto__":5,"a":4,"b":3}');
    expect(encodeData({ '\ufb33': 0, '\ud83d\ude00': 1 })).toBe('{"\ud83d\ude00":1,"\ufb33":0}');
  });

  it('writes numbers as ECMAScript does', () => {
    expect(encodeData([-0, 1e21, 1e20, 5e-324, 1e-7, 2 ** 53 + 2, -1.5])).toBe(
      '[0,1e+21,100000000000000000000,5e-324,1e-7,9007199254740994,-1.5]',
    );
  });

  it('matches the RFC 8785 examples', () => {
    const numbers = JSON.parse('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001]}') as unknown;
    expect(encodeData(numbers)).toBe('{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}');
    const keys = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    ) as Record<string, unknown>;
    expect(encodeData(keys)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('refuses what JSON cannot carry, naming the path', () => {
    class Thing {
      x = 1;
    }
    const cases: [unknown, string][] = [
      [{ a: [1, Number.NaN] }, '$.a[1] is not a finite number'],
      [{ a: { b: Infinity } }, '$.a.b is not a finite number'],
      [{ a: undefined }, '$.a is undefined; omit the key instead'],
      [[1, undefined], '$[1] is a undefined, which JSON cannot carry'],
      [{ f: () => 1 }, '$.f is a function, which JSON cannot carry'],
      [{ at: new Date(0) }, '$.at is a object, which JSON cannot carry'],
      [{ m: new Map() }, '$.m is a object, which JSON cannot carry'],
      [{ t: new Thing() }, '$.t is a object, which JSON cannot carry'],
      [{ n: Object.create(null) as unknown }, '$.n is a object, which JSON cannot carry'],
      [{ n: 1n }, '$.n is a bigint, which JSON cannot carry'],
    ];
    for (const [v, message] of cases) {
      expect(() => encodeData(v)).toThrow(message);
      expect(() => canonicalJson(v)).toThrow(message);
      agrees(v);
    }
  });

  it('refuses secret-looking keys anywhere, before anything else', () => {
    const message = 'data.a[0].password looks like a secret, and secrets never enter the ledger; remove the field or rename it';
    expect(() => encodeData({ a: [{ password: 'x' }] })).toThrow(message);
    expect(() => encodeData({ a: [{ password: 'x' }], b: Number.NaN })).toThrow(message);
    expect(() => encodeData({ API_KEY: 1 })).toThrow('data.API_KEY looks like a secret');
    expect(() => assertNoSecrets({ a: [{ password: 'x' }] })).toThrow(message);
    expect(() => assertNoSecrets({ x: { Token: 1 } }, 'body')).toThrow('body.x.Token looks like a secret');
    expect(canonicalJson({ token: 'x' })).toBe('{"token":"x"}');
    expect(encodeData({ tokens: 1, token_id: 2, secretive: 3 })).toBe('{"secretive":3,"token_id":2,"tokens":1}');
  });

  it('refuses every spelling of every secret key, even after canonicalJson has written it', () => {
    const names = ['token', 'secret', 'password', 'passwd', 'privatekey', 'private_key', 'totpseed', 'totp_seed', 'authorization'];
    for (const name of [...names, 'apikey', 'api_key']) {
      for (const k of [name, name.toUpperCase(), name[0]!.toUpperCase() + name.slice(1)]) {
        expect(canonicalJson({ [k]: 1 })).toBe(`{"${k}":1}`);
        expect(() => encodeData({ [k]: 1 })).toThrow(`data.${k} looks like a secret`);
        expect(() => assertNoSecrets({ [k]: 1 })).toThrow(`data.${k} looks like a secret`);
        for (const near of [`${k}s`, `_${k}`, k.slice(1)]) expect(encodeData({ [near]: 1 })).toBe(`{"${near}":1}`);
      }
    }
  });

  it('refuses lone surrogates as canonicalize does, and keeps escaped backslashes', () => {
    for (const v of ['\ud800', { a: 'x\udfffy' }, { ['k\udbff']: 1 }, ['\ud83d\ude00\ude00']]) {
      expect(() => encodeData(v)).toThrow(/Lone surrogate is not allowed; send well-formed Unicode text/);
      expect(outcome(() => encodeData(v))).toMatchObject({ error: expect.stringMatching(/^DomainError\/invalid/) as unknown });
      agrees(v);
    }
    expect(encodeData({ a: '\\ud800', b: '\u0001"' })).toBe('{"a":"\\\\ud800","b":"\\u0001\\""}');
    expect(encodeData(['\ud83d\ude00'])).toBe('["\ud83d\ude00"]');
  });

  it('defers to the old encoding for toJSON methods, and refuses sparse arrays', () => {
    const withToJson = {};
    Object.defineProperty(withToJson, 'toJSON', { value: () => 'replaced', enumerable: false });
    agrees({ a: withToJson });
    agrees([1, , 2]);
    expect(() => encodeData({ list: [1, , 2] })).toThrow('$.list[1] is a hole in a sparse array, which JSON cannot carry');
  });
});

describe('depth', () => {
  /** A value `n` levels deep, built without recursion, as code wrapping input could build it. */
  const deep = (n: number, leaf: unknown = 1): unknown => {
    let v = leaf;
    for (let i = 0; i < n; i++) v = i % 2 === 0 ? [v] : { a: v };
    return v;
  };

  it('encodes values up to MAX_DEPTH levels exactly as canonicalize does', () => {
    for (const n of [1, 64, 200, MAX_DEPTH]) {
      const v = deep(n);
      expect(canonicalJson(v)).toBe(canonicalize(v));
      expect(encodeData(v)).toBe(canonicalize(v));
    }
  });

  it('refuses deeper values with invalid, never a RangeError, at 300, 5,000 and 100,000 levels', () => {
    for (const n of [MAX_DEPTH + 1, 300, 5000, 100_000]) {
      for (const v of [deep(n), deep(n, { token: 'x' })]) {
        for (const f of [() => canonicalJson(v), () => encodeData(v), () => assertNoSecrets(v as Json)]) {
          let thrown: unknown;
          try {
            f();
          } catch (e) {
            thrown = e;
          }
          if (thrown === undefined) continue; // assertNoSecrets on a value with no secret-looking key
          expect(thrown).toBeInstanceOf(DomainError);
          expect((thrown as DomainError).code).toBe('invalid');
        }
        expect(() => canonicalJson(v)).toThrow(new RegExp(`nests deeper than ${MAX_DEPTH} levels`));
      }
    }
  });

  it('refuses a cycle with invalid', () => {
    const a: unknown[] = [];
    a.push({ b: a });
    expect(() => canonicalJson(a)).toThrow(DomainError);
    expect(() => encodeData(a)).toThrow(DomainError);
    expect(() => assertNoSecrets(a as Json)).toThrow(DomainError);
  });
});

describe('quote', () => {
  it('is JSON.stringify for any string, surrogates and controls included', () => {
    const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit })), (s) => {
        expect(quote(s)).toBe(JSON.stringify(s));
      }),
      { numRuns: 2000 },
    );
  });
});
