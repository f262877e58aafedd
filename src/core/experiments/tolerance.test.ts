import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compilePattern, evaluateTolerance, parseTolerance } from './tolerance.ts';
import type { Tolerance } from './types.ts';

function tol(raw: unknown): Tolerance {
  const r = parseTolerance(raw);
  if (!r.ok) throw new Error(r.message);
  return r.tolerance;
}

const http = (status: number, body: unknown = '', headers: Record<string, string> = {}) => ({ status, headers, body });
const proc = (status: number, stdout = '', stderr = '') => ({ status, stdout, stderr });

describe('parseTolerance', () => {
  it('reads each Chaos Toolkit kind', () => {
    expect(tol(true)).toEqual({ kind: 'bool', value: true });
    expect(tol(200)).toEqual({ kind: 'int', value: 200 });
    expect(tol('ok')).toEqual({ kind: 'string', value: 'ok' });
    expect(tol([200, 204, 301])).toEqual({ kind: 'list', values: [200, 204, 301] });
    expect(tol({ type: 'range', range: [1, 5], target: 'body' })).toEqual({ kind: 'range', min: 1, max: 5, target: 'body' });
    expect(tol({ type: 'regex', pattern: '^ok$' })).toEqual({ kind: 'regex', pattern: '^ok$' });
    expect(tol({ type: 'jsonpath', path: '$.a', expect: 1, target: 'body' })).toEqual({
      kind: 'jsonpath',
      path: '$.a',
      expect: [1],
      target: 'body',
    });
    expect(tol({ type: 'jsonpath', path: '$.a[*]', count: 2 })).toEqual({ kind: 'jsonpath', path: '$.a[*]', count: 2 });
  });

  it.each([
    [0.5, [], /not an integer; for a numeric interval write \{type: range/],
    [null, [], /must be a boolean, an integer, a string, a list/],
    [[], [], /empty list tolerance never matches/],
    [{ type: 'between' }, ['type'], /type "between" is not supported; use range, regex, jsonpath or probe/],
    [{ range: [1, 2] }, [], /tolerance type is missing/],
    [{ type: 'range', range: [5, 1] }, ['range'], /range \[5, 1\] is empty; write the smaller bound first: \[1, 5\]/],
    [{ type: 'range', range: [1] }, ['range'], /two numbers/],
    [{ type: 'range', range: ['a', 2] }, ['range', 0], /lower bound of range must be a number/],
    [{ type: 'regex', pattern: '(' }, ['pattern'], /not a valid regular expression .*; fix or escape it/],
    [{ type: 'regex', pattern: '(?x)a b' }, ['pattern'], /flag \(\?x\) is not supported/],
    [{ type: 'regex' }, ['pattern'], /needs pattern/],
    [{ type: 'jsonpath', path: 'a.b' }, ['path'], /starts with '\$'/],
    [{ type: 'jsonpath', path: '$.a[' }, ['path'], /invalid at position/],
    [{ type: 'jsonpath', path: '$.a', count: -1 }, ['count'], /count must be a whole number/],
    [{ type: 'jsonpath', path: '$.a', expect: [1, 2], count: 1 }, ['count'], /contradicts expect/],
    [
      { type: 'regex', pattern: 'a', tagret: 'body' },
      ['tagret'],
      /unknown key 'tagret' in a regex tolerance; allowed: type, pattern, target/,
    ],
  ])('refuses %j at %j with a clear message', (raw, path, why) => {
    const r = parseTolerance(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.path).toEqual(path);
      expect(r.message).toMatch(why);
    }
  });

  it('defers checking a pattern or path that holds ${…} until configuration is resolved', () => {
    expect(parseTolerance({ type: 'regex', pattern: '${expected' }).ok).toBe(true);
    expect(parseTolerance({ type: 'jsonpath', path: '$.${field}' }).ok).toBe(true);
  });
});

