/**
 * Process-level helpers: run the `bulwark` CLI as a child process, and start `bulwark serve`
 * on a data directory and wait until it answers. Every child is tracked by pid and killed when
 * the test process exits, so a failing test never leaves a server behind; tests should still
 * stop their servers in afterAll/afterEach (`server.stop()` or `killAllChildren()`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort } from './tmp.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI_MAIN = path.join(REPO_ROOT, 'src/cli/main.ts');
/** tsx's loader by absolute URL, so a child can run from any working directory. */
export const TSX_LOADER = pathToFileURL(path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** Node arguments that run a TypeScript file the way `node --import tsx FILE` does. */
export const nodeTsArgs = (file: string, args: readonly string[] = []): string[] => ['--import', TSX_LOADER, file, ...args];

const live = new Map<number, ChildProcess>();

/** Register a child spawned elsewhere, so that killAllChildren() and exit clean it up too. */
export function trackChild(child: ChildProcess): void {
  track(child);
}

function track(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  live.set(pid, child);
  child.once('exit', () => live.delete(pid));
}

// Last resort: whatever the tests did, no child outlives the test process.
process.once('exit', () => {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Kill (SIGKILL, by pid) every child these helpers started that is still running. */
export async function killAllChildren(): Promise<void> {
  const waits = [...live.entries()].map(([pid, child]) => {
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
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

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Written to the child's stdin, which is then closed. */
  input?: string;
  /** Working directory; the repository root by default. */
  cwd?: string;
  timeoutMs?: number;
}

/** Run a Node script as a tracked child and collect its output; rejects on timeout. */
export function runNode(nodeArgs: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: childEnv(opts.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    track(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {}); // a child that exits before reading stdin
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      reject(
        new Error(`timed out after ${timeoutMs} ms: node ${nodeArgs.join(' ')}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`),
      );
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Run `bulwark ARGS…` (node --import tsx src/cli/main.ts ARGS…) and collect its output. */
export function runCli(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  return runNode(nodeTsArgs(CLI_MAIN, args), opts);
}

/** For failure messages: what a CLI run printed. */
export function describeRun(r: CliResult): string {
  return `exit ${r.code ?? r.signal}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

export interface ServerOptions {
  /** The data directory; the database is DIR/bulwark.db unless `db` is given. */
  dir: string;
  db?: string;
  port?: number;
  /** --checkpoint-interval in seconds (default 1). */
  checkpointInterval?: number;
  /** --log-level (default warn, to keep captured output small). */
  logLevel?: string;
  extraArgs?: string[];
  env?: Record<string, string | undefined>;
  /** Wait for the first-start admin token on stderr and fail without one. */
  expectToken?: boolean;
  healthTimeoutMs?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningServer {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  db: string;
  /** The admin token the first start printed on stderr, if it printed one. */
  token?: string;
  /** Resolves when the process has exited. */
  exited: Promise<ExitInfo>;
  /** Send `signal` (default SIGTERM) by pid; SIGKILL after `timeoutMs` if it has not exited. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitInfo>;
  stdout(): string;
  stderr(): string;
}

const TOKEN_RE = /bwk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}/;
const MAX_CAPTURE = 2 * 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startOnce(opts: ServerOptions, port: number): Promise<RunningServer> {
  const db = opts.db ?? `sqlite:${path.join(opts.dir, 'bulwark.db')}`;
  const args = [
    'serve',
    '--db',
    db,
    '--data-dir',
    opts.dir,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--checkpoint-interval',
    String(opts.checkpointInterval ?? 1),
    '--log-level',
    opts.logLevel ?? 'warn',
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, nodeTsArgs(CLI_MAIN, args), {
    cwd: REPO_ROOT,
    env: childEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let out = '';
  let err = '';
  const keep = (s: string) => (s.length > MAX_CAPTURE ? s.slice(-MAX_CAPTURE) : s);
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out = keep(out + d)));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err = keep(err + d)));
  const exited = new Promise<ExitInfo>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let exitInfo: ExitInfo | undefined;
  void exited.then((e) => (exitInfo = e));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn bulwark serve:\n${err}`);
  const url = `http://127.0.0.1:${port}`;

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<ExitInfo> => {
    if (exitInfo) return exitInfo;
    try {
      process.kill(pid, signal);
    } catch {
      return exited;
    }
    const timedOut = Symbol('timeout');
    const first = await Promise.race([exited, sleep(timeoutMs).then(() => timedOut)]);
    if (first !== timedOut) return first as ExitInfo;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone in between
    }
    return exited;
  };

  const describe = () => `--- stderr ---\n${err.slice(-4000)}\n--- stdout ---\n${out.slice(-4000)}`;
  const deadline = Date.now() + (opts.healthTimeoutMs ?? 20_000);
  let last = 'no answer yet';
  try {
    for (;;) {
      if (exitInfo)
        throw new ExitedEarly(`bulwark serve exited (${exitInfo.code ?? exitInfo.signal}) before /healthz answered\n${describe()}`, err);
      if (Date.now() > deadline)
        throw new Error(`bulwark serve did not answer GET /healthz = 200 within the timeout (last: ${last})\n${describe()}`);
      try {
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) break;
        last = `status ${res.status}`;
      } catch (e) {
        last = String((e as Error).cause ?? e);
      }
      await sleep(100);
    }
    // The token is written to stderr right after listening; the pipe may deliver it a bit later.
    const tokenDeadline = Date.now() + (opts.expectToken ? 5000 : 300);
    while (!TOKEN_RE.test(err) && Date.now() < tokenDeadline) await sleep(25);
    const token = TOKEN_RE.exec(err)?.[0];
    if (opts.expectToken && !token) throw new Error(`bulwark serve printed no admin token on stderr\n${describe()}`);
    return { url, port, pid, child, db, token, exited, stop, stdout: () => out, stderr: () => err };
  } catch (e) {
    await stop('SIGKILL', 5000);
    throw e;
  }
}

class ExitedEarly extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/**
 * Start `bulwark serve` on SQLite in `dir` (or on `db`) and wait until GET /healthz is 200. A
 * port taken between choosing and binding it is retried with another one.
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      return await startOnce(opts, port);
    } catch (e) {
      const portTaken = e instanceof ExitedEarly && /EADDRINUSE/.test(e.stderr);
      if (!portTaken || opts.port !== undefined || attempt >= 2) throw e;
    }
  }
}

export interface ApiResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** One JSON request to a running server. */
export async function api<T = any>(
  server: Pick<RunningServer, 'url'>,
  method: string,
  pathAndQuery: string,
  opts: { token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${pathAndQuery}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON; keep the text
  }
  return { status: res.status, body: body as T, headers: res.headers };
}
