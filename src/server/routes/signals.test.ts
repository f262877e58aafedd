import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { createToken } from '../../app/access/tokens.ts';
import { verifyStore } from '../../app/ledger/verify.ts';
import { SignalBus } from '../../app/signals/signal-bus.ts';
import { DomainError } from '../../core/errors.ts';
import { HTTP_FORMATS } from '../../core/signals/formats/registry.ts';
import { parseWebhookMapping } from '../../core/signals/webhook-mapping.ts';
import type { SignalRecord } from '../../store/signals/port.ts';
import { systemActor } from '../../core/ledger/actor.ts';

const RUN = 'r7k2m9x4p1';

function alertmanagerPayload(opts: { startsAt?: string; alertname?: string } = {}) {
  return {
    version: '4',
    groupKey: '{}:{alertname="SqlInjectionBlocked"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'bulwark',
    groupLabels: { alertname: opts.alertname ?? 'SqlInjectionBlocked' },
    commonLabels: { alertname: opts.alertname ?? 'SqlInjectionBlocked', severity: 'critical' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: opts.alertname ?? 'SqlInjectionBlocked', severity: 'critical', instance: 'shop-1', bulwark_run: RUN },
        annotations: { summary: 'ModSecurity blocked SQL injection (rule 942100) — annotation text stays out of the ledger' },
        startsAt: opts.startsAt ?? '2026-03-01T10:00:03.123456789Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph?g0.expr=waf_blocked_total',
        fingerprint: `c2a5bd0d5e1e8a7b-${opts.alertname ?? ''}`,
      },
      {
        status: 'firing',
        // Labels from outside may be named like secrets: the ledger entry must not carry them.
        labels: {
          alertname: opts.alertname ?? 'SqlInjectionBlocked',
          severity: 'warning',
          instance: 'shop-2',
          token: 'hunter2-label-value',
        },
        annotations: {},
        startsAt: opts.startsAt ?? '2026-03-01T10:00:04Z',
        endsAt: '0001-01-01T00:00:00Z',
        fingerprint: `d3b6ce1e6f2f9b8c-${opts.alertname ?? ''}`,
      },
    ],
  };
}

function cloudEvent(id = '2b8c2f5e-6f6a-4f0e-9a4d-6c1f3c1d9e7a') {
  return {
    specversion: '1.0',
    id,
    source: 'falco.org',
    type: 'falco.rule.output.v1',
    time: '2026-03-01T10:00:03.123Z',
    datacontenttype: 'application/json',
    subject: 'Read sensitive file untrusted',
    data: { rule: 'Read sensitive file untrusted', priority: 'Warning', output: `file=/srv/shop/.env.bwk-canary-${RUN} command=cat` },
  };
}

function wazuh(id = '1740823203.1234') {
  return {
    timestamp: '2026-03-01T10:00:03.500Z',
    id,
    rule: { id: '31103', level: 7, description: 'SQL injection attempt.' },
    agent: { name: 'shop-1' },
    data: { srcip: '127.0.0.1', headers: { 'X-Bulwark-Run': RUN } },
  };
}

const webhooks = {
  wazuh: parseWebhookMapping({
    source: 'wazuh',
    id: '$.id',
    time: '$.timestamp',
    severity: '$.rule.level',
    severityMap: { '7': 'high' },
    labels: { rule: '$.rule.id', agent: '$.agent.name' },
    runId: "$.data.headers['X-Bulwark-Run']",
    body: '$.data',
  }),
};

let t: TestApp;
let admin: Record<string, string>;
beforeAll(async () => {
  t = await makeTestApp({ signals: { webhooks } });
  admin = bearer(t.adminToken);
});
afterAll(async () => {
  await t.close();
});

const json = (headers: Record<string, string>) => ({ ...headers, 'content-type': 'application/json' });

