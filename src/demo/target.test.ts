import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCloudEvent, STRUCTURED_MEDIA_TYPE } from '../core/signals/cloudevents.ts';
import { httpSignalSink, type DemoEvent } from './audit.ts';
import { startDemoTarget, type Controls, type DemoTarget } from './target.ts';

const RUN = 'run0demo0abc';
let target: DemoTarget | undefined;
let events: DemoEvent[] = [];

async function start(controls: Partial<Controls> = {}): Promise<DemoTarget> {
  events = [];
  target = await startDemoTarget({ controls, signalSink: async (e) => void events.push(e) });
  return target;
}

afterEach(async () => {
  await target?.stop();
  target = undefined;
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${target!.url}${path}`, { headers });
const login = (password: string) =>
  fetch(`${target!.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'alice', password }),
  });
const sessionToken = async () => ((await (await login('wonderland')).json()) as { token: string }).token;

describe('input filter', () => {
  const attacks = [
    ['sqli', `/products?q=${encodeURIComponent("' OR '1'='1")}`],
    ['xss', `/products?q=${encodeURIComponent('<script>alert(1)</script>')}`],
    ['path-traversal', '/products/..%2f..%2fetc%2fpasswd'],
    ['command-injection', `/products?q=${encodeURIComponent('tea; cat /etc/hosts')}`],
  ] as const;

  it('on: refuses each attack class with 403 and lets ordinary searches through', async () => {
    await start({ inputFilter: true });
    for (const [rule, path] of attacks) {
      const res = await get(path);
      expect(res.status, rule).toBe(403);
      expect(await res.text()).toContain(`rule ${rule}`);
    }
    const ok = await get('/products?q=tea');
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('Teapot');
  });

  it('off: the search echoes the payload unescaped and the injection reveals hidden rows', async () => {
    await start({ inputFilter: false });
    const sqli = await get(attacks[0][1]);
    expect(sqli.status).toBe(200);
    expect(await sqli.text()).toContain('Staff voucher');
    expect(await (await get(attacks[1][1])).text()).toContain('<script>alert(1)</script>');
    expect(events).toEqual([]);
  });
});

describe('login throttling', () => {
  it('on: the failures past the limit get 429 with Retry-After, even with the right password', async () => {
    await start({ loginThrottling: true, loginMaxFailures: 3, loginWindowMs: 60_000 });
    for (let i = 0; i < 3; i++) expect((await login('guess')).status).toBe(401);
    const throttled = await login('guess');
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect((await login('wonderland')).status).toBe(429);
  });

  it('off: every attempt is answered, and the right password still works', async () => {
    await start({ loginThrottling: false, loginMaxFailures: 3 });
    for (let i = 0; i < 6; i++) expect((await login('guess')).status).toBe(401);
    const ok = await login('wonderland');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ token: expect.any(String), accountId: '1' });
    expect(events).toEqual([]);
  });

  it('accepts a form body too and refuses malformed JSON', async () => {
    await start();
    const form = await fetch(`${target!.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ user: 'alice', password: 'wonderland' }),
    });
    expect(form.status).toBe(200);
    const bad = await fetch(`${target!.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(bad.status).toBe(400);
  });
});

describe('admin authentication and account authorization', () => {
  it('adminAuth on: 401 without a session, 200 with one', async () => {
    await start({ adminAuth: true });
    const anon = await get('/admin');
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await get('/admin', { authorization: `Bearer ${await sessionToken()}` })).status).toBe(200);
  });

  it('adminAuth off: the admin page opens to anyone', async () => {
    await start({ adminAuth: false });
    expect((await get('/admin')).status).toBe(200);
  });

  it('accountAuthz on: only the owner reads an account; off: any id is readable (IDOR)', async () => {
    await start({ accountAuthz: true });
    const token = await sessionToken();
    expect((await get('/account/1', { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await get('/account/2', { authorization: `Bearer ${token}` })).status).toBe(403);
    expect((await get('/account/2')).status).toBe(401);
    target!.controls.set({ accountAuthz: false });
    const idor = await get('/account/2');
    expect(idor.status).toBe(200);
    expect(await idor.json()).toMatchObject({ owner: 'bob' });
    expect((await get('/account/__proto__')).status).toBe(404);
  });
});

