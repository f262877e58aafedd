import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attireRunId, detectionIn, detectionOf, indexSignals, parseAttire, withDeadline, type MatchableSignal } from './attire.ts';

const SAMPLE = readFileSync(new URL('../../../test/fixtures/attire/attire-1.1-readme-sample.json', import.meta.url), 'utf8');
const sample = () => JSON.parse(SAMPLE) as Record<string, any>;
const START = '2021-10-27T02:02:23.000Z';
const sig = (id: string, msAfter: number, labels: Record<string, string>, extra: Partial<MatchableSignal> = {}): MatchableSignal => ({
  id,
  receivedAt: new Date(Date.parse(START) + msAfter).toISOString(),
  labels,
  resolved: false,
  ...extra,
});

describe('ATTiRe logs', () => {
  it('reads the format’s published sample: technique, time, procedure and target', () => {
    const r = parseAttire(SAMPLE);
    if (!r.ok) throw new Error(r.message);
    expect(r.log).toEqual({
      version: '1.1',
      executionId: '3im2GxwX9VG8jzXLTDegLEKY8WfrA1IXL0VUwhlDYWs=',
      source: 'Invoke-Atomicredteam',
      command: 'Invoke-AtomicTest T1218.010 -TestNames "Regsvr32 remote COM scriptlet execution","Regsvr32 local DLL execution"',
      target: { host: 'WINDEV2009EVAL', ip: '192.168.204.129', user: 'User' },
      procedures: [
        {
          index: 0,
          technique: 'T1218.010',
          name: 'Regsvr32 remote COM scriptlet execution',
          procedureId: 'c9d0c4ef-8a96-4794-a75b-3d3a5e6f2a36',
          startedAt: START,
          endedAt: '2021-10-27T02:02:25.000Z',
          steps: 1,
        },
      ],
    });
    // The same log gives the same run ids, so a second import adds nothing.
    expect(attireRunId(r.log, r.log.procedures[0]!)).toMatch(/^[a-z0-9]{16}$/);
    expect(attireRunId(r.log, r.log.procedures[0]!)).toBe(attireRunId(r.log, { ...r.log.procedures[0]! }));
  });

  it('refuses what cannot be mapped, naming the field', () => {
    const cases: [(l: Record<string, any>) => void, string][] = [
      [(l) => delete l['execution-data'], 'execution-data'],
      [(l) => delete l['execution-data']['execution-id'], 'execution-data.execution-id'],
      [(l) => (l['execution-data'].target = { user: 'x' }), 'execution-data.target'],
      [(l) => (l.procedures[0]['mitre-technique-id'] = 'T1218.10'), 'procedures[0].mitre-technique-id'],
      [(l) => delete l.procedures[0]['procedure-name'], 'procedures[0].procedure-name'],
      [(l) => (l.procedures[0].steps = []), 'procedures[0].steps'],
      [(l) => (l.procedures[0].steps[0]['time-start'] = '27/10/2021 02:02'), 'procedures[0].steps[0].time-start'],
      [(l) => (l.procedures[0].steps[0]['time-stop'] = '2021-10-27T02:00:00.000Z'), 'procedures[0].steps[0].time-stop'],
      [(l) => (l['attire-version'] = '2.0'), 'attire-version'],
      [(l) => (l.procedures = []), 'procedures'],
    ];
    for (const [edit, field] of cases) {
      const l = sample();
      edit(l);
      const r = parseAttire(JSON.stringify(l));
      expect(r, field).toMatchObject({ ok: false, field });
      expect(!r.ok && r.message.startsWith(`${field}: `)).toBe(true);
    }
    expect(parseAttire('{')).toMatchObject({ ok: false, field: '(file)' });
  });

  it('matches the first signal that names the target within the window; a resolution or a Bulwark run’s signal is not one', () => {
    const { log } = parseAttire(SAMPLE) as { ok: true; log: ReturnType<typeof sample> };
    const p = log.procedures[0];
    const signals = [
      sig('s-other-host', 1000, { host: 'web-1' }),
      sig('s-resolved', 1500, { host: 'windev2009eval' }, { resolved: true }),
      sig('s-bulwark', 1600, { host: 'WINDEV2009EVAL' }, { runId: 'abcdefghijklmnop' }),
      sig('s-before', -1, { host: 'WINDEV2009EVAL' }),
      sig('s-ip', 4200, { instance: '192.168.204.129' }),
      sig('s-late', 301_000, { host: 'WINDEV2009EVAL' }),
    ];
    expect(detectionOf(p, log.target, signals, 300_000, 'host')).toEqual({ outcome: 'detected', ttdMs: 4200, signalId: 's-ip' });
    expect(detectionOf(p, log.target, signals, 300_000, 'any')).toEqual({ outcome: 'detected', ttdMs: 1000, signalId: 's-other-host' });
    expect(detectionOf(p, log.target, signals, 4000, 'host')).toEqual({ outcome: 'missed', ttdMs: null, signalId: null });
  });

  it('holds a detection to a deadline: past it detected-late, at it or before detected, a miss stays missed', () => {
    const seen = { outcome: 'detected' as const, ttdMs: 4200, signalId: 's1' };
    expect(withDeadline(seen, 4199)).toEqual({ ...seen, outcome: 'detected-late' });
    expect(withDeadline(seen, 4200)).toEqual(seen);
    expect(withDeadline(seen, null)).toEqual(seen);
    const missed = { outcome: 'missed' as const, ttdMs: null, signalId: null };
    expect(withDeadline(missed, 0)).toEqual(missed);
  });

  it('matches through the index as a pass over every signal does (random signals, targets, windows)', () => {
    const names = fc.constantFrom('web-1', 'WINDEV2009EVAL', 'windev2009eval', '192.168.204.129', 'db');
    const signal = fc
      .record({
        id: fc.constantFrom('a', 'b', 'c', 'd'),
        ms: fc.integer({ min: -2000, max: 12_000 }),
        labels: fc.dictionary(fc.constantFrom('host', 'instance', 'ip'), names, { maxKeys: 3 }),
        resolved: fc.boolean(),
        bulwark: fc.boolean(),
      })
      .map((x) =>
        sig(`${x.id}${x.ms}`, x.ms, x.labels, {
          resolved: x.resolved && x.ms % 3 === 0,
          ...(x.bulwark && x.ms % 5 === 0 ? { runId: 'r' } : {}),
        }),
      );
    fc.assert(
      fc.property(
        fc.array(signal, { maxLength: 30 }),
        fc.record({ host: fc.option(names, { nil: null }), ip: fc.option(names, { nil: null }), user: fc.constant(null) }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.constantFrom('host' as const, 'any' as const),
        (signals, target, windowMs, match) => {
          const p = { startedAt: START };
          expect(detectionIn(p, target, indexSignals(signals), windowMs, match)).toEqual(detectionOf(p, target, signals, windowMs, match));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads the file within the JSON bounds: a log nested past them is refused, not parsed', () => {
    const deep = `{"procedures": ${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const r = parseAttire(deep);
    expect(r).toMatchObject({ ok: false, field: '(file)' });
    expect(!r.ok && r.message).toMatch(/^\(file\): the JSON nests deeper than 64 levels/);
    expect(parseAttire('{"a": ').ok).toBe(false);
  });

  it('takes any text without throwing: a log or the field at fault', () => {
    const base = sample();
    const field = fc.constantFrom('attire-version', 'execution-data', 'procedures');
    const mutated = fc
      .tuple(field, fc.jsonValue(), fc.constantFrom('mitre-technique-id', 'steps', 'procedure-name', 'procedure-id'), fc.jsonValue())
      .map(([top, v, inner, w]) => {
        const l = structuredClone(base);
        l.procedures[0][inner] = w;
        // Half of the time the top-level field is replaced too.
        if (JSON.stringify(v).length % 2 === 0) l[top] = v;
        return JSON.stringify(l);
      });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          mutated,
        ),
        (text) => {
          const r = parseAttire(text);
          if (r.ok) for (const p of r.log.procedures) expect(p.technique).toMatch(/^T\d{4}(\.\d{3})?$/);
          else expect(r.message.startsWith(`${r.field}: `)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
