import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { vectorsAvailable, vectorsDir } from '../../../test/support/vectors.ts';
import { parseWindowsSpec, slothWindows } from './alert-windows.ts';
import { goFloat, slothRules, slothSpecSchema } from './sloth-rules.ts';

const have = vectorsAvailable();
const slo = (f: string) => readFileSync(path.join(vectorsDir, 'slo', f), 'utf8');
const DAY = 86_400_000;

describe.skipIf(!have)("Sloth's rules for Sloth's spec (shared/vectors/slo)", () => {
  it('gives sloth-out-base-30d rule for rule: names, expressions, labels, thresholds', () => {
    const spec = slothSpecSchema.parse(parse(slo('sloth-in-base.yaml')));
    const ours = slothRules(spec, { periodMs: 30 * DAY, version: 'VERSION' });
    // The template: Go's {{"…"}} escapes print their text, and the version is the placeholder.
    const rendered = slo('sloth-out-base-30d.yaml.tpl')
      .replaceAll('{{ .version }}', 'VERSION')
      .replace(/\{\{"(\{\{[^"]*\}\})"\}\}/g, '$1');
    const expected = parse(rendered) as { groups: { name: string; rules: unknown[] }[] };
    expect(ours.map((g) => g.name)).toEqual(expected.groups.map((g) => g.name));
    for (const [i, g] of expected.groups.entries()) {
      expect(ours[i]!.rules.length, g.name).toBe(g.rules.length);
      for (const [j, r] of g.rules.entries()) expect(ours[i]!.rules[j], `${g.name} #${j}`).toEqual(r);
    }
  });

  it('reads the 28-day windows file into the factors it implies', () => {
    const r = parseWindowsSpec(parse(slo('sloth-windows-google-28d.yaml')));
    if (!r.ok) throw new Error(r.errors.join('; '));
    expect(r.spec.periodMs).toBe(28 * DAY);
    const factors = slothWindows(r.spec.periodMs, r.spec.pairs).map((w) => w.factor);
    // 2%, 5%, 10% and 10% of 672 hours within 1h, 6h, 1d and 3d.
    expect(factors.map((f) => Number(f.toFixed(10)))).toEqual([13.44, 5.6, 2.8, 0.9333333333]);
    const thirty = parseWindowsSpec(parse(slo('sloth-windows-google-30d.yaml')));
    expect(thirty.ok && slothWindows(thirty.spec.periodMs, thirty.spec.pairs).map((w) => w.factor)).toEqual([14.4, 6, 3, 1]);
  });

  it('names the 28-day period as Prometheus prints it (4w) and records 28 days', () => {
    const spec = slothSpecSchema.parse(parse(slo('sloth-in-base.yaml')));
    const groups = slothRules(spec, { periodMs: 28 * DAY, version: 'v' });
    expect(groups[0]!.rules.at(-1)).toMatchObject({ record: 'slo:sli_error:ratio_rate4w' });
    expect(groups[1]!.rules[2]).toMatchObject({ record: 'slo:time_period:days', expr: 'vector(28)' });
    expect(groups[2]!.rules[0]!.expr).toContain('(13.44 * 0.0009999999999999432)');
  });
});

describe('goFloat', () => {
  it("prints floats as Go's %v does", () => {
    expect(goFloat(0.0009999999999999432)).toBe('0.0009999999999999432');
    expect(goFloat(14.4)).toBe('14.4');
    expect(goFloat(30)).toBe('30');
    expect(goFloat(0.00001)).toBe('1e-05');
    expect(goFloat(1e21)).toBe('1e+21');
  });
});