describe('audit log', () => {
  it('sends a CloudEvent per blocked or suspicious request, with the run id of the X-Bulwark-Run header', async () => {
    await start({ inputFilter: true, adminAuth: false, auditLog: true });
    await get(`/products?q=${encodeURIComponent("' OR 1=1 --")}`, { 'x-bulwark-run': RUN });
    await get('/admin', { 'X-Bulwark-Run': 'NOT a run id' });
    expect(events).toHaveLength(2);
    const [blocked, suspicious] = events as [DemoEvent, DemoEvent];
    expect(blocked).toMatchObject({
      specversion: '1.0',
      source: 'demo-shop',
      type: 'demo.shop.blocked',
      subject: '/products',
      bulwarkrun: RUN,
      data: { rule: 'sqli', method: 'GET', path: '/products', status: 403, client: '127.0.0.1' },
    });
    expect(suspicious).toMatchObject({ type: 'demo.shop.suspicious', data: { rule: 'admin-auth', status: 200 } });
    expect(suspicious).not.toHaveProperty('bulwarkrun');

    const receivedAt = new Date().toISOString();
    const parsed = parseCloudEvent({ headers: { 'content-type': STRUCTURED_MEDIA_TYPE }, body: JSON.stringify(blocked) }, { receivedAt });
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.signal).toMatchObject({
      runId: RUN,
      severity: 'high',
      time: blocked.time,
      labels: { source: 'demo-shop', type: 'demo.shop.blocked', rule: 'sqli', bulwarkrun: RUN },
      body: blocked.data,
    });
    const other = parseCloudEvent({ headers: { 'content-type': STRUCTURED_MEDIA_TYPE }, body: JSON.stringify(suspicious) }, { receivedAt });
    expect(other.ok && other.signal.runId).toBe(undefined);
  });

  it('off: nothing is sent, though the controls still block', async () => {
    await start({ inputFilter: true, adminAuth: true, auditLog: false });
    expect((await get('/products?q=%3Cscript%3E')).status).toBe(403);
    expect((await get('/admin')).status).toBe(401);
    expect(events).toEqual([]);
  });

  it('auditDelayMs holds each signal back; stop() drops those not yet sent', async () => {
    await start({ adminAuth: true, auditDelayMs: 150 });
    await get('/admin');
    expect(events).toHaveLength(0);
    await sleep(300);
    expect(events).toHaveLength(1);
    await get('/admin');
    await target!.stop();
    await sleep(300);
    expect(events).toHaveLength(1);
  });
});

describe('the control endpoint', () => {
  it('changes controls with the control token and refuses a wrong or missing one', async () => {
    const t = await start({ inputFilter: true });
    const put = (body: unknown, token = t.controlToken) =>
      fetch(`${t.url}/__controls`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    expect((await put({ inputFilter: false }, 'wrong-token')).status).toBe(401);
    expect((await fetch(`${t.url}/__controls`, { method: 'PUT', body: '{"inputFilter":false}' })).status).toBe(401);
    expect(t.controls.get().inputFilter).toBe(true);

    const bad = await put({ inputFilter: 'no' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'inputFilter must be true or false' });
    expect((await put({ firewall: true })).status).toBe(400);

    const ok = await put({ inputFilter: false, auditDelayMs: 7000 });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ inputFilter: false, auditDelayMs: 7000 });
    expect((await get(`/products?q=${encodeURIComponent("' OR '1'='1")}`)).status).toBe(200);
    expect(() => t.controls.set({ loginMaxFailures: 0 })).toThrow(/loginMaxFailures must be an integer from 1/);
  });
});

describe('lifecycle', () => {
  it('listens on loopback only and stop() closes the listener', async () => {
    await expect(startDemoTarget({ host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(/loopback only/);
    const t = (target = await startDemoTarget({ log: pino({ level: 'silent' }) }));
    expect(t.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await get('/healthz')).status).toBe(200);
    await t.stop();
    await expect(fetch(`${t.url}/healthz`)).rejects.toThrow();
    target = undefined;
  });
});

describe('httpSignalSink', () => {
  it('posts the event in structured mode with the token, and never throws', async () => {
    const received: { headers: Record<string, unknown>; body: string }[] = [];
    let status = 202;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/signals/cloudevents`;
    const warnings: string[] = [];
    const log = { info: () => {}, warn: (_o: object, msg: string) => void warnings.push(msg) };
    try {
      await start({ adminAuth: true });
      await get('/admin', { 'x-bulwark-run': RUN });
      const event = events[0]!;
      await httpSignalSink(url, 'source-token', { log })(event);
      expect(received[0]!.headers).toMatchObject({ 'content-type': STRUCTURED_MEDIA_TYPE, authorization: 'Bearer source-token' });
      expect(JSON.parse(received[0]!.body)).toEqual(event);
      status = 401;
      await httpSignalSink(url, 'source-token', { log })(event);
      await httpSignalSink('http://127.0.0.1:1/nowhere', 'source-token', { log, timeoutMs: 500 })(event);
      expect(warnings).toHaveLength(2);
      expect(JSON.stringify(warnings)).not.toContain('source-token');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
