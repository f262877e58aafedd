/**
 * SLO budget evaluation (issue 10, "Benchmark"): S SLOs (100; --slos N), each over D days (30;
 * --days N) of per-minute SLI events (one event a minute: good and total), evaluated at one
 * instant with evaluateBudget (budget, burn rate over every alert window, both alerts). Synthetic
 * events with a fixed seed.
 *
 * Each figure is given beside a baseline measured in the same run, on the same events: one pass
 * that sums good and total over them, the least work any evaluation from raw events must do. The
 * ratio (evaluation ÷ baseline) is what to compare across machines. Also measured:
 *
 * - the same SLOs with a weekly exclusion window (RFC 5545 RRULE, expanded at each evaluation);
 * - timeslices budgeting (1-minute slices);
 * - one SLO at 7, 30 and 90 days of history: evaluation is O(history) today (every event of the
 *   period is read again), which is what the issue's incremental evaluation would change.
 *
 * Incremental evaluation (core/slos/live-budget.ts), the server's way:
 *
 * - L SLOs (1,000; --live N) over D days of per-minute events, each built from its events (what a
 *   server does at start), then all evaluated at one instant; the memory they hold (heap and
 *   array buffers, after a collection when run with --expose-gc); a sample checked against the
 *   full evaluation;
 * - the per-event update (an append and the SLO's new status) at 7, 30 and 90 days of history:
 *   flat, where the full evaluation grows with history.
 *
 * With --prometheus P: P SLOs' (20) events of the last D days as counters, one sample a minute,
 * backfilled into a real Prometheus (promtool) that loads the Sloth rules Bulwark generates for
 * them (core/slos/counter-series.ts) and evaluates them every 5 s; the sum over its rule groups
 * of `prometheus_rule_group_last_duration_seconds` (its own /metrics, after three evaluations)
 * beside Bulwark's evaluation of the same SLOs over the same events (full and incremental).
 *
 *   npx tsx bench/slos.ts [--slos 100] [--days 30] [--live 1000] [--prometheus 20]
 *   node --expose-gc --import tsx bench/slos.ts     (memory after a collection)
 *
 * Figures are not recorded here: they are run on a quiet machine and written to bench/out.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { counterSamples, counterSpec } from '../src/core/slos/counter-series.ts';
import { slothRules } from '../src/core/slos/sloth-rules.ts';
import { performance } from 'node:perf_hooks';
import { evaluateBudget } from '../src/core/slos/budget.ts';
import { LiveBudget } from '../src/core/slos/live-budget.ts';
import type { Exclusion, SliEvent, Slo } from '../src/core/slos/types.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const S = arg('--slos', 100);
const DAYS = arg('--days', 30);
const MIN = 60_000;
const DAY = 86_400_000;
const NOW = Date.parse('2026-06-15T12:00:00.000Z');

let seed = 7;
const rand = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;

function events(days: number): SliEvent[] {
  const n = Math.floor((days * DAY) / MIN);
  return Array.from({ length: n }, (_, k) => {
    const total = 1 + Math.floor(rand() * 20);
    return { at: NOW - (n - k) * MIN + 1, good: total - (rand() < 0.01 ? 1 : 0), total };
  });
}

const weekly: Exclusion = {
  name: 'sunday',
  start: '2026-01-04T02:00:00',
  durationMs: 2 * 3_600_000,
  rrule: 'FREQ=WEEKLY;BYDAY=SU',
  timeZone: 'Europe/Paris',
};
const slo = (over: Partial<Slo> = {}) => ({
  objective: 0.99,
  window: { kind: 'rolling' as const, ms: DAYS * DAY, text: `${DAYS}d` },
  budgeting: { method: 'occurrences' } as Slo['budgeting'],
  alerting: { strategy: 'sloth' as const, minEvents: 5, page: true, ticket: true },
  exclusions: [] as Exclusion[],
  ...over,
});

function median(f: () => void, reps = 5): number {
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    f();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(reps / 2)]!;
}

let sink = 0;
function baseline(all: readonly SliEvent[][], days = DAYS): void {
  for (const ev of all) {
    let good = 0;
    let total = 0;
    for (const e of ev) {
      if (e.at > NOW - days * DAY && e.at <= NOW) {
        good += e.good;
        total += e.total;
      }
    }
    sink += good / total;
  }
}

function report(label: string, ms: number, base: number): void {
  process.stdout.write(
    `${label.padEnd(48)} median ${ms.toFixed(1).padStart(8)} ms   baseline ${base.toFixed(1).padStart(7)} ms   ratio ${(ms / base).toFixed(1)}\n`,
  );
}

process.stdout.write(
  `SLO budgets: ${S} SLOs × ${DAYS} days of per-minute events, node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load ${os.loadavg()[0]!.toFixed(2)}\n`,
);
const all = Array.from({ length: S }, () => events(DAYS));
// Warm both paths up before timing either.
baseline(all);
evaluateBudget(slo(), all[0]!, NOW);
const base = median(() => baseline(all));
const variants: [string, ReturnType<typeof slo>][] = [
  ['occurrences', slo()],
  ['occurrences, weekly exclusion window', slo({ exclusions: [weekly] })],
  ['timeslices (1m slices, 95%)', slo({ budgeting: { method: 'timeslices', sliceMs: MIN, sliceTarget: 0.95 } })],
];
for (const [label, s] of variants) {
  report(
    `all ${S} SLOs: ${label}`,
    median(() => all.forEach((ev) => (sink += evaluateBudget(s, ev, NOW).remaining))),
    base,
  );
}

for (const days of [7, 30, 90]) {
  const ev = events(days);
  const s = slo({ window: { kind: 'rolling', ms: days * DAY, text: `${days}d` } });
  const b = median(() => baseline([ev], days), 9);
  report(
    `one SLO, ${days} days of history`,
    median(() => (sink += evaluateBudget(s, ev, NOW).remaining), 9),
    b,
  );
}

// Incremental evaluation.
const L = arg('--live', 1000);
const gc = (globalThis as { gc?: () => void }).gc;
const mem = () => {
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
process.stdout.write(
  `\nIncremental: ${L} SLOs × ${DAYS} days of per-minute events${gc ? '' : ' (memory without --expose-gc: no collection before measuring)'}\n`,
);
const before = mem();
const lives: LiveBudget[] = [];
let buildMs = 0;
let checked = 0;
for (let i = 0; i < L; i++) {
  const ev = events(DAYS);
  const t = performance.now();
  const live = LiveBudget.from(slo(), ev);
  buildMs += performance.now() - t;
  if (i < 3) {
    // The sample: the live status equals the full evaluation's.
    const a = live.status(NOW);
    const b = evaluateBudget(slo(), ev, NOW);
    if (Math.abs(a.consumed - b.consumed) > 1e-9 * Math.max(1, b.consumed) || a.total !== b.total)
      throw new Error('live ≠ full evaluation');
    checked++;
  }
  lives.push(live);
}
const held = mem() - before;
const evalAll = median(() => lives.forEach((l) => (sink += l.status(NOW).remaining)));
const evalLater = median(() => lives.forEach((l, i) => (sink += l.status(NOW + 60_000 + i).remaining)));
process.stdout.write(
  `all ${L} SLOs: built from their events ${buildMs.toFixed(0)} ms (once, at start); evaluate all: median ${evalAll.toFixed(1)} ms; a minute later ${evalLater.toFixed(1)} ms\n` +
    `memory held: ${mb(held)} (${(held / L / 1024).toFixed(0)} KiB per SLO, ${(held / (L * ((DAYS * DAY) / MIN))).toFixed(1)} bytes per event); ${checked} checked against the full evaluation\n`,
);
lives.length = 0;

const N = 20_000;
for (const days of [7, 30, 90]) {
  const s = slo({ window: { kind: 'rolling', ms: days * DAY, text: `${days}d` } });
  const live = LiveBudget.from(s, events(days));
  live.status(NOW);
  let t = NOW;
  const per = median(() => {
    for (let k = 0; k < N; k++) {
      t += MIN;
      live.add({ at: t, good: k % 97 === 0 ? 0 : 5, total: 5 });
      sink += live.status(t).remaining;
    }
  }, 5);
  process.stdout.write(
    `one SLO, ${days} days of history: per new event (append + new status) median ${((per / N) * 1000).toFixed(1)} µs; events kept ${live.stats().events}\n`,
  );
}
const P = process.argv.includes('--prometheus') ? arg('--prometheus', 20) : 0;
if (P > 0) await prometheusRun(P);
if (sink === 42) process.stdout.write('\n');

async function prometheusRun(count: number): Promise<void> {
  if (!existsSync('/usr/bin/prometheus') || !existsSync('/usr/bin/promtool')) {
    process.stdout.write('\nPrometheus: not installed (apt-get install prometheus); skipped\n');
    return;
  }
  // Prometheus evaluates at wall-clock time: the data ends at the last whole minute.
  const now = Math.floor(Date.now() / MIN) * MIN;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bulwark-bench-slo-prom-'));
  try {
    const instants: number[] = [];
    for (let t = now - DAYS * DAY; t <= now; t += MIN) instants.push(t);
    const models = Array.from({ length: count }, (_, i) => ({ name: `bench-${i}`, service: 'bench', objective: 0.99, description: '' }));
    const evs = models.map(() => events(DAYS).map((e) => ({ ...e, at: e.at - NOW + now - 30_000 })));
    const out = createWriteStream(path.join(dir, 'data.om'));
    models.forEach((m, i) => {
      const lines = counterSamples(m, evs[i]!, instants).split('\n');
      out.write(`${(i === 0 ? lines : lines.slice(2)).join('\n')}\n`);
    });
    out.end('# EOF\n');
    await new Promise<void>((resolve) => out.on('finish', () => resolve()));
    const groups = models.flatMap((m) => slothRules(counterSpec(m), { periodMs: DAYS * DAY, version: 'bench' }));
    writeFileSync(path.join(dir, 'rules.yml'), stringify({ groups }, { lineWidth: 0 }));
    writeFileSync(path.join(dir, 'prometheus.yml'), 'global:\n  evaluation_interval: 5s\nrule_files: [rules.yml]\n');
    const t = performance.now();
    const backfill = spawnSync(
      '/usr/bin/promtool',
      ['tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=744h', 'data.om', 'tsdb'],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    if (backfill.status !== 0) throw new Error(`promtool: ${backfill.stderr}`);
    const backfillMs = performance.now() - t;
    const port = 19_000 + Math.floor(Math.random() * 1000);
    const prom = spawn(
      '/usr/bin/prometheus',
      [
        '--config.file=prometheus.yml',
        '--storage.tsdb.path=tsdb',
        '--storage.tsdb.retention.time=10y',
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    try {
      const url = `http://127.0.0.1:${port}`;
      // Three evaluations of every group after it is ready.
      let durations: number[] = [];
      for (let i = 0; i < 240; i++) {
        await new Promise((r) => setTimeout(r, 500));
        const body = await fetch(`${url}/metrics`)
          .then((r) => r.text())
          .catch(() => '');
        const evals = [...body.matchAll(/^prometheus_rule_evaluations_total\{[^}]*\} (\S+)$/gm)].map((m) => Number(m[1]));
        const rules = groups.reduce((n, g) => n + g.rules.length, 0);
        if (evals.length > 0 && evals.reduce((a, b) => a + b, 0) >= 3 * rules) {
          durations = [...body.matchAll(/^prometheus_rule_group_last_duration_seconds\{[^}]*\} (\S+)$/gm)].map((m) => Number(m[1]));
          break;
        }
      }
      if (durations.length === 0) throw new Error('Prometheus did not evaluate its rules within 2 minutes');
      const promMs = durations.reduce((a, b) => a + b, 0) * 1000;
      const s = slo({ window: { kind: 'rolling', ms: DAYS * DAY, text: `${DAYS}d` } });
      const full = median(() => evs.forEach((ev) => (sink += evaluateBudget(s, ev, now).remaining)));
      const lives = evs.map((ev) => LiveBudget.from(s, ev));
      const live = median(() => lives.forEach((l) => (sink += l.status(now).remaining)));
      process.stdout.write(
        `\nPrometheus (${count} SLOs, ${DAYS} days, one sample a minute; backfill ${(backfillMs / 1000).toFixed(1)} s): ` +
          `its rule groups' last evaluation, summed over ${durations.length} groups: ${promMs.toFixed(1)} ms\n` +
          `Bulwark, the same SLOs over the same events: full evaluation ${full.toFixed(1)} ms (ratio Prometheus ÷ Bulwark ${(promMs / full).toFixed(2)}); ` +
          `incremental ${live.toFixed(2)} ms (ratio ${(promMs / live).toFixed(0)})\n`,
      );
    } finally {
      prom.kill('SIGTERM');
      await new Promise((r) => prom.once('exit', r));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
