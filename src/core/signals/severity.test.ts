import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SEVERITIES, isSeverity, maxSeverity, normaliseSeverity, severityRank, syslogSeverity } from './severity.ts';

describe('severity normalisation', () => {
  it("maps Alertmanager's common severity labels onto the five levels", () => {
    expect(normaliseSeverity('critical')).toBe('critical');
    expect(normaliseSeverity('error')).toBe('high');
    expect(normaliseSeverity('warning')).toBe('medium');
    expect(normaliseSeverity('info')).toBe('info');
    expect(normaliseSeverity(' WARNING ')).toBe('medium');
    expect(normaliseSeverity('P2')).toBe('high');
  });

  it('refuses to guess numbers, whose scale differs between sources', () => {
    expect(normaliseSeverity('5')).toBeUndefined();
    expect(normaliseSeverity(5)).toBeUndefined();
    expect(normaliseSeverity('page me now')).toBeUndefined();
  });

  it('maps syslog levels as ModSecurity writes them (2 = CRITICAL for CRS 942100)', () => {
    expect(syslogSeverity('2')).toBe('critical');
    expect(syslogSeverity('3')).toBe('high');
    expect(syslogSeverity(4)).toBe('medium');
    expect(syslogSeverity('5')).toBe('low');
    expect(syslogSeverity('7')).toBe('info');
    expect(syslogSeverity('8')).toBeUndefined();
    expect(syslogSeverity('CRITICAL')).toBeUndefined();
  });

  it('orders severities so the worst of several can be picked', () => {
    expect(maxSeverity('low', 'high')).toBe('high');
    expect(maxSeverity('critical', 'info')).toBe('critical');
    expect([...SEVERITIES].sort((a, b) => severityRank(b) - severityRank(a))).toEqual(SEVERITIES);
  });

  it('answers any input with a severity or undefined, never a throw', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        const a = normaliseSeverity(v);
        const b = syslogSeverity(v);
        expect(a === undefined || isSeverity(a)).toBe(true);
        expect(b === undefined || isSeverity(b)).toBe(true);
      }),
    );
  });
});
