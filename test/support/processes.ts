/**
 * Child processes in tests, in one place: `bulwark` and other TypeScript files run as children of
 * the test process (tracked by pid, and killed when the test process exits, so a failing test
 * never leaves one behind), a server awaited until GET /healthz answers, processes stopped and
 * killed by pid, and the leftovers of a test process that died: a directory of ours (one with an
 * owner.pid file) whose owner is gone has its processes stopped and is removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inject } from 'vitest';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** tsx's loader by absolute URL, so a child can run from any working directory. */
export const TSX_LOADER = pathToFileURL(path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** Node arguments that run a TypeScript file the way `node --import tsx FILE` does. */
export const nodeTsArgs = (file: string, args: readonly string[] = []): string[] => ['--import', TSX_LOADER, file, ...args];

// ---------------------------------------------------------------------------------------------
// Pids

/** Send `signal` to `pid` (a negative pid: its process group); false if there was nothing to signal. */
export function killPid(pid: number, signal: NodeJS.Signals | 0 = 'SIGKILL'): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/** Whether a process with this pid exists (EPERM: it does, and is someone else's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a running process, NUL-separated; '' when it is gone. */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Send `signal` to `pid` and wait for `exited`; if it has not exited after `timeoutMs`, `force()`
 * (SIGKILL to the pid by default) and wait for it.
 */
export async function stopPid<T>(
  pid: number,
  exited: Promise<T>,
  signal: NodeJS.Signals,
  timeoutMs: number,
  force: () => void = () => void killPid(pid, 'SIGKILL'),
): Promise<T> {
  if (!killPid(pid, signal)) return exited;
  const timedOut = Symbol('timeout');
  const first = await Promise.race([exited, sleep(timeoutMs).then(() => timedOut)]);
  if (first !== timedOut) return first as T;
  force();
  return exited;
}

// ---------------------------------------------------------------------------------------------
// Children of the test process

const live = new Map<number, ChildProcess>();

/** Register a child, so that killAllChildren() and the exit of the test process kill it too. */
export function trackChild(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  live.set(pid, child);
  child.once('exit', () => live.delete(pid));
}

// Last resort: whatever the tests did, no child outlives the test process.
process.once('exit', () => {
  for (const pid of live.keys()) killPid(pid, 'SIGKILL');
});

/** Kill (SIGKILL, by pid) every tracked child that is still running, and wait for them to exit. */
export async function killAllChildren(): Promise<void> {
  const waits = [...live.entries()].map(([pid, child]) => {
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    killPid(pid, 'SIGKILL');
    return exited;
  });
  await Promise.all(waits);
}

/** The environment of a child: ours without BULWARK_* settings that could leak in, plus `extra`. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('BULWARK_') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  env.NO_COLOR = '1';
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeChild {
  child: ChildProcess;
  pid: number;
  /** Resolves when the process has exited. */
  exited: Promise<ExitInfo>;
  /** How it exited, once it has. */
  exitInfo: () => ExitInfo | undefined;
  /** Send `signal` (default SIGTERM) by pid; SIGKILL after `timeoutMs` (default 15 s) if it has not exited. */
  stop: (signal?: NodeJS.Signals, timeoutMs?: number) => Promise<ExitInfo>;
  /** What it wrote so far (the last 2 MiB of each stream, and of both interleaved). */
  stdout: () => string;
  stderr: () => string;
  output: () => string;
}

const MAX_CAPTURE = 2 * 1024 * 1024;

/**
 * Spawn `node NODE_ARGS…` as a tracked child from the repository root, stdin ignored, its output
 * captured. Throws when there is no process to track.
 */
