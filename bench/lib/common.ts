/**
 * Shared helpers for the benchmarks: arguments, cleanup that runs on failure and on signals,
 * machine facts, statistics, tables and the JSON summaries in bench/out/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const OUT_DIR = path.join(BENCH_DIR, 'out');
export const PG_BIN = '/usr/lib/postgresql/15/bin';

// ---------------------------------------------------------------------------------------------
// Arguments

export interface BenchArgs {
  quick: boolean;
  /** Skip the PostgreSQL half. */
  noPg: boolean;
  /** Set by run-all, which printed the machine facts already. */
  noFacts: boolean;
  /** inclusion-proof: leave the SQLite ledger it built at this path (run-all shares it with verify). */
  keepDb?: string;
  /** verify: use this SQLite ledger instead of building one. */
  db?: string;
}

export function parseArgs(argv = process.argv.slice(2)): BenchArgs {
  const args: BenchArgs = { quick: false, noPg: false, noFacts: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--no-pg') args.noPg = true;
    else if (a === '--no-facts') args.noFacts = true;
    else if (a === '--keep-db') args.keepDb = argv[++i];
    else if (a === '--db') args.db = argv[++i];
    else throw new Error(`unknown argument ${a} (known: --quick --no-pg --keep-db FILE --db FILE)`);
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// Cleanup: async on the normal path and on SIGINT/SIGTERM, a synchronous fallback on exit.

interface Cleanup {
  name: string;
  run: () => Promise<void> | void;
  /** Called from process.on('exit') if `run` never ran (e.g. process.exit from elsewhere). */
  sync?: () => void;
  done: boolean;
}

const cleanups: Cleanup[] = [];

/** Register a cleanup; returns a function that runs it early (and unregisters it). */
export function onCleanup(name: string, run: () => Promise<void> | void, sync?: () => void): () => Promise<void> {
  const c: Cleanup = { name, run, sync, done: false };
  cleanups.push(c);
  return async () => {
    if (c.done) return;
    c.done = true;
    await c.run();
  };
}

async function runCleanups(): Promise<void> {
  for (const c of [...cleanups].reverse()) {
    if (c.done) continue;
    c.done = true;
    try {
      await c.run();
    } catch (err) {
      console.error(`[cleanup] ${c.name} failed: ${String(err)}`);
      try {
        c.sync?.();
      } catch {
        /* nothing more to do */
      }
    }
  }
}

process.on('exit', () => {
  for (const c of [...cleanups].reverse()) {
    if (c.done) continue;
    c.done = true;
    try {
      c.sync?.();
    } catch {
      /* best effort */
    }
  }
});

/** Run a benchmark's main: cleanups always run, signals stop it cleanly, the exit code tells. */
export function runMain(main: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n[bench] ${sig}: cleaning up`);
    void runCleanups().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  main()
    .then(async () => {
      await runCleanups();
      process.exit(0);
    })
    .catch(async (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      await runCleanups();
      process.exit(1);
    });
}

/** A temporary directory removed by the cleanups. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const rm = () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  onCleanup(`remove ${dir}`, rm, rm);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Machine facts

export interface MachineFacts {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  sqlite: string;
  betterSqlite3: string;
  kysely: string;
  pg: string;
  postgres: string;
  kernel: string;
  loadavg: string;
}

function pkgVersion(name: string): string {
  try {
    const file = path.join(BENCH_DIR, '..', 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machineFacts(): MachineFacts {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    /* keep os.cpus() */
  }
  const mem = new Database(':memory:');
  const sqlite = (mem.prepare('select sqlite_version() as v').get() as { v: string }).v;
  mem.close();
  let postgres = 'not installed';
  if (existsSync(path.join(PG_BIN, 'postgres'))) {
    const r = spawnSync(path.join(PG_BIN, 'postgres'), ['--version'], { encoding: 'utf8' });
    postgres = (r.stdout || r.stderr || 'unknown').trim();
  }
  return {
    cpu,
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    sqlite,
    betterSqlite3: pkgVersion('better-sqlite3'),
    kysely: pkgVersion('kysely'),
    pg: pkgVersion('pg'),
    postgres,
    kernel: `${os.type()} ${os.release()}`,
    loadavg: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

export function printFacts(f: MachineFacts): void {
  printTable(
    'Machine',
    ['fact', 'value'],
    [
      ['CPU', f.cpu],
      ['cores', String(f.cores)],
      ['memory', `${f.memoryGiB} GiB`],
      ['Node', f.node],
      ['SQLite', `${f.sqlite} (better-sqlite3 ${f.betterSqlite3})`],
      ['PostgreSQL', `${f.postgres} (pg ${f.pg})`],
      ['kysely', f.kysely],
      ['kernel', f.kernel],
      ['load average', f.loadavg],
    ],
  );
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

export const now = (): number => performance.now();

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface Summary {
  n: number;
  min: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return {
    n: s.length,
    min: s[0] ?? NaN,
    median: quantile(s, 0.5),
    p90: quantile(s, 0.9),
    p99: quantile(s, 0.99),
    max: s[s.length - 1] ?? NaN,
    mean,
  };
}

export function median(xs: readonly number[]): number {
  return quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
}

export function fmtRate(perSec: number): string {
  if (!Number.isFinite(perSec)) return 'n/a';
  if (perSec >= 100_000) return `${Math.round(perSec / 1000)}k/s`;
  if (perSec >= 10_000) return `${(perSec / 1000).toFixed(1)}k/s`;
  return `${Math.round(perSec)}/s`;
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? r.toFixed(2) : 'n/a';
}

export function printTable(title: string, headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${title}`);
  console.log(line(headers));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

export function writeJson(name: string, value: unknown): string {
  mkdirSync(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  console.log(`\nJSON summary: ${path.relative(process.cwd(), file)}`);
  return file;
}

export function log(msg: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`benchmark assertion failed: ${msg}`);
}

/** Let the event loop breathe and give the GC a chance between timed phases. */
export async function settle(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 20));
}
