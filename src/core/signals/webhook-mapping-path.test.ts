import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseJsonPath, readJsonPath } from './webhook-mapping-path.ts';

const path = (text: string) => {
  const r = parseJsonPath(text);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
};

describe('mapping paths', () => {
  const doc = { alert: { rule_id: '942100', 'odd key': { x: 1 }, '@timestamp': 't' }, event: { labels: ['first', 'second'] }, n: null };

  it('reads dotted, indexed and quoted paths, with or without $', () => {
    expect(readJsonPath(doc, path('$.alert.rule_id'))).toBe('942100');
    expect(readJsonPath(doc, path('alert.rule_id'))).toBe('942100');
    expect(readJsonPath(doc, path('event.labels[1]'))).toBe('second');
    expect(readJsonPath(doc, path("$['alert']['odd key'].x"))).toBe(1);
    expect(readJsonPath(doc, path('$.alert["@timestamp"]'))).toBe('t');
    expect(readJsonPath(doc, path('alert.@timestamp'))).toBe('t');
    expect(readJsonPath(doc, path('$'))).toBe(doc);
    expect(readJsonPath(doc, path('n'))).toBeNull();
  });

  it('answers undefined for anything missing, and never walks a prototype', () => {
    expect(readJsonPath(doc, path('$.alert.nope'))).toBeUndefined();
    expect(readJsonPath(doc, path('event.labels[2]'))).toBeUndefined();
    expect(readJsonPath(doc, path('event.labels.length'))).toBeUndefined();
    expect(readJsonPath(doc, path('alert.constructor'))).toBeUndefined();
    expect(readJsonPath(doc, path('alert.__proto__'))).toBeUndefined();
    expect(readJsonPath('text', path('length'))).toBeUndefined();
  });

  it('says where a path is wrong and what to write instead', () => {
    const reason = (t: string) => {
      const r = parseJsonPath(t);
      return r.ok ? 'accepted' : r.reason;
    };
    expect(reason('$..x')).toMatch(/character 2: wildcards and recursive descent are not supported/);
    expect(reason('$.a[*]')).toMatch(/not supported/);
    expect(reason('$.a[?(@.x)]')).toMatch(/array index must be a non-negative integer/);
    expect(reason('a.')).toMatch(/character 3: expected a name/);
    expect(reason("$['x")).toMatch(/unterminated quoted name/);
    expect(reason('$x')).toMatch(/unexpected "x"/);
    expect(reason('')).toMatch(/empty/);
  });

  it('parses any text without throwing, and reads any JSON without throwing', () => {
    fc.assert(
      fc.property(fc.string(), fc.jsonValue(), (text, value) => {
        const r = parseJsonPath(text);
        if (r.ok) readJsonPath(value, r.value);
        else expect(r.reason).toMatch(/^invalid path/);
      }),
    );
  });
});
