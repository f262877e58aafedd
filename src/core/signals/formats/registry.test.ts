/**
 * Walks the registry of signal formats: each one is complete (a parser, media types, an arrival),
 * and each parser, fed arbitrary bytes and mutations of a real payload, answers signals that hold
 * every signal's invariants or throws a DomainError `invalid`, and nothing else. A format added
 * to the registry without a fuzz seed here does not compile.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../errors.ts';
import { parseWebhookMapping } from '../webhook-mapping.ts';
import { anyText, expectValidSignal, jsonMutation, textMutation } from '../fuzz.test-support.ts';
import { evidenceOfPayload, type FormatContext, type FormatInput } from './format.ts';
import { FORMAT_NAMES, HTTP_FORMATS, LOG_FORMATS, SIGNAL_FORMATS, signalFormat, type FormatName } from './registry.ts';

const RUN = 'r7k2m9x4p1';
const receivedAt = '2026-03-01T10:00:05.250Z';
const SOURCE = 'fuzzed';
const webhooks = {
  [SOURCE]: parseWebhookMapping({
    source: SOURCE,
    id: '$.id',
    time: '$.timestamp',
    severity: '$.rule.level',
    labels: { rule: '$.rule.id', agent: 'agent.name' },
    body: '$.data',
  }),
};

const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const json = (value: unknown): Uint8Array => utf8(JSON.stringify(value) ?? '');

const alertmanagerPayload = {
  version: '4',
  status: 'firing',
  receiver: 'bulwark',
  groupKey: '{}:{alertname="SqlInjectionBlocked"}',
  alerts: [
    {
      status: 'firing',
      fingerprint: 'c2a5bd0d5e1e8a7b',
      labels: { alertname: 'SqlInjectionBlocked', severity: 'critical', bulwark_run: RUN },
      annotations: { summary: 'ModSecurity blocked SQL injection' },
      startsAt: '2026-03-01T10:00:03.123Z',
      endsAt: '0001-01-01T00:00:00Z',
    },
  ],
};
const cloudEvent = {
  specversion: '1.0',
  id: '2b8c2f5e-6f6a-4f0e-9a4d-6c1f3c1d9e7a',
  source: 'falco.org',
  type: 'falco.rule.output.v1',
  time: '2026-03-01T10:00:03.123Z',
  subject: 'Read sensitive file untrusted',
  data: { rule: 'Read sensitive file untrusted', priority: 'Warning', output: `file=/srv/shop/.env.bwk-canary-${RUN} command=cat` },
};
const webhookPayload = {
  id: '1740823203.1234',
  timestamp: '2026-03-01T10:00:03.500Z',
  rule: { id: '31103', level: 7, description: 'SQL injection attempt.' },
  agent: { name: 'shop-1' },
  data: { srcip: '127.0.0.1', headers: { 'X-Bulwark-Run': RUN } },
};
const modsecurityEntry = {
  transaction: {
    client_ip: '127.0.0.1',
    time_stamp: 'Sun Mar  1 10:00:03 2026',
    unique_id: '177235920312.345678',
    request: { method: 'GET', uri: '/search?id=1', headers: { 'X-Bulwark-Run': RUN } },
    response: { http_code: 403 },
    messages: [{ message: 'SQL Injection Attack Detected via libinjection', details: { ruleId: '942100', severity: '2' } }],
  },
};
const nginxLine = `127.0.0.1 - - [01/Mar/2026:11:00:03 +0100] "GET /search?id=1%27 HTTP/1.1" 403 153 "-" "curl/8.5.0 bulwark-run/${RUN}"`;
const auditdLine = `type=SYSCALL msg=audit(1772359203.123:4567): syscall=257 success=yes pid=1302 comm="cat" exe="/usr/bin/cat" name="/srv/shop/.env.bwk-canary-${RUN}" key="canary-files"`;

/** Content-Types a sender may say, right and wrong. */
const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/cloudevents+json',
      'application/cloudevents-batch+json',
      'text/plain',
      'application/octet-stream',
      '',
    ),
    fc.string({ maxLength: 40 }),
  ),
  { nil: undefined },
);
/** CloudEvents binary-mode headers, sometimes complete. */
const ceHeaders = fc.oneof(
  fc.constant({}),
  fc.record({
    'ce-specversion': fc.constantFrom('1.0', '0.3', ''),
    'ce-id': fc.string({ maxLength: 20 }),
    'ce-source': fc.constantFrom('/waf/edge-1', ''),
    'ce-type': fc.constantFrom('com.example.waf.blocked', ''),
  }),
  fc.dictionary(
    fc.string({ maxLength: 12 }).map((k) => `ce-${k.toLowerCase()}`),
    fc.string({ maxLength: 20 }),
    { maxKeys: 4 },
  ),
);
const httpInput = (body: fc.Arbitrary<Uint8Array>): fc.Arbitrary<FormatInput> =>
  fc.record({ bytes: body, ct: contentType, ce: ceHeaders }).map(({ bytes, ct, ce }) => {
    const headers: Record<string, string> = { ...ce, ...(ct !== undefined && { 'content-type': ct }) };
    return { bytes, headers, rawHeaders: Object.entries(headers).flat() };
  });
const lineInput = (body: fc.Arbitrary<Uint8Array>): fc.Arbitrary<FormatInput> => body.map((bytes) => ({ bytes }));

/** Arbitrary bytes and text, as every format gets them. */
const anyBytes: fc.Arbitrary<Uint8Array> = fc.oneof(fc.uint8Array({ maxLength: 256 }), anyText.map(utf8));

