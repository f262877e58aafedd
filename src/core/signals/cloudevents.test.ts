import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeCloudEvent, decodeHeaderValue, parseCloudEvent, type HttpMessage } from './cloudevents.ts';
import { anyText, expectClearReason, expectValidSignal, jsonMutation, textMutation } from './fuzz.test-support.ts';

const RUN = 'r7k2m9x4p1';
const receivedAt = '2026-03-01T10:00:05.250Z';

/** A Falcosidekick-style event in structured mode. */
function structuredEvent() {
  return {
    specversion: '1.0',
    id: '2b8c2f5e-6f6a-4f0e-9a4d-6c1f3c1d9e7a',
    source: 'falco.org',
    type: 'falco.rule.output.v1',
    time: '2026-03-01T10:00:03.123456789Z',
    datacontenttype: 'application/json',
    subject: 'Read sensitive file untrusted',
    falcohostname: 'shop-1',
    data: {
      rule: 'Read sensitive file untrusted',
      priority: 'Warning',
      output: `Sensitive file opened for reading (file=/srv/shop/.env.bwk-canary-${RUN} command=cat)`,
      output_fields: { 'fd.name': `/srv/shop/.env.bwk-canary-${RUN}`, 'proc.cmdline': 'cat /srv/shop/.env' },
      tags: ['filesystem', 'mitre_credential_access'],
    },
  };
}

const structured = (event: unknown = structuredEvent(), contentType = 'application/cloudevents+json; charset=utf-8'): HttpMessage => ({
  headers: { 'content-type': contentType },
  body: JSON.stringify(event),
});

/** The binding's §3.1.4 example, with a JSON body. */
function binary(): HttpMessage {
  return {
    headers: {
      host: 'bulwark.example',
      'ce-specversion': '1.0',
      'ce-type': 'com.example.waf.blocked',
      'ce-time': '2026-03-01T10:00:02Z',
      'ce-id': '1234-1234-1234',
      'ce-source': '/waf/edge-1',
      'ce-subject': 'rule%20942100',
      'ce-severity': 'high',
      'ce-bulwarkrun': RUN,
      'content-type': 'application/json; charset=utf-8',
    },
    body: Buffer.from(JSON.stringify({ rule: '942100', status: 403, uri: "/search?id=1' OR '1'='1" })),
  };
}

function parse(m: HttpMessage) {
  const r = parseCloudEvent(m, { receivedAt });
  if (!r.ok) throw new Error(r.reason);
  return r.signal;
}

