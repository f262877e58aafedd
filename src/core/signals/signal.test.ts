import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  dedupKey,
  epochMillisToIso,
  labelValue,
  makeSignal,
  parseTimestamp,
  signalId,
  toLabels,
  LABEL_LIMITS,
  type DedupBasis,
} from './signal.ts';

describe('timestamps', () => {
  it('reads RFC 3339 with the nanoseconds and offsets Go writes, into UTC milliseconds', () => {
    expect(parseTimestamp('2018-08-03T09:52:26.739266876+02:00')).toBe('2018-08-03T07:52:26.739Z');
    expect(parseTimestamp('2023-02-06T13:08:45.828Z')).toBe('2023-02-06T13:08:45.828Z');
    expect(parseTimestamp('2024-02-29T00:00:00Z')).toBe('2024-02-29T00:00:00.000Z');
    expect(parseTimestamp('0001-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00.000Z');
  });

  it('refuses what is not RFC 3339 rather than guessing a zone', () => {
    for (const bad of [
      '2023-02-29T00:00:00Z',
      '2023-13-01T00:00:00Z',
      '2023-01-01T24:00:00Z',
      '2023-01-01T00:00:00',
      'Wed Nov 15 22:13:20 2023',
      '1700000000',
      '0000-01-01T00:00:00+01:00',
      '',
    ]) {
      expect(parseTimestamp(bad), bad).toBeUndefined();
    }
  });

  it('round-trips every representable instant', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        expect(parseTimestamp(d.toISOString())).toBe(d.toISOString());
        expect(epochMillisToIso(d.getTime())).toBe(d.toISOString());
      }),
    );
  });
});

describe('labels', () => {
  it('keeps labels single-line, bounded, and free of prototype keys', () => {
    const l = toLabels([
      ['ok', 'a\nb\u0000c'],
      ['__proto__', 'x'],
      ['bad name', 'x'],
      ['ok', 'second value loses'],
      ['long', 'y'.repeat(5000)],
    ]);
    expect(l).toEqual({ ok: 'a b c', long: `${'y'.repeat(LABEL_LIMITS.maxValueLength - 1)}…` });
    expect(Object.getPrototypeOf(l)).toBe(Object.prototype);
  });

  it('never cuts a surrogate pair in half', () => {
    const v = labelValue('a'.repeat(LABEL_LIMITS.maxValueLength - 3) + '😀'.repeat(10));
    expect(v.length).toBeLessThanOrEqual(LABEL_LIMITS.maxValueLength);
    expect(() => encodeURIComponent(v)).not.toThrow();
  });

  it('caps the number of labels', () => {
    const l = toLabels(Array.from({ length: 500 }, (_, i) => [`l${i}`, 'v'] as const));
    expect(Object.keys(l)).toHaveLength(LABEL_LIMITS.maxLabels);
  });
});

describe('dedup keys', () => {
  const am = (over: Partial<Extract<DedupBasis, { kind: 'alertmanager' }>> = {}): DedupBasis => ({
    kind: 'alertmanager',
    fingerprint: '1a30ba71cca2921f',
    startsAt: '2023-02-06T13:08:45.828Z',
    status: 'firing',
    ...over,
  });

  it('gives a resent alert the same key and any change of identity a new one', () => {
    expect(dedupKey('alertmanager', am())).toBe(dedupKey('alertmanager', am()));
    const keys = new Set([
      dedupKey('alertmanager', am()),
      dedupKey('alertmanager', am({ status: 'resolved' })),
      dedupKey('alertmanager', am({ startsAt: '2023-02-06T13:18:45.828Z' })),
      dedupKey('alertmanager', am({ fingerprint: '1a30ba71cca2921e' })),
      dedupKey('other-alertmanager', am()),
    ]);
    expect(keys.size).toBe(5);
  });

  it('does not confuse parts that concatenate to the same text', () => {
    expect(dedupKey('s', { kind: 'cloudevents', ceSource: 'ab', ceId: 'c' })).not.toBe(
      dedupKey('s', { kind: 'cloudevents', ceSource: 'a', ceId: 'bc' }),
    );
    expect(dedupKey('s', { kind: 'webhook-id', id: '1' })).not.toBe(dedupKey('s', { kind: 'cloudevents', ceSource: '1', ceId: '' }));
  });

  it('hashes a webhook body canonically, so member order does not matter', () => {
    expect(dedupKey('w', { kind: 'webhook-body', body: { a: 1, b: [1, 2] } })).toBe(
      dedupKey('w', { kind: 'webhook-body', body: { b: [1, 2], a: 1 } }),
    );
    expect(dedupKey('w', { kind: 'webhook-body', body: { a: 1 } })).not.toBe(dedupKey('w', { kind: 'webhook-body', body: { a: 2 } }));
  });

  it('treats a log line re-read at the same place as the same, and a rotated file as new', () => {
    const k = (offset: number, line: string) => dedupKey('nginx', { kind: 'log-line', file: '/var/log/nginx/access.log', offset, line });
    expect(k(100, 'x')).toBe(k(100, 'x'));
    expect(k(100, 'x')).not.toBe(k(200, 'x'));
    expect(k(100, 'x')).not.toBe(k(100, 'y'));
  });

  it('is equal exactly when the identifying parts are equal', () => {
    const basis = fc.record({
      fingerprint: fc.constantFrom('a', 'b'),
      startsAt: fc.constantFrom('t1', 't2'),
      status: fc.constantFrom('firing' as const, 'resolved' as const),
    });
    fc.assert(
      fc.property(fc.constantFrom('s1', 's2'), basis, fc.constantFrom('s1', 's2'), basis, (s1, b1, s2, b2) => {
        const same = s1 === s2 && b1.fingerprint === b2.fingerprint && b1.startsAt === b2.startsAt && b1.status === b2.status;
        expect(dedupKey(s1, { kind: 'alertmanager', ...b1 }) === dedupKey(s2, { kind: 'alertmanager', ...b2 })).toBe(same);
      }),
    );
  });

  it('derives the id from the fingerprint, so storing a resend is idempotent', () => {
    const parts = {
      source: 's',
      time: '2023-01-01T00:00:00.000Z',
      receivedAt: '2023-01-01T00:00:01.000Z',
      severity: 'info' as const,
      labels: {},
      body: null,
      dedup: { kind: 'webhook-id' as const, id: '7' },
    };
    const a = makeSignal(parts);
    const b = makeSignal({ ...parts, receivedAt: '2023-01-01T00:05:00.000Z' });
    expect(a.id).toBe(b.id);
    expect(a.id).toBe(signalId(a.fingerprint));
    expect('runId' in a).toBe(false);
  });
});
