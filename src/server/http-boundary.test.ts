/**
 * The edges of the HTTP boundary: bodies a route did not declare, statuses a route did not
 * declare, and errors raised before a route is found, all in the API's one error shape.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../test/support/app.ts';

let t: TestApp;
let port: number;
beforeAll(async () => {
  t = await makeTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await t.close();
});

async function size(): Promise<number> {
  const res = await t.app.inject({ url: '/v1/ledger/verify', headers: bearer(t.adminToken) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ size: number }>().size;
}

/** Send raw bytes on a fresh connection; the whole answer as text. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    let out = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    socket.setTimeout(5000, () => reject(new Error('no answer within 5 s')));
  });
}

const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: string; message: string };

describe('a route reads only the body it declares', () => {
  it.each([['{"zzz":1}'], ['[1,2]'], ['"x"'], ['null']])('refuses stop-all with %s, and writes nothing', async (payload) => {
    const before = await size();
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/experiments/stop-all',
      headers: { ...bearer(t.adminToken), 'content-type': 'application/json' },
      payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid', message: expect.stringMatching(/^invalid body/) });
    expect(await size()).toBe(before);
  });

  it('still answers stop-all sent without a body or with an empty object', async () => {
    for (const payload of [undefined, '{}']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/experiments/stop-all',
        headers: { ...bearer(t.adminToken), ...(payload ? { 'content-type': 'application/json' } : {}) },
        ...(payload ? { payload } : {}),
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ stopped: 0 });
    }
  });

  it('refuses any body on a route that declares none, before parsing it', async () => {
    const before = await size();
    for (const [ct, payload] of [
      ['application/json', '{}'],
      ['application/json', '{"type":'],
      ['text/plain', 'x'],
    ] as const) {
      const res = await t.app.inject({
        method: 'DELETE',
        url: '/v1/tokens/aaaaaaaaaaaa',
        headers: { ...bearer(t.adminToken), 'content-type': ct },
        payload,
      });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().message).toMatch(/takes no body/);
    }
    expect(await size()).toBe(before);
  });

  it('refuses a chunked body of unknown length too', async () => {
    const answer = await raw(
      `DELETE /v1/tokens/aaaaaaaaaaaa HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    expect(bodyOf(answer).message).toMatch(/takes no body/);
  });
});

describe('checkpoints: the body is declared and force works', () => {
  it('signs once (201), returns the same checkpoint after (200), signs anew with force (201)', async () => {
    const post = (payload?: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/ledger/checkpoints',
        headers: { ...bearer(t.adminToken), ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(payload !== undefined ? { payload } : {}),
      });
    await t.app.inject({
      method: 'POST',
      url: '/v1/ledger/notes',
      headers: bearer(t.adminToken),
      payload: { type: 'comment', subject: 's', text: 't' },
    });
    const first = await post();
    expect(first.statusCode).toBe(201);
    const again = await post('{"force":false}');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: false, note: first.json().note });
    const forced = await post('{"force":true}');
    expect(forced.statusCode).toBe(201);
    expect(forced.json().created).toBe(true);
    expect(forced.json().size).toBe(first.json().size);
    for (const bad of ['{"zzz":1}', '[1]', '"x"', '{"force":"yes"}']) {
      const res = await post(bad);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error).toBe('invalid');
    }
  });
});

describe('errors before a route is found keep the shape', () => {
  it.each(['/%c0%ae%c0%ae/x', '/v1/%', '/v1/ledger/entries/%E0%A4%A'])('answers %s with {error, message}', async (url) => {
    const answer = await raw(`GET ${url} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1.1 4\d\d/);
    const body = bodyOf(answer);
    expect(Object.keys(body).sort()).toEqual(['error', 'message']);
    expect(body.error).toMatch(/^(invalid|not_found)$/);
  });

  it('answers a request Node cannot parse with {error, message}', async () => {
    for (const bad of [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
    ]) {
      const answer = await raw(bad);
      expect(answer, JSON.stringify(bad.slice(0, 30))).toMatch(/^HTTP\/1.1 4(00|31)/);
      expect(Object.keys(bodyOf(answer)).sort()).toEqual(['error', 'message']);
    }
  });

  it('answers a wrong content type, broken JSON and an empty JSON body in the shape', async () => {
    for (const [ct, payload, status] of [
      ['text/plain', 'hi', 415],
      ['application/x-www-form-urlencoded', 'a=1', 415],
      ['application/json', '{"type":', 400],
      ['application/json', '', 400],
    ] as const) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/ledger/notes',
        headers: { ...bearer(t.adminToken), 'content-type': ct },
        payload,
      });
      expect(res.statusCode, `${ct} ${payload}`).toBe(status);
      expect(Object.keys(res.json()).sort(), `${ct} ${payload}`).toEqual(['error', 'message']);
    }
  });
});

describe('request framing', () => {
  it('answers a request without a Host header in the shape, with a request id', async () => {
    const answer = await raw('GET /v1/ledger/keys HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    expect(answer.toLowerCase()).toContain('x-request-id:');
    expect(bodyOf(answer).message).toMatch(/no Host header/);
  });

  it('refuses a body sent with a content coding instead of misreading it, and writes nothing', async () => {
    const before = await size();
    for (const coding of ['gzip', 'br', 'deflate', 'x-unknown']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/ledger/notes',
        headers: { ...bearer(t.adminToken), 'content-type': 'application/json', 'content-encoding': coding },
        payload: JSON.stringify({ type: 'comment', subject: 's', text: 't' }),
      });
      expect(res.statusCode, coding).toBe(415);
      expect(res.json().error).toBe('unsupported_media_type');
    }
    expect(await size()).toBe(before);
    const identity = await t.app.inject({
      method: 'POST',
      url: '/v1/ledger/notes',
      headers: { ...bearer(t.adminToken), 'content-type': 'application/json', 'content-encoding': 'identity' },
      payload: JSON.stringify({ type: 'comment', subject: 's', text: 't' }),
    });
    expect(identity.statusCode).toBe(201);
  });

  it('says the request id on errors raised before routing', async () => {
    const answer = await raw(`GET /v1/runs/%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    expect(answer.toLowerCase()).toContain('x-request-id:');
  });
});
