import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseProfileList } from './profile-list.ts';

describe('threat profile list files', () => {
  it('reads a text list: lines, commas, spaces, comments, lower case; unique in order', () => {
    const text = '# APT-X (from our CTI team)\nT1190\nt1110.001, T1059.004  T1190\n\n  T1083 # discovery\r\n';
    expect(parseProfileList(text)).toEqual({ ok: true, form: 'list', techniques: ['T1190', 'T1110.001', 'T1059.004', 'T1083'] });
  });

  it('reads a Navigator layer, leaving out disabled techniques', () => {
    const layer = {
      name: 'G0016 (APT29)',
      versions: { attack: '18', navigator: '5.2.0', layer: '4.5' },
      domain: 'enterprise-attack',
      techniques: [
        { techniqueID: 'T1078', score: 1 },
        { techniqueID: 'T1059.001', tactic: 'execution', score: 1 },
        { techniqueID: 'T1059.001', tactic: 'persistence', score: 1 },
        { techniqueID: 'T1486', enabled: false },
      ],
    };
    expect(parseProfileList(JSON.stringify(layer))).toEqual({ ok: true, form: 'navigator', techniques: ['T1078', 'T1059.001'] });
  });

  it('names the line and token that is not a technique id, and refuses an empty list', () => {
    expect(parseProfileList('T1190\nT1110.1\n')).toEqual({
      ok: false,
      message: "line 2: 'T1110.1' is not a technique id (T1234 or T1234.001)",
    });
    expect(parseProfileList('# nothing\n')).toEqual({ ok: false, message: 'the list names no technique' });
    expect(parseProfileList('{"name": 1}')).toMatchObject({
      ok: false,
      message: /^a JSON list file is a Navigator layer: not a 4.5 layer/,
    });
  });

  it('takes any text without throwing: a list of ids or a message', () => {
    const token = fc.oneof(fc.constantFrom('T1190', 't1059.004', 'T1', '#', ',', '\n', ' ', '{', '['), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(token, { maxLength: 30 }).map((t) => t.join('')),
        ),
        (text) => {
          const r = parseProfileList(text);
          if (r.ok) for (const id of r.techniques) expect(id).toMatch(/^T\d{4}(\.\d{3})?$/);
          else expect(r.message.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