async function post(url: string, body: unknown, headers: Record<string, string> = json(admin)) {
  return t.app.inject({
    method: 'POST',
    url,
    headers,
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
}

async function ledgerEntriesFor(ids: string[]) {
  const all = await t.deps.store.ledger.page({ limit: 100_000, order: 'asc', kind: 'signal.received' });
  return all.filter((e) => ids.some((id) => e.subject === `signal:${id}`));
}

/** What changes when anything is written: the ledger's size and the number of stored signals. */
async function written() {
  return { ledger: (await t.deps.store.ledger.head()).size, signals: (await t.deps.store.signals.list({ limit: 100_000 })).signals.length };
}

describe('the ingest routes', () => {
  it('are one per HTTP format of the registry, declared from it: raw body of its media types, signals:ingest, critical', () => {
    const ingest = t.spec.filter((r) => r.method === 'POST' && r.url.startsWith('/v1/signals/'));
    expect(ingest.map((r) => r.url)).toEqual(HTTP_FORMATS.map((f) => f.arrival.url));
    for (const f of HTTP_FORMATS) {
      const route = ingest.find((r) => r.url === f.arrival.url)!;
      expect(route.rawBody).toEqual(f.mediaTypes);
      expect(route.auth).toEqual({ permission: 'signals:ingest' });
      expect(route.priority).toBe('critical');
      expect(route.status).toBe(202);
      expect(route.errors).toEqual(f.arrival.errors);
    }
  });
});

describe('POST /v1/signals/alertmanager', () => {
  it('stores one signal per alert with its ledger entry, which holds no raw body and no secret-named label', async () => {
    const before = await written();
    const res = await post('/v1/signals/alertmanager', alertmanagerPayload());
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(body.ids).toHaveLength(2);
    const first = (await t.app.inject({ url: `/v1/signals/${body.ids[0]}`, headers: admin })).json();
    expect(first).toMatchObject({
      source: 'alertmanager',
      severity: 'critical',
      runId: RUN,
      labels: { instance: 'shop-1' },
      resolved: false,
    });
    expect(first.time).toBe('2026-03-01T10:00:03.123Z');

    const entries = await ledgerEntriesFor(body.ids);
    expect(entries).toHaveLength(2);
    const ledgerText = entries.map((e) => e.dataJson).join('\n');
    expect(ledgerText).not.toContain('annotation text');
    expect(ledgerText).not.toContain('hunter2');
    expect(ledgerText).not.toContain('generatorURL');
    const data = JSON.parse(entries[1]!.dataJson);
    expect(data).toMatchObject({
      id: body.ids[1],
      source: 'alertmanager',
      redactedLabels: ['token'],
      runId: null,
      rawDigest: first.rawDigest,
    });
    expect(data.labels).not.toHaveProperty('token');
    expect(JSON.parse(entries[0]!.actor)).toMatchObject({ how: 'api', token: expect.stringMatching(/^[a-z0-9]{12}$/) });
    expect(await written()).toEqual({ ledger: before.ledger + 2, signals: before.signals + 2 });
  });

  it('acknowledges a resend as duplicates and writes nothing', async () => {
    const first = await post('/v1/signals/alertmanager', alertmanagerPayload({ alertname: 'Resent' }));
    expect(first.json()).toMatchObject({ accepted: 2, duplicates: 0 });
    const before = await written();
    const again = await post('/v1/signals/alertmanager', alertmanagerPayload({ alertname: 'Resent' }));
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ accepted: 0, duplicates: 2, ids: first.json().ids });
    expect(await written()).toEqual(before);
    // A re-fire (new startsAt) is a new signal.
    const refire = await post('/v1/signals/alertmanager', alertmanagerPayload({ alertname: 'Resent', startsAt: '2026-03-01T11:00:00Z' }));
    expect(refire.json()).toMatchObject({ accepted: 2, duplicates: 0 });
  });

  it('names the source from ?source=, which scopes the dedup', async () => {
    const res = await post('/v1/signals/alertmanager?source=am-eu', alertmanagerPayload({ alertname: 'Scoped' }));
    expect(res.json()).toMatchObject({ accepted: 2, duplicates: 0 });
    expect((await t.deps.store.signals.get(res.json().ids[0]))?.source).toBe('am-eu');
    expect((await post('/v1/signals/alertmanager?source=Bad Name', alertmanagerPayload())).statusCode).toBe(400);
  });
});

