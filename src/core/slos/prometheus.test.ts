import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateBudget } from './budget.ts';
import { nestedEvents, prometheusUrlRefusal, queryRefusal, readInstant, windowQuery } from './prometheus.ts';
import { parseSloFile } from './slo-file.ts';
import type { Slo } from './types.ts';

const FILE = (sli: string, extra = '') => `apiVersion: bulwark/v1
kind: SLO
name: api
service: shop
objective: 99
window: 30d
sli:
  prometheus:
${sli}${extra}`;

describe('Prometheus SLI queries', () => {
  it('puts the window where {{.window}} is, and reads a bare selector as its increase', () => {
    expect(windowQuery('sum(increase(x[{{.window}}])) / sum(increase(y[{{ window }}]))', 300_000)).toBe(
      'sum(increase(x[5m])) / sum(increase(y[5m]))',
    );
    expect(windowQuery('http_requests_total{code!~"5.."}', 30 * 86_400_000)).toBe('sum(increase(http_requests_total{code!~"5.."}[30d]))');
    expect(windowQuery('x[{{.window}}]', 1_234_567)).toBe('x[20m35s]');
    expect(queryRefusal('sum(rate(x[5m]))')).toMatch(/\{\{\.window\}\}/);
    expect(queryRefusal('')).toMatch(/empty/);
  });

  it('never throws on any query, and what it accepts carries no placeholder once expanded', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constantFrom('x{a="b"}', 'sum(x[{{.window}}])', '{{window}}', '{__name__="x"}')),
        fc.integer({ min: 1, max: 1e12 }),
        (q, ms) => {
          const why = queryRefusal(q);
          if (why === undefined) expect(windowQuery(q, ms)).not.toMatch(/\{\{/);
          else expect(why.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('calls only allowed hosts, never metadata addresses or URLs with credentials', () => {
    expect(prometheusUrlRefusal('http://127.0.0.1:9090', ['127.0.0.0/8'])).toBeUndefined();
    expect(prometheusUrlRefusal('http://prom.example.com', ['localhost'])).toMatch(/not in allowHosts/);
    expect(prometheusUrlRefusal('http://169.254.169.254', ['169.254.0.0/16'])).toMatch(/metadata/);
    expect(prometheusUrlRefusal('http://u:p@localhost', ['localhost'])).toMatch(/credentials/);
    expect(prometheusUrlRefusal('file:///etc/passwd', ['localhost'])).toMatch(/http/);
    fc.assert(
      fc.property(fc.string(), (u) => {
        const why = prometheusUrlRefusal(u, ['localhost', '127.0.0.0/8']);
        if (why === undefined) expect(['localhost', '127'].some((h) => new URL(u).hostname.startsWith(h))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('reads one number from an answer, zero when nothing matched, and refuses the rest', () => {
    expect(readInstant({ resultType: 'vector', result: [{ metric: {}, value: [1, '42.5'] }] })).toEqual({ ok: true, value: 42.5 });
    expect(readInstant({ resultType: 'vector', result: [] })).toEqual({ ok: true, value: 0 });
    expect(readInstant({ resultType: 'scalar', result: [1, '3'] })).toEqual({ ok: true, value: 3 });
    expect(readInstant({ resultType: 'vector', result: [{ value: [1, 'NaN'] }] }).ok).toBe(false);
    expect(readInstant({ resultType: 'vector', result: [{ value: [1, '1'] }, { value: [1, '2'] }] })).toMatchObject({ why: /sum/ });
    expect(readInstant({ resultType: 'matrix', result: [] }).ok).toBe(false);
    fc.assert(
      fc.property(fc.anything(), (d) => {
        const r = readInstant(d);
        if (r.ok) expect(Number.isFinite(r.value)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});

describe('nested window counts as events', () => {
  const slo: Pick<Slo, 'objective' | 'window' | 'budgeting' | 'alerting'> = {
    objective: 0.99,
    window: { kind: 'rolling', ms: 30 * 86_400_000, text: '30d' },
    budgeting: { method: 'occurrences' },
    alerting: { strategy: 'sloth', minEvents: 1, page: true, ticket: true },
  };
  const SPANS = [300_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 86_400_000, 259_200_000, 30 * 86_400_000];

  it("give back each window's ratio as its burn rate, whatever the counts", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 })), { minLength: 8, maxLength: 8 }),
        (steps) => {
          // Cumulative counts: longer windows hold at least what shorter ones do.
          let good = 0;
          let total = 0;
          const windows = SPANS.map((ms, i) => {
            const [g, b] = steps[i]!;
            good += g;
            total += g + b;
            return { ms, good, total };
          });
          const now = 1_750_000_000_000;
          const b = evaluateBudget(slo, nestedEvents(windows, now), now);
          for (const w of windows) {
            const r = b.burnRates.find((x) => x.ms === w.ms)!;
            if (w.total === 0) expect(r.rate).toBeNull();
            else expect(r.rate!).toBeCloseTo((1 - w.good / w.total) / 0.01, 9);
          }
          expect(b.total).toBe(total);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('the prometheus SLI in a file', () => {
  const base = '    url: http://127.0.0.1:9090\n    bad: errors_total\n    total: requests_total\n';
  it('parses with loopback allowed by default and a 2 s timeout', () => {
    const r = parseSloFile(FILE(base));
    expect(r.ok && r.slos[0]!.sli).toEqual({
      source: 'prometheus',
      url: 'http://127.0.0.1:9090',
      bad: 'errors_total',
      total: 'requests_total',
      allowHosts: ['localhost', '127.0.0.0/8', '::1'],
      timeoutMs: 2000,
    });
  });
  it.each([
    ['    url: http://127.0.0.1:9090\n    total: requests_total\n', /good query or the bad one/],
    [base + '    timeout: 30s\n', /at most 10s/],
    [base.replace('127.0.0.1', 'prom.internal'), /not in allowHosts/],
    [base, /budgeted by occurrences/, 'budgeting: {method: timeslices, slice: 1h, sliceTarget: 90}\n'],
    [base, /exclusion windows are not applied/, 'exclusions:\n  - {name: x, start: 2026-01-01, duration: 1h}\n'],
  ])('refuses what it cannot do, saying what to fix (%#)', (sli, message, extra = '') => {
    const r = parseSloFile(FILE(sli, extra));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.message).join('; ')).toMatch(message);
  });
});
