import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DomainError } from '../errors.ts';
import { checkWebhookMapping, mapWebhook, parseWebhookMapping, type WebhookMappingConfig } from './webhook-mapping.ts';
import { anyText, expectClearReason, expectValidSignal, jsonMutation } from './fuzz.test-support.ts';

const RUN = 'r7k2m9x4p1';
const receivedAt = '2026-03-01T10:00:05.250Z';

/** A Wazuh-like alert forwarded by an integration script. */
function payload() {
  return {
    timestamp: '2026-03-01T10:00:03.500+0000'.replace('+0000', 'Z'),
    id: '1740823203.1234',
    rule: { id: '31103', level: 7, description: 'SQL injection attempt.', groups: ['web', 'attack', 'sql_injection'] },
    agent: { id: '001', name: 'shop-1' },
    data: { srcip: '127.0.0.1', url: "/search?id=1' OR '1'='1", headers: { 'X-Bulwark-Run': RUN } },
    full_log: `127.0.0.1 - - [01/Mar/2026:10:00:03 +0000] "GET /search?id=1%27%20OR%20%271%27%3D%271 HTTP/1.1" 403 153 "-" "curl/8.5.0 bulwark-run/${RUN}"`,
  };
}

const config: WebhookMappingConfig = {
  source: 'wazuh',
  id: '$.id',
  time: '$.timestamp',
  severity: '$.rule.level',
  severityMap: { '7': 'high', '12': 'critical' },
  labels: { rule: '$.rule.id', agent: 'agent.name', group: 'rule.groups[2]', groups: '$.rule.groups', missing: '$.nope' },
  runId: "$.data.headers['X-Bulwark-Run']",
  body: '$.data',
};

function map(p: unknown, c: WebhookMappingConfig = config) {
  const r = mapWebhook(p, parseWebhookMapping(c), { receivedAt });
  if (!r.ok) throw new Error(r.reason);
  return r.signal;
}

describe('webhook mappings', () => {
  it('maps id, time, severity, labels, run id and body by their paths', () => {
    const s = map(payload());
    expectValidSignal(s);
    expect(s).toMatchObject({
      source: 'wazuh',
      time: '2026-03-01T10:00:03.500Z',
      severity: 'high',
      labels: { rule: '31103', agent: 'shop-1', group: 'sql_injection', groups: '["web","attack","sql_injection"]' },
      runId: RUN,
      body: payload().data,
    });
    expect(s.labels).not.toHaveProperty('missing');
  });

  it('dedups by the declared id field, else by the canonical body', () => {
    const a = map(payload());
    const b = payload();
    b.full_log = 'changed';
    expect(map(b).fingerprint).toBe(a.fingerprint);
    b.id = 'other';
    expect(map(b).fingerprint).not.toBe(a.fingerprint);

    const noId: WebhookMappingConfig = { source: 'plain' };
    const x = map({ a: 1, b: { c: [1, 2] } }, noId);
    expect(map({ b: { c: [1, 2] }, a: 1 }, noId).fingerprint).toBe(x.fingerprint);
    expect(map({ a: 2, b: { c: [1, 2] } }, noId).fingerprint).not.toBe(x.fingerprint);
  });

  it('defaults: whole payload as body, receipt time, medium severity, run id found anywhere in the payload', () => {
    const s = map(payload(), { source: 'plain' });
    expect(s).toMatchObject({ time: receivedAt, severity: 'medium', labels: {}, runId: RUN, body: payload() });
  });

  it('takes a constant severity, and common words through a path', () => {
    expect(map(payload(), { source: 's', severity: 'critical' }).severity).toBe('critical');
    expect(map({ level: 'Warning' }, { source: 's', severity: 'level' }).severity).toBe('medium');
    expect(map({ level: 99 }, { source: 's', severity: 'level' }).severity).toBe('medium');
  });

  it('reads epoch seconds and milliseconds as times', () => {
    expect(map({ t: 1740823203 }, { source: 's', time: 't' }).time).toBe('2025-03-01T10:00:03.000Z');
    expect(map({ t: 1740823203500 }, { source: 's', time: 't' }).time).toBe('2025-03-01T10:00:03.500Z');
  });

  it('refuses a payload whose declared id or time is missing or malformed', () => {
    const reason = (p: unknown) => {
      const r = mapWebhook(p, parseWebhookMapping(config), { receivedAt });
      return r.ok ? 'accepted' : r.reason;
    };
    const noId = payload() as Record<string, unknown>;
    delete noId.id;
    expect(reason(noId)).toBe('id: nothing at $.id');
    expect(reason({ ...payload(), id: { x: 1 } })).toBe(
      'id at $.id must be a non-empty string (at most 512 characters) or a number, got an object',
    );
    expect(reason({ ...payload(), timestamp: 'yesterday' })).toMatch(/^time at \$\.timestamp must be an RFC 3339 timestamp/);
  });

  it('drops a run id that is not valid instead of refusing the signal (it may be the attacker talking)', () => {
    const p = payload();
    p.data.headers['X-Bulwark-Run'] = `${RUN}\nforged`;
    const s = map(p);
    expect(s.runId).toBeUndefined();
    expect(s.labels.rule).toBe('31103');
  });

  it('validates the mapping itself with messages that say what to fix', () => {
    const r = checkWebhookMapping({ source: 'Bad Source', id: '$..id', lables: {}, labels: { 'bad name': '$.x' }, severity: '$[*]' });
    if (r.ok) throw new Error('accepted');
    const byPath = Object.fromEntries(r.issues!.map((i) => [i.path, i.message]));
    expect(byPath.source).toMatch(/a-z, 0-9/);
    expect(byPath.id).toMatch(/recursive descent are not supported/);
    expect(byPath.severity).toMatch(/or use one of critical, high, medium, low, info/);
    expect(byPath['labels["bad name"]']).toMatch(/label names/);
    expect(byPath['(root)']).toMatch(/Unrecognized key: "lables"/);
    expect(() => parseWebhookMapping({ source: 'x', id: 5 })).toThrow(DomainError);
    try {
      parseWebhookMapping({ source: 'x', id: 5 });
    } catch (e) {
      expect((e as DomainError).code).toBe('invalid');
      expect((e as DomainError).message).toMatch(/^invalid webhook mapping: id: /);
    }
  });

  it('validates any mapping config without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), jsonMutation(config)), (c) => {
        const r = checkWebhookMapping(c);
        if (!r.ok) expectClearReason(r, /^invalid webhook mapping: /);
      }),
      { numRuns: 2000 },
    );
  });

  it('maps any payload without throwing: arbitrary JSON, text, and mutations of a real one', () => {
    const mappings = [
      parseWebhookMapping(config),
      parseWebhookMapping({ source: 'plain' }),
      parseWebhookMapping({ source: 'consts', severity: 'low', labels: { a: '$' } }),
    ];
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), anyText, jsonMutation(payload())), fc.constantFrom(...mappings), (p, m) => {
        const r = mapWebhook(p, m, { receivedAt });
        if (r.ok) expectValidSignal(r.signal);
        else expectClearReason(r, /^(id|time)[: ]/);
      }),
      { numRuns: 2000 },
    );
  });
});