describe('POST /v1/signals/cloudevents', () => {
  it('stores a structured-mode event, idempotent by source + id', async () => {
    const payload = JSON.stringify(cloudEvent());
    const headers = { ...admin, 'content-type': 'application/cloudevents+json; charset=utf-8' };
    const res = await post('/v1/signals/cloudevents', payload, headers);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 1, duplicates: 0 });
    const s = await t.deps.store.signals.get(res.json().ids[0]);
    expect(s).toMatchObject({ source: 'cloudevents', runId: RUN, labels: { type: 'falco.rule.output.v1' } });
    expect(await ledgerEntriesFor(res.json().ids)).toHaveLength(1);
    expect((await post('/v1/signals/cloudevents', payload, headers)).json()).toMatchObject({ accepted: 0, duplicates: 1 });
  });

  it('stores a binary-mode event, keeping its ce- headers and body as evidence but never the token', async () => {
    const headers = {
      ...admin,
      'content-type': 'text/plain',
      'ce-specversion': '1.0',
      'ce-id': 'bin-1',
      'ce-source': '/waf/edge-1',
      'ce-type': 'com.example.waf.blocked',
      'ce-bulwarkrun': RUN,
    };
    const res = await post('/v1/signals/cloudevents', 'blocked 942100', headers);
    expect(res.statusCode).toBe(202);
    const id = res.json().ids[0] as string;
    expect((await t.deps.store.signals.get(id))?.body).toBe('blocked 942100');
    const ev = await t.app.inject({ url: `/v1/signals/${id}/evidence`, headers: admin });
    expect(ev.headers['content-type']).toBe('application/http; msgtype=request');
    expect(ev.body).toMatch(/^POST \/v1\/signals\/cloudevents HTTP\/1\.1\r\n/);
    expect(ev.body).toContain('ce-id: bin-1\r\n');
    expect(ev.body.endsWith('\r\n\r\nblocked 942100')).toBe(true);
    expect(ev.body).not.toContain(t.adminToken);
    expect(ev.body.toLowerCase()).not.toContain('authorization');
  });
});

