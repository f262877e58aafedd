import path from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli, describeRun } from '../../test/support/cli.ts';
import { vectorsAvailable, vectorsDir } from '../../test/support/vectors.ts';

const have = vectorsAvailable();
const vec = (f: string) => path.join(vectorsDir, 'slo', f);

describe.skipIf(!have)('bulwark slo (the command line, on files)', () => {
  it('prints the rules of a Sloth spec, with the 28-day windows file giving its factors', async () => {
    const r = await runCli(['slo', 'rules', vec('sloth-in-base.yaml'), '--windows', vec('sloth-windows-google-28d.yaml')]);
    expect(r.code, describeRun(r)).toBe(0);
    const out = parse(r.stdout) as { groups: { name: string; rules: { record?: string; expr: string }[] }[] };
    const expected = parse(readFileSync(vec('sloth-out-base-30d.yaml.tpl'), 'utf8').replace(/\{\{[^}]*\}\}/g, 'x')) as {
      groups: { name: string }[];
    };
    expect(out.groups.map((g) => g.name)).toEqual(expected.groups.map((g) => g.name));
    expect(out.groups[1]!.rules.find((x) => x.record === 'slo:time_period:days')!.expr).toBe('vector(28)');
    expect(out.groups[2]!.rules[0]!.expr).toContain('(13.44 * 0.0009999999999999432)');
    expect(out.groups[2]!.rules[0]!.expr).toContain('(5.6 * 0.0009999999999999432)');
  });

  it('validates OpenSLO files and refuses a bad one with line and column (exit 2)', async () => {
    const ok = await runCli(['slo', 'validate', vec('openslo-ratio-timeslices.yaml')]);
    expect(ok.code, describeRun(ok)).toBe(0);
    expect(ok.stdout).toContain('main-page: Main page availability — objective 99.00% over 2w, ratio-timeslices');
    const bad = await runCli(['slo', 'rules', vec('openslo-ratio-timeslices.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not turned into rules yet');
  });
});
