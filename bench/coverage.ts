/**
 * The coverage map over 100,000 runs across every technique of the table (691) and 20 controls:
 * the full computation, the incremental one run at a time, and reading the map (sub-technique
 * roll-up and per-control time to detect included). Synthetic runs (1–3 techniques each, every
 * outcome, a time to detect on most, 1–3 of the controls with their results and times), made
 * with a fixed seed. The dashboard's render is not measured here.
 *
 *   npx tsx bench/coverage.ts [--runs 100000] [--controls 20]
 */
import { performance } from 'node:perf_hooks';
import { OUTCOMES } from '../src/core/experiments/outcome.ts';
import { ATTACK } from '../src/core/coverage/attack.ts';
import { computeCoverage, CoverageAccumulator, type CoverageRun } from '../src/core/coverage/map.ts';
import { DEFAULT_SETTINGS } from '../src/core/coverage/settings.ts';

const i = process.argv.indexOf('--runs');
const N = i > 0 ? Number(process.argv[i + 1]) : 100_000;
const c = process.argv.indexOf('--controls');
const CONTROLS = c > 0 ? Number(process.argv[c + 1]) : 20;
const RESULTS = ['blocked', 'alerted', 'logged', 'none'] as const;

let seed = 42;
const rand = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
const ids = ATTACK.techniques.map((t) => t.id);
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const runs: CoverageRun[] = Array.from({ length: N }, (_, k) => {
  const end = T0 + Math.floor(rand() * 90 * 86_400_000);
  return {
    id: `run${String(k).padStart(13, '0')}`,
    experiment: `exp-${Math.floor(rand() * 300)}`,
    techniques: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ids[Math.floor(rand() * ids.length)]!),
    outcome: OUTCOMES[Math.floor(rand() * OUTCOMES.length)]!,
    startedAt: new Date(end - 5000).toISOString(),
    endedAt: new Date(end).toISOString(),
    ttdMs: rand() < 0.8 ? Math.floor(rand() * 60_000) : null,
    controls:
      CONTROLS > 0
        ? [...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => Math.floor(rand() * CONTROLS)))].map((n) => ({
            control: `control-${n}`,
            results: [RESULTS[Math.floor(rand() * RESULTS.length)]!],
            alertedTtdMs: rand() < 0.5 ? Math.floor(rand() * 60_000) : null,
            loggedTtdMs: rand() < 0.5 ? Math.floor(rand() * 60_000) : null,
          }))
        : undefined,
  };
});
const now = new Date(T0 + 100 * 86_400_000);

function time<T>(label: string, f: () => T, reps = 5): T {
  let out: T | undefined;
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    out = f();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  process.stdout.write(`${label.padEnd(44)} median ${ms[Math.floor(reps / 2)]!.toFixed(1)} ms (min ${ms[0]!.toFixed(1)})\n`);
  return out!;
}

process.stdout.write(`coverage map: ${N} runs, ${ids.length} techniques, ${CONTROLS} controls, node ${process.version}\n`);
time('full computation (computeCoverage)', () => computeCoverage(ATTACK, DEFAULT_SETTINGS, runs, now));
const acc = time('incremental: apply every run, then read', () => {
  const a = new CoverageAccumulator(ATTACK, DEFAULT_SETTINGS);
  for (const r of runs) a.apply(r);
  a.map(now);
  return a;
});
const extra = runs.slice(0, 1000).map((r, k) => ({ ...r, id: `new${String(k).padStart(13, '0')}` }));
const t = performance.now();
for (const r of extra) acc.apply(r);
process.stdout.write(
  `${'incremental: one more run (mean of 1,000)'.padEnd(44)} ${(((performance.now() - t) / extra.length) * 1000).toFixed(2)} µs\n`,
);
time('read the map after one more run', () => {
  acc.apply({ ...runs[0]!, id: `x${performance.now()}` });
  return acc.map(now);
});
