import { describe, expect, it } from 'vitest';
import { formatPath, suggest } from './issues.ts';

describe('suggest', () => {
  it('finds near keys and keys written in another case style', () => {
    expect(suggest('toleranse', ['tolerance', 'type'])).toBe('tolerance');
    expect(suggest('max_duration', ['maxDuration', 'abort'])).toBe('maxDuration');
    expect(suggest('blast-radius', ['maxDuration', 'blastRadius'])).toBe('blastRadius');
  });

  it('suggests nothing rather than something unrelated', () => {
    expect(suggest('zzz', ['tolerance'])).toBeUndefined();
    expect(suggest('id', ['ref', 'type'])).toBeUndefined();
  });
});

describe('formatPath', () => {
  it('writes paths as a reader would type them', () => {
    expect(formatPath(['method', 2, 'provider', 'url'])).toBe('method[2].provider.url');
    expect(formatPath(['steady-state-hypothesis', 'probes', 0])).toBe('steady-state-hypothesis.probes[0]');
    expect(formatPath(['configuration', 'a.b'])).toBe('configuration["a.b"]');
    expect(formatPath([])).toBe('');
  });
});
