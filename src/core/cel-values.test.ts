import { describe, expect, it } from 'vitest';
import { compileCel, matchSignal } from './experiments/cel.ts';
import { compileTriage, matches } from './incidents/triage-cel.ts';
import { toCel } from './cel-values.ts';

const signal = {
  id: 's1',
  source: 'alertmanager',
  time: '2026-01-01T00:00:00.000Z',
  receivedAt: '2026-01-01T00:00:01.000Z',
  severity: 'critical',
  labels: { constructor: 'x', toString: 'y' },
  body: { constructor: 'waf', count: 2, nested: { __proto__: null, toString: 1 } },
  fingerprint: 'f',
  resolved: false,
  runId: '',
};

describe('JSON values in CEL', () => {
  it('reads whole numbers as ints and objects as maps, whatever their keys', () => {
    expect(toCel({ a: 1, b: 1.5, c: [2] })).toEqual(
      new Map<string, unknown>([
        ['a', 1n],
        ['b', 1.5],
        ['c', [2n]],
      ]),
    );
  });

  it('lets triage and detection match on keys every JavaScript object has', () => {
    const triage = compileTriage(
      'signal.body.constructor == "waf" && signal.labels.constructor == "x" && signal.body.count + 1 == 3',
      'signal',
    );
    expect(triage.ok).toBe(true);
    if (triage.ok) expect(matches(triage.program, { signal })).toBe(true);
    const detection = compileCel('signal.body.constructor == "waf" && signal.labels.toString == "y"');
    expect(detection.ok).toBe(true);
    if (detection.ok) expect(matchSignal(detection.program, signal, { id: 'r1' }).matched).toBe(true);
  });
});
