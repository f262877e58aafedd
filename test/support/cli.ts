/**
 * The `bulwark` CLI from tests: run a command as a child process and collect its output, start
 * `bulwark serve` on a data directory and wait until it answers, send it JSON requests. The
 * children are tracked (test/support/processes.ts); tests should still stop their servers in
 * afterAll/afterEach (`server.stop()` or `killAllChildren()`).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  bulwarkArgs,
  ExitedEarly,
  REPO_ROOT,
  childEnv,
  killPid,
  spawnBulwark,
  trackChild,
  waitHealthy,
  type NodeChild,
} from './processes.ts';
import { freePort } from './tmp.ts';

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
    trackChild(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {}); // a child that exits before reading stdin
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      if (child.pid !== undefined) killPid(child.pid, 'SIGKILL');
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

/** Run `bulwark ARGS…` (node bin/bulwark.mjs ARGS…) and collect its output. */
export function runCli(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  return runNode(bulwarkArgs(args), opts);
}

/** For failure messages: what a CLI run printed. */
export function describeRun(r: CliResult): string {
  return `exit ${r.code ?? r.signal}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** `bulwark tokens create GRANT… --name NAME --json` on a database; the new token, or throws. */
export async function mintToken(db: string, dataDir: string, name: string, grant: readonly string[]): Promise<string> {
  const r = await runCli(['tokens', 'create', ...grant, '--name', name, '--db', db, '--data-dir', dataDir, '--json'], {
    timeoutMs: 30_000,
  });
  if (r.code !== 0) throw new Error(`tokens create ${grant.join(' ')} failed: ${describeRun(r)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout.trim());
  } catch {
    throw new Error(`tokens create --json did not print one JSON object on stdout:\n${r.stdout}`);
  }
  const token = (parsed as { token?: unknown }).token;
  if (typeof token !== 'string' || !token.startsWith('bwk_')) throw new Error(`tokens create --json printed no bwk_ token: ${r.stdout}`);
  return token;
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
  /** Run bin/bulwark.mjs itself rather than this run's CLI bundle (processes.ts: bulwarkCliFile()). */
  installedBin?: boolean;
  healthTimeoutMs?: number;
}

export interface RunningServer extends Pick<NodeChild, 'child' | 'pid' | 'exited' | 'stop' | 'stdout' | 'stderr'> {
  url: string;
  port: number;
  db: string;
  /** The admin token the first start printed on stderr, if it printed one. */
  token?: string;
}

const TOKEN_RE = /bwk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}/;

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
  const proc = spawnBulwark(args, { env: opts.env, installedBin: opts.installedBin });
  const url = `http://127.0.0.1:${port}`;
  const describe = () => `--- stderr ---\n${proc.stderr().slice(-4000)}\n--- stdout ---\n${proc.stdout().slice(-4000)}`;
  try {
    await waitHealthy(url, proc, { timeoutMs: opts.healthTimeoutMs, describe });
    // The token is written to stderr right after listening; the pipe may deliver it a bit later.
    const tokenDeadline = Date.now() + (opts.expectToken ? 5000 : 300);
    while (!TOKEN_RE.test(proc.stderr()) && Date.now() < tokenDeadline) await sleep(25);
    const token = TOKEN_RE.exec(proc.stderr())?.[0];
    if (opts.expectToken && !token) throw new Error(`bulwark serve printed no admin token on stderr\n${describe()}`);
    const { child, pid, exited, stop, stdout, stderr } = proc;
    return { url, port, pid, child, db, token, exited, stop, stdout, stderr };
  } catch (e) {
    await proc.stop('SIGKILL', 5000);
    throw e;
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
      const portTaken = e instanceof ExitedEarly && /EADDRINUSE/.test(e.output);
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