export function spawnNode(nodeArgs: readonly string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): NodeChild {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: childEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  let out = '';
  let err = '';
  let all = '';
  const keep = (s: string) => (s.length > MAX_CAPTURE ? s.slice(-MAX_CAPTURE) : s);
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out = keep(out + d);
    all = keep(all + d);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err = keep(err + d);
    all = keep(all + d);
  });
  const exited = new Promise<ExitInfo>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let exitInfo: ExitInfo | undefined;
  void exited.then((e) => (exitInfo = e));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn node ${nodeArgs.join(' ')}`);
  return {
    child,
    pid,
    exited,
    exitInfo: () => exitInfo,
    stop: async (signal = 'SIGTERM', timeoutMs = 15_000) => exitInfo ?? stopPid(pid, exited, signal, timeoutMs),
    stdout: () => out,
    stderr: () => err,
    output: () => all,
  };
}

/**
 * Node arguments that run `bulwark ARGS…` as installed: `bin/bulwark.mjs` with the Node flag of
 * its shebang line. It loads the TypeScript sources through tsx.
 */
export const installedBinArgs = (args: readonly string[]): string[] => [
  '--max-semi-space-size=4',
  path.join(REPO_ROOT, 'bin/bulwark.mjs'),
  ...args,
];

let cliFile: string | undefined;

/**
 * The file that runs `bulwark` in this test run: the CLI bundled once by test/global-setup.ts
 * (test/support/cli-bundle.ts: the same sources, started without compiling ~550 modules through
 * tsx), or bin/bulwark.mjs when there is no bundle (outside vitest, or TEST_BULWARK_CLI=bin).
 */
export function bulwarkCliFile(): string {
  if (cliFile === undefined) {
    cliFile = path.join(REPO_ROOT, 'bin/bulwark.mjs');
    if (process.env.TEST_BULWARK_CLI !== 'bin' && process.env.VITEST) {
      try {
        cliFile = inject('cliBundle') ?? cliFile;
      } catch {
        // not in a test worker (global setup, a script): the installed bin
      }
    }
  }
  return cliFile;
}

/**
 * Node arguments that run `bulwark ARGS…`: bulwarkCliFile() with the Node flag of the bin's
 * shebang line. Tests about the bin itself use installedBinArgs().
 */
export const bulwarkArgs = (args: readonly string[]): string[] => ['--max-semi-space-size=4', bulwarkCliFile(), ...args];

/** Spawn `bulwark ARGS…` (node bin/bulwark.mjs ARGS…) as a tracked child. */
export function spawnBulwark(
  args: readonly string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; installedBin?: boolean } = {},
): NodeChild {
  return spawnNode(opts.installedBin ? installedBinArgs(args) : bulwarkArgs(args), opts);
}

/** The child exited before it answered; `output` is what it wrote (e.g. EADDRINUSE). */
export class ExitedEarly extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

/**
 * Wait until GET `url`/healthz answers 200, or throw: ExitedEarly when `proc` exits first, an
 * Error after `timeoutMs`. `describe()` adds what the process wrote to the message.
 */
export async function waitHealthy(
  url: string,
  proc: Pick<NodeChild, 'exitInfo' | 'stderr'>,
  opts: { timeoutMs?: number; describe?: () => string } = {},
): Promise<void> {
  const describe = opts.describe ?? (() => '');
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last = 'no answer yet';
  for (;;) {
    const exit = proc.exitInfo();
    if (exit)
      throw new ExitedEarly(`bulwark serve exited (${exit.code ?? exit.signal}) before /healthz answered\n${describe()}`, proc.stderr());
    if (Date.now() > deadline)
      throw new Error(`bulwark serve did not answer GET /healthz = 200 within the timeout (last: ${last})\n${describe()}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (e) {
      last = String((e as Error).cause ?? e);
    }
    await sleep(100);
  }
}

export interface GoWorker<R> {
  /** Resolves when the worker printed "ready"; rejects if it exited before. */
  ready: Promise<void>;
  /** The JSON of its last stdout line once it exited 0; rejects with its output otherwise. */
  done: Promise<R>;
  /** Release it: write "go" to its stdin. */
  go(): void;
}

/**
 * Start a worker script of test/support that prints "ready", waits for a line "go" on stdin, does
 * its work and prints one JSON line as its last: so that several processes start their work at
 * the same moment. `name` names it in failure messages.
 */
export function startGoWorker<R>(
  name: string,
  file: string,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): GoWorker<R> {
  const child = spawn(process.execPath, nodeTsArgs(file, args), { cwd: REPO_ROOT, env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  trackChild(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines: string[] = [];
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === 'ready') onReady();
    else lines.push(line);
  });
  const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))).then((code) => {
    const last = lines.at(-1);
    if (code !== 0 || !last) throw new Error(`${name} exited ${code}:\n${stderr}\n${lines.join('\n')}`);
    return JSON.parse(last) as R;
  });
  // A worker that dies before "ready" must fail the test instead of hanging it.
  const readyOrDead = Promise.race([ready, done.then(() => Promise.reject(new Error(`${name} exited before it was ready:\n${stderr}`)))]);
  done.catch(() => undefined);
  return { ready: readyOrDead, done, go: () => child.stdin.write('go\n') };
}

// ---------------------------------------------------------------------------------------------
// Leftovers of a test process that died without stopping what it started

const OWNER_FILE = 'owner.pid';

/** Mark `dir` as this process's, so that reapOrphans() in a later run knows whose it is. */
export function markOwned(dir: string): void {
  writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
}

/**
 * For each directory `<tmpdir>/<prefix>*` marked by a process that is gone: `stop(dir)` (kill what
 * still runs from it), then remove it. A directory we cannot judge (unreadable, or of a run still
 * starting) is left alone.
 */
export function reapOrphans(prefix: string, stop: (dir: string) => void): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = path.join(tmpdir(), name);
    try {
      const owner = Number(readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
      if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
      stop(dir);
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // not ours to judge
    }
  }
}

/** The pid in `pidFile` if it is still a process started from `dir` (a recycled pid is someone else's). */
export function pidFromFile(pidFile: string, dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]!.trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && cmdlineOf(pid).includes(dir) ? pid : undefined;
}
