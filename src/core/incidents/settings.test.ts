import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_RESOLUTIONS, DEFAULT_SEVERITIES, defaultSettings, parseIncidentSettings } from './settings.ts';

describe('incident settings', () => {
  it('parses the defaults: SEV1–SEV4, the resolution taxonomy, and rules for burn alerts and missed runs', () => {
    const s = defaultSettings();
    expect(s.severities.map((x) => x.name)).toEqual(['SEV1', 'SEV2', 'SEV3', 'SEV4']);
    expect(s.resolutions).toEqual(DEFAULT_RESOLUTIONS);
    expect(s.rules.map((r) => r.name)).toEqual(['slo-burn', 'missed-detection', 'critical-signals']);
    expect(s.rules[0]).toMatchObject({ on: 'signal', groupBy: ['labels.slo'], windowMs: 6 * 3600_000 });
  });

  it('takes a configured severity model and taxonomy', () => {
    const r = parseIncidentSettings(`apiVersion: bulwark/v1
kind: IncidentSettings
severities:
  - { name: P0, means: everything is on fire }
  - { name: P1, means: something is on fire }
resolutions: [benign, real]
rules: []
`);
    expect(r.ok && r.settings).toMatchObject({
      severities: [DEFAULT_SEVERITIES[0] && { name: 'P0', means: 'everything is on fire' }, { name: 'P1', means: 'something is on fire' }],
      resolutions: ['benign', 'real'],
      rules: [],
    });
  });

  it('says what to fix, with line and column: a CEL field that does not exist, a bad groupBy, an unknown severity key', () => {
    const r = parseIncidentSettings(`apiVersion: bulwark/v1
kind: IncidentSettings
rules:
  - name: a
    on: signal
    match: signal.lables.x == "y"
    groupBy: [experiment]
    window: 1h
    severity: { map: { missed: high }, default: low }
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.path, e.line])).toEqual([
      ['rules.0.match', 6],
      ['rules.0.groupBy.0', 7],
      ['rules.0.severity.map.missed', 9],
    ]);
    expect(r.errors[0]!.message).toMatch(/a rule on signals sees id, source/);
    expect(r.errors[1]!.message).toMatch(/use source, severity or labels.NAME/);
    expect(r.errors[2]!.message).toMatch(/not a signal severity/);
  });

  it('refuses a missing window, a duplicate rule name and a non-mapping file', () => {
    const dup = parseIncidentSettings(`apiVersion: bulwark/v1
kind: IncidentSettings
rules:
  - { name: a, on: run, match: 'run.outcome == "missed"', window: 1h, severity: high }
  - { name: a, on: run, match: 'run.outcome == "missed"', window: 1x, severity: high }
`);
    expect(dup.ok || dup.errors.map((e) => e.message)).toEqual(['window: a duration such as 5m, 1h or 1d']);
    expect(parseIncidentSettings('- 1').ok).toBe(false);
    const r = parseIncidentSettings('just text');
    expect(!r.ok && r.errors[0]!.message).toMatch(/a mapping with apiVersion bulwark\/v1 and kind IncidentSettings/);
  });

  it("refuses a checklist item due more than a year after it is added (a date past the calendar's range)", () => {
    const r = parseIncidentSettings(`apiVersion: bulwark/v1
kind: IncidentSettings
checklists:
  - { name: far, items: [{ title: later, due: 275000y }] }
`);
    expect(!r.ok && r.errors.map((e) => e.message).join('\n')).toMatch(/a due time is at most 366d after the checklist is added/);
  });

  it('never throws on any input, and every error has a position (fuzz)', () => {
    const fragments = fc.constantFrom(
      'apiVersion: bulwark/v1\n',
      'kind: IncidentSettings\n',
      'rules:\n',
      '  - name: a\n',
      '    on: signal\n',
      '    on: run\n',
      '    match: signal.severity == "high"\n',
      '    match: run.outcome ==\n',
      '    window: 1h\n',
      '    groupBy: [labels.x, source]\n',
      '    severity: high\n',
      'severities: [{name: S1, means: x}]\n',
      'resolutions: [a, a]\n',
      '&a [*a]\n',
      '{',
      ': :\n',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.array(fragments, { maxLength: 14 }).map((a) => a.join('')),
        ),
        (text) => {
          const r = parseIncidentSettings(text);
          if (!r.ok) {
            expect(r.errors.length).toBeGreaterThan(0);
            for (const e of r.errors) expect(e.line).toBeGreaterThanOrEqual(1);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