describe('POST /v1/signals/webhook/:source', () => {
  it('maps a declared source and dedups by its id field', async () => {
    const res = await post('/v1/signals/webhook/wazuh', wazuh());
    expect(res.statusCode).toBe(202);
    const s = await t.deps.store.signals.get(res.json().ids[0]);
    expect(s).toMatchObject({
      source: 'wazuh',
      severity: 'high',
      runId: RUN,
      labels: { rule: '31103', agent: 'shop-1' },
      body: wazuh().data,
    });
    expect(await ledgerEntriesFor(res.json().ids)).toHaveLength(1);
    expect((await post('/v1/signals/webhook/wazuh', { ...wazuh(), agent: { name: 'changed' } })).json()).toMatchObject({
      accepted: 0,
      duplicates: 1,
    });
  });

  it('stamps the receipt when the request arrives, not when its body is complete or its handler runs', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const body = JSON.stringify(wazuh('slow-body-1'));
    let sentBodyAt = 0;
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${address}/v1/signals/webhook/wazuh`, {
        method: 'POST',
        headers: { ...json(admin), 'content-length': String(Buffer.byteLength(body)) },
      });
      req.on('response', (r) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c.toString('utf8')));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.flushHeaders();
      // The headers are there; the body comes 300 ms later.
      setTimeout(() => {
        sentBodyAt = Date.now();
        req.end(body);
      }, 300);
    });
    expect(res.status).toBe(202);
    const s = await t.deps.store.signals.get((JSON.parse(res.text) as { ids: string[] }).ids[0]!);
    expect(Date.parse(s!.receivedAt)).toBeLessThanOrEqual(sentBodyAt - 250);
  });

  it('answers an undeclared source with 404 saying how to declare it', async () => {
    const res = await post('/v1/signals/webhook/opsgenie', { any: 'thing' });
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toContain('signals.webhooks.opsgenie');
  });
});

describe('bad payloads', () => {
  it('answer 400 with the reason and write nothing', async () => {
    const before = await written();
    const cases: [string, unknown, Record<string, string>, RegExp][] = [
      ['/v1/signals/alertmanager', { ...alertmanagerPayload(), version: '3' }, json(admin), /version: must be "4"/],
      [
        '/v1/signals/alertmanager',
        { ...alertmanagerPayload(), alerts: [{ status: 'firing', labels: {}, startsAt: 'yesterday' }] },
        json(admin),
        /startsAt/,
      ],
      ['/v1/signals/alertmanager', '{"version":', json(admin), /not valid JSON/],
      ['/v1/signals/alertmanager', '', json(admin), /empty/],
      ['/v1/signals/alertmanager', Buffer.from([0x7b, 0xff, 0x7d]), json(admin), /UTF-8/],
      [
        '/v1/signals/cloudevents',
        { ...cloudEvent(), id: '' },
        { ...admin, 'content-type': 'application/cloudevents+json' },
        /id: is required/,
      ],
      ['/v1/signals/cloudevents', [cloudEvent()], { ...admin, 'content-type': 'application/cloudevents+json' }, /batched/],
      ['/v1/signals/cloudevents', cloudEvent(), json(admin), /not a CloudEvent/],
      ['/v1/signals/webhook/wazuh', { ...wazuh(), id: undefined }, json(admin), /id: nothing at \$\.id/],
      ['/v1/signals/webhook/wazuh', { ...wazuh(), timestamp: 'soon' }, json(admin), /time at/],
    ];
    for (const [url, body, headers, reason] of cases) {
      const res = await post(url, body, headers);
      expect(res.statusCode, `${url} ${String(reason)}`).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid', message: expect.stringMatching(reason) });
    }
    const wrongType = await post('/v1/signals/alertmanager', 'version=4', {
      ...admin,
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(wrongType.statusCode).toBe(415);
    expect(wrongType.json().error).toBe('unsupported_media_type');
    const huge = await post('/v1/signals/webhook/wazuh', { ...wazuh('huge'), data: { blob: 'x'.repeat(2 * 1024 * 1024) } });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error).toBe('payload_too_large');
    expect(await written()).toEqual(before);
  });

  it('answers any JSON body on any ingest route with a 2xx or a 4xx that says what is wrong, never a 500', async () => {
    const routes: [string, Record<string, string>][] = [
      ['/v1/signals/alertmanager', json(admin)],
      ['/v1/signals/cloudevents', { ...admin, 'content-type': 'application/cloudevents+json' }],
      [
        '/v1/signals/cloudevents',
        { ...admin, 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': 'x', 'ce-source': 's', 'ce-type': 't' },
      ],
      ['/v1/signals/webhook/wazuh', json(admin)],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(
          fc.jsonValue(),
          fc.jsonValue().map((v) => ({ ...alertmanagerPayload(), alerts: [v] })),
          fc.jsonValue().map((v) => ({ ...wazuh(), id: v })),
        ),
        async ([url, headers], value) => {
          const res = await post(url, JSON.stringify(value) ?? 'null', headers);
          const ok = res.statusCode >= 200 && res.statusCode < 300;
          if (!ok) {
            expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
            expect(res.statusCode, res.body).toBeLessThan(500);
            expect(res.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('tokens per source', () => {
  it('lets a source-bound token post to its own source only, and not read', async () => {
    const am = await createToken(t.deps, systemActor('test'), { name: 'am', scopes: ['signals:ingest:alertmanager'] });
    const h = json(bearer(am.token));
    expect((await post('/v1/signals/alertmanager', alertmanagerPayload({ alertname: 'Bound' }), h)).statusCode).toBe(202);
    const before = await written();
    for (const [url, body] of [
      ['/v1/signals/alertmanager?source=am-eu', alertmanagerPayload({ alertname: 'Other' })],
      ['/v1/signals/webhook/wazuh', wazuh('bound-1')],
      ['/v1/signals/webhook/undeclared', {}],
    ] as const) {
      const res = await post(url, body, h);
      expect(res.statusCode, url).toBe(403);
      expect(res.json().message).toMatch(/may post signals for "alertmanager" only/);
    }
    const ce = await post('/v1/signals/cloudevents', JSON.stringify(cloudEvent('bound-2')), {
      ...bearer(am.token),
      'content-type': 'application/cloudevents+json',
    });
    expect(ce.statusCode).toBe(403);
    expect((await t.app.inject({ url: '/v1/signals', headers: bearer(am.token) })).statusCode).toBe(403);
    expect(await written()).toEqual(before);
  });

  it('lets signals:ingest post anywhere and signals:read read', async () => {
    const any = await createToken(t.deps, systemActor('test'), { name: 'any-sender', scopes: ['signals:ingest'] });
    expect((await post('/v1/signals/webhook/wazuh', wazuh('any-1'), json(bearer(any.token)))).statusCode).toBe(202);
    const reader = await createToken(t.deps, systemActor('test'), { name: 'reader', scopes: ['signals:read'] });
    expect((await t.app.inject({ url: '/v1/signals', headers: bearer(reader.token) })).statusCode).toBe(200);
    expect((await post('/v1/signals/webhook/wazuh', wazuh('any-2'), json(bearer(reader.token)))).statusCode).toBe(403);
  });
});

describe('reading signals', () => {
  it('returns the exact raw bytes as evidence, with their media type', async () => {
    // Odd spacing, key order and escapes: a re-serialisation would change them.
    const raw = `{ "version":"4","status":"firing",  "alerts":[{"status":"firing","labels":{"alertname":"Exact\\u00e9","note":"é ✓"},"startsAt":"2026-03-01T10:00:09Z"}]\n}\n`;
    const res = await post('/v1/signals/alertmanager', raw, { ...admin, 'content-type': 'application/json; charset=utf-8' });
    expect(res.statusCode).toBe(202);
    const ev = await t.app.inject({ url: `/v1/signals/${res.json().ids[0]}/evidence`, headers: admin });
    expect(ev.statusCode).toBe(200);
    expect(ev.rawPayload.equals(Buffer.from(raw, 'utf8'))).toBe(true);
    expect(ev.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(ev.headers['x-content-type-options']).toBe('nosniff');
    expect(ev.headers['repr-digest']).toMatch(/^sha-256=:[A-Za-z0-9+/]+=*:$/);
    expect((await t.app.inject({ url: `/v1/signals/sig_${'0'.repeat(32)}/evidence`, headers: admin })).statusCode).toBe(404);
  });

  it('lists newest first, filtered, in pages', async () => {
    for (let i = 0; i < 5; i++) await post('/v1/signals/webhook/wazuh', wazuh(`page-${i}`));
    const seen: SignalRecord[] = [];
    let url = '/v1/signals?source=wazuh&limit=2';
    for (let n = 0; n < 20; n++) {
      const page = (await t.app.inject({ url, headers: admin })).json();
      seen.push(...page.signals);
      if (!page.next) break;
      url = `/v1/signals?source=wazuh&limit=2&cursor=${page.next}`;
    }
    const stored = (await t.deps.store.signals.list({ limit: 1000, source: 'wazuh' })).signals;
    expect(seen.map((s) => s.id)).toEqual(stored.map((s) => s.id));
    expect(new Set(seen.map((s) => s.id)).size).toBe(seen.length);
    const byRun = (await t.app.inject({ url: `/v1/signals?runId=${RUN}&limit=500`, headers: admin })).json();
    expect(byRun.signals.length).toBeGreaterThan(0);
    expect(byRun.signals.every((s: SignalRecord) => s.runId === RUN)).toBe(true);
    const future = (await t.app.inject({ url: '/v1/signals?since=2999-01-01T00:00:00Z', headers: admin })).json();
    expect(future.signals).toEqual([]);
    expect((await t.app.inject({ url: '/v1/signals?cursor=garbage', headers: admin })).statusCode).toBe(400);
    expect((await t.app.inject({ url: '/v1/signals?since=yesterday', headers: admin })).statusCode).toBe(400);
    expect((await t.app.inject({ url: '/v1/signals/nope', headers: admin })).statusCode).toBe(400);
    expect((await t.app.inject({ url: `/v1/signals/sig_${'0'.repeat(32)}`, headers: admin })).statusCode).toBe(404);
  });
});

describe('the signal bus and metrics', () => {
  it('announces each new signal once, after it is stored, and counts received and duplicates by source', async () => {
    const heard: { id: string; stored: boolean }[] = [];
    const pending: Promise<void>[] = [];
    const off = t.signals.bus.on('signal', (s) => {
      pending.push(t.deps.store.signals.get(s.id).then((got) => void heard.push({ id: s.id, stored: got !== undefined })));
    });
    try {
      const res = await post('/v1/signals/webhook/wazuh', wazuh('bus-1'));
      await post('/v1/signals/webhook/wazuh', wazuh('bus-1'));
      await Promise.all(pending);
      expect(heard).toEqual([{ id: res.json().ids[0], stored: true }]);
    } finally {
      off();
    }
    const metrics = (await t.app.inject({ url: '/metrics', headers: admin })).body;
    expect(metrics).toMatch(/^bulwark_signals_received_total\{source="wazuh"\} \d+$/m);
    expect(metrics).toMatch(/^bulwark_signals_duplicates_total\{source="wazuh"\} [1-9]\d*$/m);
  });
});

describe('concurrency', () => {
  it('acknowledges 200 concurrent posts, stores them all, and the ledger verifies', async () => {
    const before = await written();
    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => post('/v1/signals/webhook/wazuh', wazuh(`concurrent-${i}`))));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(200).fill(202));
    const ids = responses.map((r) => r.json().ids[0] as string);
    expect(new Set(ids).size).toBe(200);
    for (const id of ids) expect(await t.deps.store.signals.get(id)).toBeDefined();
    expect(await ledgerEntriesFor(ids)).toHaveLength(200);
    expect(await written()).toEqual({ ledger: before.ledger + 200, signals: before.signals + 200 });
    expect(await verifyStore(t.deps.store)).toMatchObject({ ok: true });
  });
});

describe('overload', () => {
  it('answers 503 with Retry-After when ingestion is behind', async () => {
    const busy = await makeTestApp({
      signals: {
        webhooks,
        ingest: {
          bus: new SignalBus(),
          ingest: () => Promise.reject(new DomainError('overloaded', 'too many signals are waiting to be written')),
          close: async () => {},
        },
      },
    });
    try {
      const res = await busy.app.inject({
        method: 'POST',
        url: '/v1/signals/webhook/wazuh',
        headers: json(bearer(busy.adminToken)),
        payload: wazuh(),
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json().error).toBe('overloaded');
    } finally {
      await busy.close();
    }
  });
});
