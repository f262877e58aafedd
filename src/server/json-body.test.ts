import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from './http-errors.ts';
import { registerJsonParser } from './json-body.ts';

let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify({ bodyLimit: 64 * 1024 });
  registerJsonParser(app);
  app.setErrorHandler(errorHandler);
  app.post('/echo', async (req) => ({ body: req.body }));
  await app.ready();
});
afterAll(() => app.close());

const post = (payload: string | Buffer, contentType = 'application/json') =>
  app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': contentType }, payload });

/** Whether a parsed JSON value holds the key `__proto__` at any depth (the one key the parser refuses). */
function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (value === null || typeof value !== 'object') return false;
  return Object.keys(value).some((k) => k === '__proto__' || hasProtoKey((value as Record<string, unknown>)[k]));
}

describe('the JSON body parser', () => {
  it('reads any JSON body within the bounds as JSON.parse does, and refuses one with a __proto__ key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.json({ maxDepth: 6 }), async (text) => {
        const res = await post(text);
        const parsed: unknown = JSON.parse(text);
        if (hasProtoKey(parsed)) {
          expect(res.statusCode).toBe(400);
          expect(res.json()).toMatchObject({ error: 'invalid', message: expect.stringMatching(/has the key "__proto__"/) as string });
          return;
        }
        expect(res.statusCode).toBe(200);
        expect(res.json<{ body: unknown }>().body).toEqual(parsed);
      }),
      { numRuns: 200 },
    );
    expect((await post('\ufeff{"a":1}', 'application/json; charset=utf-8')).json()).toEqual({ body: { a: 1 } });
  });

  it('refuses a body nested past 64 levels with 400 in the API shape, at 100, 5,000 and 30,000 levels', async () => {
    for (const n of [100, 5000, 30_000]) {
      for (const text of [`${'['.repeat(n)}${']'.repeat(n)}`, `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`]) {
        if (text.length > 64 * 1024) continue;
        const res = await post(text);
        expect(res.statusCode).toBe(400);
        expect(res.json()).toEqual({
          error: 'invalid',
          message: expect.stringMatching(/^the body nests deeper than 64 levels \(at character \d+\); send at most 64 levels/) as string,
        });
      }
    }
    expect((await post(`${'['.repeat(64)}${']'.repeat(64)}`)).statusCode).toBe(200);
  });

  it('refuses an empty body, bytes that are not UTF-8, broken JSON, a __proto__ key and text that cannot be stored', async () => {
    const cases: [string | Buffer, RegExp][] = [
      ['', /^the JSON body is empty/],
      [Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), /^the body is not valid UTF-8/],
      ['{"a":', /^the body is not valid JSON: /],
      ['{"a":{"__proto__":{"x":1}}}', /^the body has the key "__proto__" at \$\.a\.__proto__/],
      ['{"a":["\\u0000"]}', /^the body has a string at \$\.a\[0\] that holds a NUL character/],
      ['{"\\udc00":1}', /^the body has a key at \$ that holds a lone surrogate/],
    ];
    for (const [payload, message] of cases) {
      const res = await post(payload);
      expect(res.statusCode, String(payload)).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid', message: expect.stringMatching(message) as string });
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('keeps the body limit (413) and the value bound', async () => {
    const big = await post(`[${'1,'.repeat(40_000)}1]`);
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ error: 'payload_too_large' });
  });
});
