/** Readiness says why it is not ready in the API's error shape, with Retry-After. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../../../test/support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('GET /readyz', () => {
  it('answers 503 in the error shape, with Retry-After, when the database does not answer', async () => {
    expect((await t.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    await t.deps.store.close();
    const res = await t.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toMatchObject({ error: 'unavailable', message: 'not ready: the database does not answer' });
  });
});
