import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileCel, matchSignal, type CelProgram, type CelSignal } from './cel.ts';

const signal: CelSignal = {
  id: 'sig-1',
  source: 'modsecurity',
  time: '2024-05-01T10:00:00.000Z',
  receivedAt: Date.parse('2024-05-01T10:00:01.500Z'),
  severity: 'critical',
  labels: { rule: '942100', host: 'shop' },
  body: { run: 'run-42', count: 5, ratio: 0.25, tags: ['sqli', 'run-42'], nested: { codes: [403, 406] } },
  fingerprint: 'fp-1',
};

function compile(src: string): CelProgram {
  const r = compileCel(src);
  if (!r.ok) throw new Error(r.message);
  return r.program;
}

const run = { id: 'run-42' };

describe('compileCel and matchSignal', () => {
  it('matches a signal the expression describes', () => {
    expect(matchSignal(compile('signal.labels.rule == "942100"'), signal, run)).toEqual({
      matched: true,
      reason: 'signal.labels.rule == "942100" is true',
    });
    expect(matchSignal(compile('signal.body.run == run.id && signal.severity in ["high", "critical"]'), signal, run).matched).toBe(true);
    expect(matchSignal(compile('run.id in signal.body.tags'), signal, run).matched).toBe(true);
    expect(matchSignal(compile('signal.receivedAt - signal.time < duration("2s")'), signal, run).matched).toBe(true);
    expect(matchSignal(compile('signal.labels.rule.startsWith("942") && has(signal.labels.host)'), signal, run).matched).toBe(true);
  });

  it('does not match a signal the expression excludes', () => {
    expect(matchSignal(compile('signal.labels.rule == "941100"'), signal, run)).toEqual({
      matched: false,
      reason: 'signal.labels.rule == "941100" is false',
    });
    expect(matchSignal(compile('signal.body.run == run.id'), signal, { id: 'other' }).matched).toBe(false);
  });

  it('reads whole JSON numbers as CEL ints (cel-js uses BigInt), so int arithmetic works', () => {
    expect(matchSignal(compile('signal.body.count + 1 == 6'), signal, run).matched).toBe(true);
    expect(matchSignal(compile('signal.body.count > 3 && signal.body.ratio < 0.5'), signal, run).matched).toBe(true);
    expect(matchSignal(compile('403 in signal.body.nested.codes'), signal, run).matched).toBe(true);
  });

  it('refuses syntax errors, unknown fields and non-boolean expressions when the file is parsed', () => {
    const syntax = compileCel('signal.labels.rule ==');
    expect(syntax).toMatchObject({ ok: false, message: expect.stringMatching(/^CEL syntax error: /) });
    const unknownField = compileCel('signal.lables.rule == "1"');
    expect(unknownField).toMatchObject({ ok: false, offset: 7, message: expect.stringMatching(/No such key: lables/) });
    expect(compileCel('sig.labels.rule == "1"')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/the variables are signal and run/),
    });
    expect(compileCel('signal.severity')).toMatchObject({ ok: false, message: expect.stringMatching(/yields string, not bool/) });
    expect(compileCel('signal.severity == 3')).toMatchObject({ ok: false, message: expect.stringMatching(/no such overload/) });
    expect(compileCel('  ')).toMatchObject({ ok: false, message: expect.stringMatching(/expression is empty/) });
  });

  it('turns an evaluation error into a non-match with the reason', () => {
    expect(matchSignal(compile('signal.labels.missing == "x"'), signal, run)).toEqual({
      matched: false,
      reason: 'evaluation error: No such key: missing',
    });
    expect(matchSignal(compile('signal.body.count / 0 == 1'), signal, run)).toMatchObject({
      matched: false,
      reason: expect.stringMatching(/division by zero/),
    });
    expect(matchSignal(compile('signal.body.nope'), signal, run)).toMatchObject({ matched: false });
    expect(matchSignal(compile('signal.body.run'), signal, run)).toEqual({
      matched: false,
      reason: 'expression yielded "run-42", not a bool',
    });
    expect(matchSignal(compile('true'), { ...signal, time: 'not a time' }, run).matched).toBe(false);
  });

  it('never throws on arbitrary expressions and bodies', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.jsonValue({ maxDepth: 3 }), (src, body) => {
        const c = compileCel(src);
        if (!c.ok) {
          expect(c.message.length).toBeGreaterThan(0);
          return;
        }
        const m = matchSignal(c.program, { ...signal, body }, run);
        expect(typeof m.matched).toBe('boolean');
      }),
      { numRuns: 300 },
    );
    const p = compile('signal.body.a.b == 1 || size(signal.body) > 2');
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (body) => {
        expect(typeof matchSignal(p, { ...signal, body }, run).matched).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});