describe('CloudEvents 1.0 over HTTP', () => {
  it('reads structured mode: attributes as labels, data as the body, the event time', () => {
    const s = parse(structured());
    expectValidSignal(s);
    expect(s).toMatchObject({
      source: 'cloudevents',
      time: '2026-03-01T10:00:03.123Z',
      receivedAt,
      severity: 'medium', // Falco's data.priority "Warning"
      labels: {
        type: 'falco.rule.output.v1',
        source: 'falco.org',
        subject: 'Read sensitive file untrusted',
        specversion: '1.0',
        falcohostname: 'shop-1',
      },
      runId: RUN,
      resolved: false,
    });
    expect(s.body).toEqual(structuredEvent().data);
  });

  it('takes severity from a `severity` extension first, then data.severity / data.priority', () => {
    const e = structuredEvent() as Record<string, unknown>;
    e.severity = 'info';
    expect(parse(structured(e)).severity).toBe('info');
    const d = structuredEvent() as Record<string, unknown>;
    d.data = { severity: 'error', priority: 'Debug' };
    expect(parse(structured(d)).severity).toBe('high');
    d.data = { priority: 'Critical' };
    expect(parse(structured(d)).severity).toBe('critical');
    d.data = { rule: 'x' };
    expect(parse(structured(d)).severity).toBe('medium');
  });

  it('reads binary mode: ce- headers percent-decoded, Content-Type as datacontenttype, body as data', () => {
    const s = parse(binary());
    expectValidSignal(s);
    expect(s).toMatchObject({
      time: '2026-03-01T10:00:02.000Z',
      severity: 'high',
      labels: {
        type: 'com.example.waf.blocked',
        source: '/waf/edge-1',
        subject: 'rule 942100',
        id: '1234-1234-1234',
        datacontenttype: 'application/json; charset=utf-8',
        bulwarkrun: RUN,
      },
      runId: RUN,
    });
    expect(s.body).toEqual({ rule: '942100', status: 403, uri: "/search?id=1' OR '1'='1" });
  });

  it('keeps binary data it cannot read as text as base64', () => {
    const m = binary();
    m.headers = { ...m.headers, 'content-type': 'application/octet-stream' };
    m.body = new Uint8Array([0xff, 0x00, 0xfe]);
    expect(parse(m).body).toEqual({ data_base64: '/wD+' });
    m.headers = { ...m.headers, 'content-type': 'text/plain' };
    m.body = 'blocked';
    expect(parse(m).body).toBe('blocked');
  });

  it('uses the receipt time when the event has none', () => {
    const e = structuredEvent() as Record<string, unknown>;
    delete e.time;
    expect(parse(structured(e)).time).toBe(receivedAt);
  });

  it('dedups by source + id, as the spec defines uniqueness', () => {
    const a = parse(structured());
    const b = structuredEvent();
    b.data.output = 'the same event, delivered again';
    expect(parse(structured(b)).fingerprint).toBe(a.fingerprint);
    const c = structuredEvent();
    c.id = 'another';
    expect(parse(structured(c)).fingerprint).not.toBe(a.fingerprint);
    const d = structuredEvent();
    d.source = 'falco.org/other';
    expect(parse(structured(d)).fingerprint).not.toBe(a.fingerprint);
  });

  it('names each missing or malformed required attribute', () => {
    const e = structuredEvent() as Record<string, unknown>;
    delete e.id;
    e.specversion = '0.3';
    e.type = '';
    e.time = 'now';
    const r = parseCloudEvent(structured(e), { receivedAt });
    if (r.ok) throw new Error('accepted');
    expect(r.reason).toMatch(/^invalid CloudEvent: /);
    expect(r.issues?.map((i) => i.path).sort()).toEqual(['id', 'specversion', 'time', 'type']);
    expect(r.reason).toContain('"0.3" is not supported');
  });

  it('refuses data nested past the input bound in either mode, saying so', () => {
    const reason = (m: HttpMessage) => {
      const r = decodeCloudEvent(m);
      return r.ok ? 'accepted' : r.reason;
    };
    for (const n of [100, 5000, 100_000]) {
      const deep = `${'['.repeat(n)}${']'.repeat(n)}`;
      const text = JSON.stringify(structuredEvent()).replace(/"data":\{/, `"data":${deep},"x":{`);
      expect(reason({ headers: { 'content-type': 'application/cloudevents+json' }, body: text })).toMatch(
        /^structured CloudEvent body nests deeper than 64 levels/,
      );
      for (const contentType of ['application/json', undefined]) {
        const m = binary();
        const headers = { ...m.headers } as Record<string, string>;
        if (contentType === undefined) delete headers['content-type'];
        expect(reason({ headers, body: deep })).toMatch(/^CloudEvent data nests deeper than 64 levels/);
      }
    }
  });

  it('refuses what the binding forbids or Bulwark does not take', () => {
    const reason = (m: HttpMessage) => {
      const r = decodeCloudEvent(m);
      return r.ok ? 'accepted' : r.reason;
    };
    expect(reason({ headers: { 'content-type': 'application/json' }, body: '{}' })).toMatch(
      /^not a CloudEvent: Content-Type is "application\/json"/,
    );
    expect(reason(structured([structuredEvent()], 'application/cloudevents-batch+json'))).toMatch(/batched/);
    expect(reason(structured([structuredEvent()]))).toMatch(/batched/);
    expect(reason({ headers: { 'content-type': 'application/cloudevents+json' }, body: '{"specversion":' })).toMatch(/not JSON/);
    const both = structuredEvent() as Record<string, unknown>;
    both.data_base64 = 'AAAA';
    expect(reason(structured(both))).toMatch(/data_base64: an event carries data or data_base64, not both/);
    const dct = binary();
    dct.headers = { ...dct.headers, 'ce-datacontenttype': 'application/json' };
    expect(reason(dct)).toMatch(/ce-datacontenttype: must not be sent in binary mode/);
    const badJson = binary();
    badJson.body = '{not json';
    expect(reason(badJson)).toMatch(/not valid JSON although Content-Type/);
    const ext = structuredEvent() as Record<string, unknown>;
    ext.Bad_Name = 'x';
    ext.nested = { a: 1 };
    expect(reason(structured(ext))).toMatch(/Bad_Name: attribute names are lower-case.*nested: must be a string/);
  });

  it('decodes header values as §3.1.3.2 says, rejecting invalid UTF-8', () => {
    expect(decodeHeaderValue('Euro%20%E2%82%AC%20%F0%9F%98%80')).toBe('Euro € 😀');
    expect(decodeHeaderValue('"quoted \\"value\\""')).toBe('quoted "value"');
    expect(decodeHeaderValue('%C0%A0')).toBeUndefined();
    expect(decodeHeaderValue('100%')).toBeUndefined();
    const m = binary();
    m.headers = { ...m.headers, 'ce-id': '%C0%A0' };
    const r = parseCloudEvent(m, { receivedAt });
    expect(!r.ok && r.reason).toMatch(/ce-id: is not valid percent-encoded UTF-8/);
  });

  it('drops a hostile run id instead of trusting it', () => {
    const m = binary();
    m.headers = { ...m.headers, 'ce-bulwarkrun': 'AAAA%0D%0AX-Evil:1' };
    m.body = '{}';
    expect(parse(m).runId).toBeUndefined();
  });

  it('survives any input in either mode: arbitrary bodies and headers, mutated real events', () => {
    const headerSets = fc.oneof(
      fc.constant({ 'content-type': 'application/cloudevents+json' }),
      fc.constant(binary().headers),
      fc.dictionary(
        fc.oneof(fc.string(), fc.constantFrom('ce-id', 'ce-source', 'ce-type', 'ce-specversion', 'content-type', 'ce-time', 'CE-ID')),
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.array(fc.string())),
      ),
      jsonMutation(binary().headers).filter((h): h is Record<string, unknown> => h !== null && typeof h === 'object' && !Array.isArray(h)),
    );
    const bodies = fc.oneof(
      anyText,
      fc.uint8Array(),
      jsonMutation(structuredEvent()).map((v) => JSON.stringify(v) ?? ''),
      textMutation(JSON.stringify(structuredEvent())),
    );
    fc.assert(
      fc.property(headerSets, bodies, (headers, body) => {
        const r = parseCloudEvent({ headers, body }, { receivedAt });
        if (r.ok) expectValidSignal(r.signal);
        else expectClearReason(r);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts mutated events only when the required attributes survived', () => {
    fc.assert(
      fc.property(jsonMutation(structuredEvent()), (event) => {
        const r = parseCloudEvent(structured(event), { receivedAt });
        const e = event as Record<string, unknown>;
        const valid = e.specversion === '1.0' && [e.id, e.source, e.type].every((v) => typeof v === 'string' && v !== '');
        if (r.ok) expect(valid).toBe(true);
        else expectClearReason(r, /^(invalid CloudEvent|structured CloudEvent|a JSON array)/);
      }),
      { numRuns: 2000 },
    );
  });
});
