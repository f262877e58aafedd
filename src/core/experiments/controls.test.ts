import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONTROL_FINDINGS, controlResults, firesRule, parseSourceClasses, sourceClassOf, type DetectionEvidence } from './controls.ts';
import { parseExperiment } from './experiment-file.ts';

const det = (d: Partial<DetectionEvidence> & { name: string }): DetectionEvidence => ({ deadlineMs: 1000, observed: {}, ...d });

describe('source classes', () => {
  it('alerts from Alertmanager and Bulwark, logs from everything else until declared', () => {
    expect(sourceClassOf('alertmanager')).toBe('alerting');
    expect(sourceClassOf('bulwark')).toBe('alerting');
    expect(sourceClassOf('modsecurity')).toBe('logs');
    expect(sourceClassOf('cloudevents')).toBe('logs');
    expect(sourceClassOf('siem')).toBe('logs');
    expect(sourceClassOf('siem', { siem: 'alerting' })).toBe('alerting');
    expect(sourceClassOf('alertmanager', { alertmanager: 'logs' })).toBe('logs');
    // An inherited name is not a declaration.
    expect(sourceClassOf('toString', {})).toBe('logs');
  });

  it('reads the declared classes of any stored document without throwing, keeping only valid ones', () => {
    expect(parseSourceClasses({ signalSources: { a: 'alerting', b: 'logs', c: 'loud', __proto__: 'alerting' } })).toEqual({
      a: 'alerting',
      b: 'logs',
    });
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (v) => {
        const r = parseSourceClasses({ signalSources: v });
        for (const x of Object.values(r)) expect(['alerting', 'logs']).toContain(x);
        parseSourceClasses(v);
      }),
      { numRuns: 150 },
    );
  });
});

describe('rules', () => {
  it('fires by rule, alertname or one of ModSecurity’s rules', () => {
    expect(firesRule({ rule: '942100' }, '942100')).toBe(true);
    expect(firesRule({ alertname: 'WafSqli' }, 'WafSqli')).toBe(true);
    expect(firesRule({ rule: '949110', rules: '949110, 942100' }, '942100')).toBe(true);
    expect(firesRule({ rule: '941100', rules: '941100' }, '942100')).toBe(false);
    expect(firesRule({}, '942100')).toBe(false);
  });
});

describe('controlResults', () => {
  it('keeps each control apart and never collapses blocked, alerted and logged', () => {
    const r = controlResults({
      blocked: { control: 'waf', held: true },
      detections: [
        det({ name: 'log', control: 'waf', must: 'logged', metTtdMs: 10, observed: { logs: 10 } }),
        det({ name: 'ids', control: 'ids', must: 'alerted', observed: { logs: 50 } }),
      ],
    });
    expect(r.map((c) => [c.control, c.results, c.findings])).toEqual([
      ['ids', ['logged'], ['logged-not-alerted']],
      ['waf', ['blocked', 'logged'], []],
    ]);
    expect(r[1]).toMatchObject({ expected: ['blocked', 'logged'], loggedTtdMs: 10, alertedTtdMs: null });
  });

  it('says none, not-alerted, late and another rule for what fell short', () => {
    const [c] = controlResults({
      blocked: { held: false },
      detections: [
        det({ name: 'a', must: 'alerted' }),
        det({ name: 'b', metTtdMs: 2000, observed: { alerting: 2000 } }),
        det({ name: 'c', rule: '942100', ruleFired: false, otherRules: ['941100'], metTtdMs: 5, observed: { logs: 5 } }),
      ],
    });
    expect(c).toMatchObject({
      control: 'default',
      blocked: false,
      results: ['alerted', 'logged'],
      findings: ['not-blocked', 'not-alerted', 'detected-late', 'detected-by-another-rule'],
    });
    expect(controlResults({ detections: [det({ name: 'x' })] })[0]).toMatchObject({ results: ['none'], findings: ['not-detected'] });
    expect(controlResults({ detections: [] })).toEqual([]);
  });

  it('property: results are none exactly when nothing was observed, and findings are known', () => {
    const evidence = fc.record({
      name: fc.string({ maxLength: 5 }),
      control: fc.option(fc.constantFrom('waf', 'ids'), { nil: undefined }),
      must: fc.option(fc.constantFrom('alerted' as const, 'logged' as const), { nil: undefined }),
      rule: fc.option(fc.constantFrom('1', '2'), { nil: undefined }),
      ruleFired: fc.option(fc.boolean(), { nil: undefined }),
      deadlineMs: fc.nat(1000),
      metTtdMs: fc.option(fc.nat(2000), { nil: undefined }),
      observed: fc.record({ alerting: fc.nat(2000), logs: fc.nat(2000) }, { requiredKeys: [] }),
    });
    fc.assert(
      fc.property(fc.option(fc.record({ held: fc.boolean() }), { nil: undefined }), fc.array(evidence, { maxLength: 6 }), (blocked, ds) => {
        const clean = ds.map(
          (d) => Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)) as unknown as DetectionEvidence,
        );
        for (const c of controlResults({ ...(blocked ? { blocked } : {}), detections: clean })) {
          const any = c.blocked === true || c.alerted || c.logged;
          expect(c.results.includes('none')).toBe(!any);
          for (const f of c.findings) expect(CONTROL_FINDINGS).toContain(f);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('the file', () => {
  const file = (detection: string) => `
title: t
description: d
method:
  - {type: action, name: a, provider: {type: http, url: "http://127.0.0.1:1/"}}
expect:
  blocked: {tolerance: 403, control: waf}
  detected:
    - ${detection}
`;

  it('reads control, must and rule, and names what to fix in a bad one', () => {
    const ok = parseExperiment(file(`{name: d, when: "true", within: 1s, control: waf, must: logged, rule: 942100}`));
    expect(ok.ok && ok.experiment.expect).toMatchObject({
      blocked: { control: 'waf' },
      detected: [{ name: 'd', control: 'waf', must: 'logged', rule: '942100' }],
    });
    const bad = parseExperiment(file(`{name: d, when: "true", within: 1s, must: loud, control: "Bad Name"}`));
    expect(bad.ok).toBe(false);
    const messages = bad.ok ? [] : bad.errors.map((e) => `${e.path}: ${e.message}`);
    expect(messages.join('\n')).toMatch(/expect\.detected\[0\]\.must: must must be alerted/);
    expect(messages.join('\n')).toMatch(/expect\.detected\[0\]\.control: control must be a name/);
  });

  it('property: any control, must and rule value parses or is refused with a located error, never throws', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 1 }), fc.jsonValue({ maxDepth: 1 }), (control, must, rule) => {
        const r = parseExperiment(file(JSON.stringify({ name: 'd', when: 'true', within: '1s', control, must, rule })));
        if (!r.ok) for (const e of r.errors) expect(typeof e.message).toBe('string');
      }),
      { numRuns: 60 },
    );
  });
});
