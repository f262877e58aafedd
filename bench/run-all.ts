/**
 * Run every ledger benchmark in sequence, each in its own process (its own heap, its own
 * cleanup), then print the goals table. `--quick` runs small sizes (about a minute); the
 * default sizes take several minutes on a 2-core machine.
 *
 *   npm run bench [-- --quick] [-- --no-pg]
 *
 * inclusion-proof builds the 1,000,000-entry SQLite ledger and keeps it in a temporary
 * directory that verify then reads; the directory is removed at the end, on failure too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BENCH_DIR,
  OUT_DIR,
  fmtMs,
  fmtRatio,
  machineFacts,
  median,
  now,
  parseArgs,
  printFacts,
  printTable,
  runMain,
  tempDir,
  writeJson,
} from './lib/common.ts';

const args = parseArgs();
const ROOT = path.dirname(BENCH_DIR);

let child: ChildProcess | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  // Children clean up on their own signal; pass SIGTERM on (SIGINT from a terminal reaches them directly).
  process.on(sig, () => {
    if (child && child.exitCode === null && sig === 'SIGTERM') child.kill('SIGTERM');
  });
}

function run(script: string, extra: string[]): Promise<{ code: number; ms: number }> {
  const argv = [
    '--max-old-space-size=6144',
    // As bulwark serve runs (bin/bulwark.mjs): short young-generation pauses for the runner's timing.
    ...(script === 'concurrent-runs.ts' ? ['--max-semi-space-size=4'] : []),
    '--import',
    'tsx',
    path.join(BENCH_DIR, script),
    '--no-facts',
    ...(args.quick ? ['--quick'] : []),
    ...(args.noPg ? ['--no-pg'] : []),
    ...extra,
  ];
  console.log(`\n──── ${script} ${extra.join(' ')}`.trimEnd());
  const t = now();
  return new Promise((resolve, reject) => {
    child = spawn(process.execPath, argv, { cwd: ROOT, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      child = null;
      resolve({ code: code ?? (signal ? 128 : 1), ms: now() - t });
    });
  });
}

function readOut(name: string): any {
  const file = path.join(OUT_DIR, `${name}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

runMain(async () => {
  const t0 = now();
  const facts = machineFacts();
  printFacts(facts);
  console.log(`\nmode: ${args.quick ? 'quick (small sizes)' : 'full sizes'}${args.noPg ? ', PostgreSQL skipped' : ''}`);
  const shared = tempDir('bulwark-bench-shared-');
  const db = path.join(shared, 'ledger.db');
  const runs: Record<string, { code: number; ms: number }> = {};
  const started = Date.now();
  runs['ledger-append'] = await run('ledger-append.ts', []);
  runs['inclusion-proof'] = await run('inclusion-proof.ts', ['--keep-db', db]);
  runs['verify'] = await run('verify.ts', ['--db', db]);
  runs['signal-ingest'] = await run('signal-ingest.ts', []);
  runs['concurrent-runs'] = await run('concurrent-runs.ts', []);
  runs['overload'] = await run('overload.ts', []);
  runs['incidents'] = await run('incidents.ts', []);
  runs['playbooks'] = await run('playbooks.ts', []);

  // Goals, from the summaries each script wrote in this run (only scripts that exited 0).
  const append = readOut('ledger-append');
  const proof = readOut('inclusion-proof');
  const verify = readOut('verify');
  const rows: string[][] = [];
  const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
  if (runs['ledger-append'].code === 0 && append) {
    for (const db of ['sqlite', 'postgres'] as const) {
      const results = append[db]?.results as { mode: string; ratioVsDriver: number; ratioVsKysely: number }[] | undefined;
      for (const r of results ?? []) {
        rows.push([
          `append ${db} ${r.mode}: ledger / plain INSERT`,
          '≥ 0.5',
          `${fmtRatio(r.ratioVsDriver)} (vs kysely INSERT ${fmtRatio(r.ratioVsKysely)})`,
          mark(r.ratioVsDriver >= 0.5),
        ]);
      }
    }
  }
  if (runs['inclusion-proof'].code === 0 && proof) {
    for (const db of ['sqlite', 'postgres'] as const) {
      const p = proof[db];
      if (p?.proofMs)
        rows.push([
          `inclusion proof ${db}, ${p.size.toLocaleString('en-US')} entries: median (p99)`,
          '< 1 ms',
          `${fmtMs(p.proofMs.median)} (${fmtMs(p.proofMs.p99)}), ${p.queriesPerProof} query`,
          mark(p.proofMs.median < 1),
        ]);
    }
  }
  if (runs['verify'].code === 0 && verify) {
    rows.push([
      `verifyStore, ${verify.size.toLocaleString('en-US')} entries: verify / SHA-256 floor`,
      '≥ 0.5',
      `${fmtRatio(verify.ratio)} wall, ${fmtRatio(verify.cpuRatio)} CPU time (${Math.round(verify.verifyEntriesPerSec).toLocaleString('en-US')} vs ${Math.round(verify.floorEntriesPerSec).toLocaleString('en-US')} entries/s)`,
      mark(verify.ratio >= 0.5),
    ]);
  }
  const signals = readOut('signal-ingest');
  if (runs['signal-ingest']?.code === 0 && signals) {
    const tp = signals.throughput;
    rows.push([
      `signal ingest sqlite, ${signals.producers} producers: durable signals/s`,
      '≥ 5,000/s',
      `${Math.round(tp.ingestPerSec).toLocaleString('en-US')}/s (${fmtRatio(tp.ratio)} of plain INSERT)`,
      mark(tp.ingestPerSec >= 5000),
    ]);
    for (const l of signals.latency as { load: string; goal: boolean; ms: { median: number; p99: number } }[]) {
      if (l.goal)
        rows.push([
          `signal HTTP POST → matched detection, ${l.load}: p50 (p99)`,
          'p99 < 20 ms',
          `${fmtMs(l.ms.median)} (${fmtMs(l.ms.p99)})`,
          mark(l.ms.p99 < 20),
        ]);
    }
  }
  const concurrent = readOut('concurrent-runs');
  if (runs['concurrent-runs']?.code === 0 && concurrent) {
    type Phase = { phase: string; goal?: boolean; runs: number; driftMs: { p99: number }; absErrorMs: { p99: number } };
    for (const r of concurrent.phases as Phase[]) {
      const goal = r.goal !== false;
      rows.push([
        `${r.runs} concurrent runs, ${r.phase}: drift p99, |TTD error| p99`,
        goal ? 'p99 < 10 ms' : 'report',
        `${fmtMs(r.driftMs.p99)}, ${fmtMs(r.absErrorMs.p99)}`,
        goal ? mark(r.driftMs.p99 < 10 && r.absErrorMs.p99 < 10) : '',
      ]);
    }
  }
  const overload = readOut('overload');
  if (runs['overload']?.code === 0 && overload) {
    type R = { scenario: string; mode: string; timeouts: number; maxMs: number; healthzMs: { max: number } };
    const results = overload.results as R[];
    for (const key of [...new Set(results.map((r) => `${r.scenario}\u0000${r.mode}`))]) {
      const [scenario, mode] = key.split('\u0000') as [string, string];
      const rs = results.filter((r) => r.scenario === scenario && r.mode === mode);
      const timeouts = Math.max(...rs.map((r) => r.timeouts));
      const controller = mode.startsWith('admission controller');
      rows.push([
        `overload, ${scenario}, ${mode}: client timeouts (15 s); longest wait, /healthz max (median)`,
        controller ? 'no timeouts' : 'report',
        `${timeouts}; ${fmtMs(median(rs.map((r) => r.maxMs)))}, ${fmtMs(median(rs.map((r) => r.healthzMs.max)))}`,
        controller ? mark(timeouts === 0) : '',
      ]);
    }
  }
  printTable(
    'Scripts',
    ['script', 'exit', 'time'],
    Object.entries(runs).map(([k, v]) => [k, String(v.code), fmtMs(v.ms)]),
  );
  printTable(
    args.quick ? 'Goals (quick run: small sizes, a smoke test; judge goals on a full run)' : 'Goals (this run)',
    ['figure', 'goal', 'measured', 'verdict'],
    rows,
  );
  const totalMs = now() - t0;
  const loadEnd = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(
    `\ntotal: ${fmtMs(totalMs)}; load average at start ${facts.loadavg}, at end ${loadEnd} (${facts.cores} cores: above that, other processes competed)`,
  );
  writeJson('summary', { quick: args.quick, startedAt: new Date(started).toISOString(), facts, loadEnd, runs, goals: rows, totalMs });
  const failed = Object.entries(runs).filter(([, v]) => v.code !== 0);
  if (failed.length > 0) throw new Error(`failed: ${failed.map(([k, v]) => `${k} (exit ${v.code})`).join(', ')}`);
});
