import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RUN_HEADER, RUN_ID, canaryValue, extractRunId, extractRunIds, isRunId, runHeaders, userAgentWithRun } from './correlation.ts';

const RUN = 'r7k2m9x4p1';

describe('run id carriers', () => {
  it('writes the three carriers the runner injects', () => {
    expect(runHeaders(RUN)).toEqual({ 'X-Bulwark-Run': RUN });
    expect(userAgentWithRun('curl/8.5.0', RUN)).toBe(`curl/8.5.0 bulwark-run/${RUN}`);
    expect(userAgentWithRun('', RUN)).toBe(`bulwark-run/${RUN}`);
    expect(canaryValue(RUN)).toBe(`bwk-canary-${RUN}`);
    expect(canaryValue(RUN, 'awskey')).toBe(`bwk-canary-${RUN}-awskey`);
  });

  it('refuses to build a carrier from an invalid run id (a programmer mistake)', () => {
    expect(() => runHeaders('short')).toThrow();
    expect(() => userAgentWithRun('x', 'ABCDEFGH12')).toThrow();
    expect(() => canaryValue(RUN, 'bad tag')).toThrow();
  });

  it('reads back what it wrote, from every carrier', () => {
    fc.assert(
      fc.property(fc.stringMatching(RUN_ID), fc.string(), (id, ua) => {
        expect(extractRunId(runHeaders(id))).toBe(id);
        expect(extractRunId(userAgentWithRun(ua.replace(/bulwark-run|bwk-canary|x-bulwark-run/gi, ''), id))).toBe(id);
        expect(extractRunId(`/search?q=${canaryValue(id, 'q1')}`)).toBe(id);
      }),
    );
  });
});

describe('extractRunId', () => {
  it('finds the header whatever its case, in Node header sets and in logged ones', () => {
    expect(extractRunId({ 'x-bulwark-run': RUN })).toBe(RUN);
    expect(extractRunId({ 'X-BULWARK-RUN': [RUN] })).toBe(RUN);
    expect(extractRunId({ [RUN_HEADER]: ` ${RUN} ` })).toBe(RUN);
    expect(extractRunId({ 'User-Agent': `Mozilla/5.0 bulwark-run/${RUN}` })).toBe(RUN);
    expect(extractRunId({ Authorization: `Bearer bwk-canary-${RUN}` })).toBe(RUN);
  });

  it('finds carriers in free text: header dumps, JSON, user agents, canaries', () => {
    expect(extractRunId(`{"X-Bulwark-Run":"${RUN}"}`)).toBe(RUN);
    expect(extractRunId(`x-bulwark-run: ${RUN}`)).toBe(RUN);
    expect(extractRunId(`"GET /?p=bwk-canary-${RUN} HTTP/1.1"`)).toBe(RUN);
  });

  it('never truncates: a token longer than 32 or in upper case is no id at all', () => {
    expect(extractRunId({ 'x-bulwark-run': 'a'.repeat(33) })).toBeUndefined();
    expect(extractRunId(`bulwark-run/${'a'.repeat(40)}`)).toBeUndefined();
    expect(extractRunId(`bwk-canary-${RUN.toUpperCase()}`)).toBeUndefined();
    expect(extractRunId(`bwk-canary-${RUN}X`)).toBeUndefined();
    expect(extractRunId({ 'x-bulwark-run': `${RUN}\r\nX-Evil: 1` })).toBeUndefined();
    expect(extractRunId({ 'x-bulwark-run': `${RUN};drop` })).toBeUndefined();
  });

  it('does not credit a signal carrying two different runs to either', () => {
    const other = 'zz99yy88xx';
    expect(extractRunIds({ 'x-bulwark-run': RUN, 'user-agent': `bulwark-run/${other}` })).toEqual([RUN, other]);
    expect(extractRunId({ 'x-bulwark-run': RUN, 'user-agent': `bulwark-run/${other}` })).toBeUndefined();
    expect(extractRunId({ 'x-bulwark-run': RUN, 'user-agent': `curl bulwark-run/${RUN}` }, `/q=bwk-canary-${RUN}`)).toBe(RUN);
    expect(extractRunId({ 'x-bulwark-run': `${RUN}, ${other}` })).toBeUndefined();
  });

  it('answers any input with a valid id or nothing, never a throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.array(fc.string()), fc.anything({ maxDepth: 1 }))),
        ),
        (input) => {
          const id = extractRunId(input);
          expect(id === undefined || isRunId(id)).toBe(true);
        },
      ),
    );
  });
});