describe('evaluateTolerance', () => {
  it('bool: the result must be that boolean', () => {
    expect(evaluateTolerance(tol(true), true).ok).toBe(true);
    expect(evaluateTolerance(tol(true), false)).toEqual({ ok: false, reason: 'expected true, got false' });
    expect(evaluateTolerance(tol(false), 0).ok).toBe(false);
  });

  it('int: compares the http status or the process exit code, else the value', () => {
    expect(evaluateTolerance(tol(403), http(403))).toEqual({ ok: true, reason: 'status is 403' });
    expect(evaluateTolerance(tol(403), http(200))).toEqual({ ok: false, reason: 'status is 200, expected 403' });
    expect(evaluateTolerance(tol(0), proc(0, 'ok\n')).ok).toBe(true);
    expect(evaluateTolerance(tol(0), proc(2)).ok).toBe(false);
    expect(evaluateTolerance(tol(7), 7).ok).toBe(true);
    expect(evaluateTolerance(tol(7), '7').ok).toBe(false);
  });

  it('string: the whole result must equal it', () => {
    expect(evaluateTolerance(tol('up'), 'up').ok).toBe(true);
    const r = evaluateTolerance(tol('up'), proc(0, 'up'));
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/use \{type: regex, target: …\}/);
  });

  it('list: the status or value must be one of it', () => {
    expect(evaluateTolerance(tol([200, 204, 304]), http(204)).ok).toBe(true);
    expect(evaluateTolerance(tol([200, 204, 304]), http(500)).ok).toBe(false);
    expect(evaluateTolerance(tol(['a', 'b', 'c']), 'b').ok).toBe(true);
    expect(evaluateTolerance(tol([{ x: 1 }, 3, 5]), { x: 1 }).ok).toBe(true);
    // With a status, even two values are a membership test, as in Chaos Toolkit.
    expect(evaluateTolerance(tol([200, 204]), http(201)).ok).toBe(false);
  });

  it('list of two: Chaos Toolkit reads it as an inclusive range', () => {
    expect(evaluateTolerance(tol([0, 10]), 5)).toEqual({ ok: true, reason: '5 is within [0, 10]' });
    expect(evaluateTolerance(tol([0, 10]), 10).ok).toBe(true);
    expect(evaluateTolerance(tol([0, 10]), 11).ok).toBe(false);
    expect(evaluateTolerance(tol([true, false]), true).ok).toBe(true);
  });

  it('range: inclusive bounds over a number or numeric text, with target', () => {
    const t = tol({ type: 'range', range: [0, 0.5], target: 'stdout' });
    expect(evaluateTolerance(t, proc(0, '0.25\n')).ok).toBe(true);
    expect(evaluateTolerance(t, proc(0, '0.5')).ok).toBe(true);
    expect(evaluateTolerance(t, proc(0, '0.51'))).toEqual({ ok: false, reason: '0.51 is not within [0, 0.5]' });
    expect(evaluateTolerance(t, proc(0, 'fast')).reason).toMatch(/range needs a number, got "fast"/);
    const noTarget = tol({ type: 'range', range: [200, 299] });
    expect(evaluateTolerance(noTarget, 250).ok).toBe(true);
    expect(evaluateTolerance(noTarget, http(250)).reason).toMatch(/set target \(e\.g\. status\)/);
    expect(evaluateTolerance(tol({ type: 'range', range: [200, 299], target: 'status' }), http(250)).ok).toBe(true);
  });

  it('regex: searches the target text with Python syntax', () => {
    const t = tol({ type: 'regex', pattern: '^(?P<state>ok|healthy)$', target: 'stdout' });
    // Python's $ also matches before a final newline: stdout usually ends with one.
    expect(evaluateTolerance(t, proc(0, 'healthy\n')).ok).toBe(true);
    expect(evaluateTolerance(t, proc(0, 'unhealthy')).ok).toBe(false);
    expect(evaluateTolerance(tol({ type: 'regex', pattern: '(?i)denied', target: 'body' }), http(403, 'Access DENIED')).ok).toBe(true);
    expect(evaluateTolerance(tol({ type: 'regex', pattern: '"blocked": ?true', target: 'body' }), http(403, { blocked: true })).ok).toBe(
      true,
    );
    expect(evaluateTolerance(tol({ type: 'regex', pattern: '^4\\d\\d$', target: 'status' }), http(403)).ok).toBe(true);
    // Without a target the whole result is searched; a missing target key falls back to the result, as in Chaos Toolkit.
    expect(evaluateTolerance(tol({ type: 'regex', pattern: 'ok' }), 'it is ok').ok).toBe(true);
    expect(evaluateTolerance(tol({ type: 'regex', pattern: 'ok', target: 'nope' }), 'ok').ok).toBe(true);
  });

  it('jsonpath: any match, a count, or exactly the expected values', () => {
    const body = JSON.stringify({
      items: [
        { id: 1, ok: true },
        { id: 2, ok: false },
      ],
      status: 'up',
    });
    const r = http(200, body);
    expect(evaluateTolerance(tol({ type: 'jsonpath', path: '$.items[*].id', target: 'body' }), r).ok).toBe(true);
    expect(evaluateTolerance(tol({ type: 'jsonpath', path: '$.missing', target: 'body' }), r).reason).toMatch(/found nothing/);
    expect(evaluateTolerance(tol({ type: 'jsonpath', path: '$.items[*]', count: 2, target: 'body' }), r).ok).toBe(true);
    expect(evaluateTolerance(tol({ type: 'jsonpath', path: '$.items[*]', count: 3, target: 'body' }), r).reason).toBe(
      '$.items[*] found 2 value(s), expected 3',
    );
    expect(evaluateTolerance(tol({ type: 'jsonpath', path: '$.status', expect: 'up', target: 'body' }), r).ok).toBe(true);
    expect(evaluateTolerance(tol({ type: 'jsonpath', path: '$.items[*].id', expect: [1, 2], target: 'body' }), r).ok).toBe(true);
    expect(evaluateTolerance(tol({ type: 'jsonpath', path: '$.items[*].id', expect: [2, 1], target: 'body' }), r).ok).toBe(false);
    expect(evaluateTolerance(tol({ type: 'jsonpath', path: '$.items[?(@.ok == true)].id', expect: 1, target: 'body' }), r).ok).toBe(true);
    // An already-parsed JSON body works the same.
    expect(
      evaluateTolerance(tol({ type: 'jsonpath', path: '$.status', expect: 'up', target: 'body' }), http(200, JSON.parse(body))).ok,
    ).toBe(true);
  });

  it('never throws, whatever the probe returned', () => {
    const kinds: unknown[] = [
      true,
      200,
      'x',
      [1, 2],
      [1, 2, 3],
      { type: 'range', range: [0, 1], target: 'body' },
      { type: 'regex', pattern: 'a+', target: 'stdout' },
      { type: 'jsonpath', path: '$..a', target: 'body' },
      { type: 'jsonpath', path: '$.a[0:2]', count: 1 },
    ];
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.anything(), (raw, value) => {
        const r = evaluateTolerance(tol(raw), value);
        expect(typeof r.ok).toBe('boolean');
        expect(typeof r.reason).toBe('string');
      }),
      { numRuns: 500 },
    );
  });
});

describe('compilePattern', () => {
  it('translates Python-only syntax', () => {
    const named = compilePattern('(?P<word>a+)-(?P=word)');
    expect(named.ok && named.regex.test('aa-aa')).toBe(true);
    const anchors = compilePattern('\\Aok\\Z');
    expect(anchors.ok && anchors.regex.test('ok')).toBe(true);
    expect(anchors.ok && anchors.regex.test('ok\n')).toBe(false);
    const multiline = compilePattern('(?m)^b$');
    expect(multiline.ok && multiline.regex.test('a\nb\nc')).toBe(true);
    const cls = compilePattern('[$]');
    expect(cls.ok && cls.regex.test('$')).toBe(true);
  });
});