/** What each format is fuzzed with besides arbitrary bytes: mutations of a payload it accepts. */
const SEEDS: Record<FormatName, fc.Arbitrary<FormatInput>> = {
  alertmanager: httpInput(jsonMutation(alertmanagerPayload).map(json)),
  cloudevents: fc.oneof(
    httpInput(jsonMutation(cloudEvent).map(json)).map((i) => ({ ...i, headers: { 'content-type': 'application/cloudevents+json' } })),
    httpInput(jsonMutation(cloudEvent.data).map(json)),
  ),
  webhook: httpInput(jsonMutation(webhookPayload).map(json)),
  modsecurity: lineInput(fc.oneof(jsonMutation(modsecurityEntry).map(json), textMutation(JSON.stringify(modsecurityEntry)).map(utf8))),
  nginx: lineInput(textMutation(nginxLine).map(utf8)),
  auditd: lineInput(textMutation(auditdLine).map(utf8)),
};

/** Valid payloads: the seeds' starting points parse. */
const VALID: Record<FormatName, FormatInput> = {
  alertmanager: { bytes: json(alertmanagerPayload), headers: { 'content-type': 'application/json' } },
  cloudevents: { bytes: json(cloudEvent), headers: { 'content-type': 'application/cloudevents+json' } },
  webhook: { bytes: json(webhookPayload), headers: { 'content-type': 'application/json' } },
  modsecurity: { bytes: json(modsecurityEntry) },
  nginx: { bytes: utf8(nginxLine) },
  auditd: { bytes: utf8(auditdLine) },
};

const ctx = (offset?: number): FormatContext => ({
  receivedAt,
  source: SOURCE,
  webhooks,
  file: '/var/log/fuzzed.log',
  ...(offset !== undefined && { offset }),
});

describe('the registry of signal formats', () => {
  it('lists each format once, each with a parser, media types and an arrival', () => {
    expect(new Set(FORMAT_NAMES).size).toBe(SIGNAL_FORMATS.length);
    for (const f of SIGNAL_FORMATS) {
      expect(f.name, f.name).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(typeof f.parse, f.name).toBe('function');
      expect(f.mediaTypes.length, f.name).toBeGreaterThan(0);
      for (const m of f.mediaTypes) expect(m, f.name).toMatch(/^([\w.+-]+|\*)\/([\w.+-]+|\*)(; ?[\w-]+=[\w-]+)*$/);
      expect(['http', 'log'], f.name).toContain(f.arrival.kind);
      expect(signalFormat(f.name)).toBe(f);
    }
  });

  it('gives every HTTP format its own route under /v1/signals/, with a summary and the answers it gives', () => {
    const urls = HTTP_FORMATS.map((f) => f.arrival.url);
    expect(new Set(urls).size).toBe(urls.length);
    for (const f of HTTP_FORMATS) {
      expect(f.arrival.url, f.name).toMatch(/^\/v1\/signals\/[a-z0-9-]+(\/:source)?$/);
      expect(f.arrival.summary.length, f.name).toBeGreaterThan(10);
      // A source comes from the URL or from ?source=, which falls back to a default.
      if (!f.arrival.url.includes(':source')) expect(f.arrival.defaultSource ?? f.name, f.name).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
      expect(f.arrival.errors, f.name).toEqual(expect.arrayContaining([413, 503]));
      if (f.arrival.accepts) expect(f.arrival.errors, f.name).toContain(415);
    }
    expect(HTTP_FORMATS.map((f) => f.name)).toEqual(['alertmanager', 'cloudevents', 'webhook']);
  });

  it('names the log formats a tailed file can have', () => {
    expect(LOG_FORMATS).toEqual(SIGNAL_FORMATS.filter((f) => f.arrival.kind === 'log').map((f) => f.name));
    expect(LOG_FORMATS).toEqual(['modsecurity', 'nginx', 'auditd']);
  });

  for (const format of SIGNAL_FORMATS) {
    it(`${format.name}: a payload it accepts gives signals and evidence`, () => {
      const input = VALID[format.name];
      const signals = format.parse(input, ctx(0));
      expect(signals.length).toBeGreaterThan(0);
      for (const s of signals) {
        expectValidSignal(s);
        expect(s.runId).toBe(RUN);
      }
      const e = evidenceOfPayload(format, input);
      expect(e.bytes.length).toBeGreaterThan(0);
      expect(e.mediaType.length).toBeGreaterThan(0);
    });

    it(`${format.name}: arbitrary bytes give valid signals or a DomainError invalid, nothing else`, () => {
      const input = format.arrival.kind === 'http' ? httpInput(anyBytes) : lineInput(anyBytes);
      fc.assert(
        fc.property(fc.oneof(input, SEEDS[format.name]), fc.option(fc.nat(), { nil: undefined }), (i, offset) => {
          let signals;
          try {
            signals = format.parse(i, ctx(offset));
          } catch (e) {
            expect(e).toBeInstanceOf(DomainError);
            expect((e as DomainError).code).toBe('invalid');
            expect((e as DomainError).message.length).toBeGreaterThan(5);
            return;
          }
          expect(Array.isArray(signals)).toBe(true);
          for (const s of signals) expectValidSignal(s);
          const e = evidenceOfPayload(format, i);
          expect(e.mediaType).toMatch(/^[\w!#$&^.+-]+\/[\w!#$&^.+-]+/);
        }),
        { numRuns: 1000 },
      );
    });
  }

  it('webhook: a source without a mapping is not found, before anything is read', () => {
    const webhook = signalFormat('webhook');
    expect(() => webhook.checkSource?.('undeclared', { webhooks })).toThrow(
      expect.objectContaining({ code: 'not_found', message: expect.stringContaining('signals.webhooks.undeclared') }),
    );
    expect(() => webhook.checkSource?.(SOURCE, { webhooks })).not.toThrow();
  });
});
