import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../test/support/app.ts';
import { loadConfig } from '../config.ts';
import { tokenSecret } from '../core/access/token-format.ts';
import { createLogger, resolveLogFormat, type LogFormat } from './logging.ts';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

const SECRET = 'bwk_abcdefghij12_' + 'S'.repeat(43);

describe('the log format', () => {
  it('is pretty on a terminal and JSON elsewhere when set to auto', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
  });

  it('is what the setting says when one is set, terminal or not', () => {
    for (const terminal of [true, false]) {
      expect(resolveLogFormat('json', terminal)).toBe('json');
      expect(resolveLogFormat('pretty', terminal)).toBe('pretty');
    }
  });

  it('is auto by default and set by logFormat, BULWARK_LOG_FORMAT or --log-format', () => {
    expect(loadConfig({}, {}).logFormat).toBe('auto');
    expect(loadConfig({}, { BULWARK_LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ logFormat: 'pretty' }, { BULWARK_LOG_FORMAT: 'json' }).logFormat).toBe('pretty');
    expect(() => loadConfig({}, { BULWARK_LOG_FORMAT: 'xml' })).toThrow(/logFormat/);
  });
});

describe('redaction in both formats', () => {
  for (const format of ['json', 'pretty'] as LogFormat[]) {
    it(`keeps secrets out of ${format} lines`, () => {
      const out = sink();
      const log = createLogger('info', out.stream, format);
      log.info({ token: SECRET, headers: { authorization: `Bearer ${SECRET}` }, nested: { password: 'hunter2' } }, 'fields');
      log.info({ url: `/v1/x?access_token=${SECRET}`, note: `sent ${SECRET} by mistake` }, `message with ${SECRET}`);
      log.warn({ err: new Error(`failed for ${SECRET}`) }, 'an error');
      log.info({ items: [{ token: SECRET }, `Bearer ${SECRET}`] }, 'arrays');
      const text = out.text();
      expect(text).toContain('[REDACTED]');
      expect(text).toContain('access_token=bwk_[REDACTED]');
      expect(text).toContain('failed for bwk_[REDACTED]');
      for (const secret of [SECRET, tokenSecret(SECRET)!, 'hunter2']) expect(text).not.toContain(secret);
      const lines = text.trim().split('\n');
      if (format === 'json') for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
      else expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: fields /);
    });
  }
});

describe('request lines', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('are not written at info: the log holds events, not traffic', async () => {
    t = await makeTestApp({ logLevel: 'info' });
    await t.app.inject({ url: '/healthz' });
    await t.app.inject({ url: '/v1/session', headers: bearer(t.adminToken) });
    expect(t.logs.join('')).not.toMatch(/request completed|incoming request/);
  });

  it('are one JSON line per request at debug, with the request id', async () => {
    t = await makeTestApp({ logLevel: 'debug' });
    await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'req-json-1' } });
    const lines = t.logs
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.reqId === 'req-json-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 20,
      msg: 'request completed',
      req: { method: 'GET', url: '/healthz' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
    });
  });

  it('are short pretty lines at debug, with tokens scrubbed from URLs and headers', async () => {
    t = await makeTestApp({ logLevel: 'debug', logFormat: 'pretty' });
    const created = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(t.adminToken), payload: { name: 'pretty' } });
    const secret = created.json().token as string;
    await t.app.inject({ url: `/v1/nope?token=${secret}`, headers: bearer(secret) });
    await t.app.inject({ url: '/v1/session', headers: { authorization: `Bearer ${secret}x`, cookie: `s=${secret}` } });
    const text = t.logs.join('');
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] DEBUG: GET \/v1\/nope\?token=bwk_\[REDACTED\] 404 \d+\.\d ms$/m);
    expect(text).toMatch(/DEBUG: GET \/v1\/session 401 /);
    expect(text).not.toContain('{"level"');
    for (const s of [secret, t.adminToken, tokenSecret(secret)!, tokenSecret(t.adminToken)!]) expect(text).not.toContain(s);
  });
});
