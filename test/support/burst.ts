/**
 * Load over loopback for the overload test and benchmark: a bounded number of HTTP requests,
 * all at once or at a fixed rate (open loop: a request is sent at its time whether or not the
 * earlier ones were answered), each with a client timeout, over node:http with many sockets;
 * probes that send one request at a time on a new connection, as a health checker does, each
 * on a thread of its own if wanted (burst-worker.ts); and the start of a child server
 * (overload-server.ts). Everything stops by itself: every request ends by its timeout, and a
 * probe loop by its deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../../src/app/ts-worker.ts';
import type { OverloadServerOptions, OverloadServerReady } from './overload-server.ts';

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** The JSON body; each `{i}` in it becomes the request's index (from 0). */
  body?: string;
}

export interface Outcome {
  /** 0 when the client gave up (timeout) or the connection failed. */
  status: number;
  /** From the time the request was due to be sent to its answer (or to giving up). */
  ms: number;
  retryAfter: string | undefined;
  /** The `error` field of an error body. */
  error: string | undefined;
  /** 'timeout' or the socket error's code. */
  failure: string | undefined;
  /** When it was due, in ms from the start of the load. */
  at: number;
  /** How late this client sent it (its own event loop being busy), in ms. */
  sentLateMs: number;
  /** When it was due, in ms since the epoch (comparable across threads). */
  dueEpochMs: number;
}

const now = () => performance.now();

function send(agent: http.Agent | false, port: number, spec: RequestSpec, i: number, timeoutMs: number, due: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    const sentLateMs = now() - due;
    const finish = (o: Omit<Outcome, 'ms' | 'at' | 'sentLateMs' | 'dueEpochMs'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ...o, ms: now() - due, at: due, sentLateMs, dueEpochMs: performance.timeOrigin + due });
    };
    const body = spec.body?.replaceAll('{i}', String(i));
    const req = http.request({
      agent,
      host: '127.0.0.1',
      port,
      method: spec.method,
      path: spec.path,
      headers: {
        ...spec.headers,
        ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
      },
    });
    const timer = setTimeout(() => {
      finish({ status: 0, retryAfter: undefined, error: undefined, failure: 'timeout' });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) =>
      finish({ status: 0, retryAfter: undefined, error: undefined, failure: e.code ?? e.message }),
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => undefined);
      res.on('end', () => {
        let error: string | undefined;
        if ((res.statusCode ?? 0) >= 400) {
          try {
            error = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: string }).error;
          } catch {
            error = 'unparsable';
          }
        }
        const ra = res.headers['retry-after'];
        finish({ status: res.statusCode ?? 0, retryAfter: Array.isArray(ra) ? ra[0] : ra, error, failure: undefined });
      });
    });
    req.end(body);
  });
}

export interface LoadOptions {
  port: number;
  spec: RequestSpec;
  requests: number;
  /** Requests per second, evenly spaced; without it, all at once. */
  ratePerSec?: number;
  /** Connections at most (default 1000); requests beyond wait in the client, and that wait counts. */
  sockets?: number;
  timeoutMs: number;
}

/** Send the load; resolves with every outcome once each request was answered or gave up. */
export async function load(o: LoadOptions): Promise<Outcome[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.sockets ?? 1000, maxFreeSockets: o.sockets ?? 1000 });
  try {
    const t0 = now();
    const all: Promise<Outcome>[] = [];
    for (let i = 0; i < o.requests; i++) {
      if (o.ratePerSec !== undefined) {
        const due = t0 + (i * 1000) / o.ratePerSec;
        const wait = due - now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        all.push(send(agent, o.port, o.spec, i, o.timeoutMs, due).then((x) => ({ ...x, at: x.at - t0 })));
      } else {
        all.push(send(agent, o.port, o.spec, i, o.timeoutMs, t0).then((x) => ({ ...x, at: 0 })));
      }
    }
    return await Promise.all(all);
  } finally {
    agent.destroy();
  }
}

/**
 * One request at a time on a new connection, every `everyMs`, until `stop` resolves or the
 * deadline passes; the outcomes in order.
 */
export async function probe(
  port: number,
  spec: RequestSpec,
  opts: { everyMs: number; timeoutMs: number; stop: Promise<unknown>; deadlineMs: number },
): Promise<Outcome[]> {
  let stopped = false;
  void opts.stop.then(() => (stopped = true));
  const end = now() + opts.deadlineMs;
  const out: Outcome[] = [];
  for (let i = 0; !stopped && now() < end; i++) {
    const t = now();
    out.push(await send(false, port, spec, i, opts.timeoutMs, t));
    const rest = opts.everyMs - (now() - t);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  }
  return out;
}

export interface ProbeOptions {
  everyMs: number;
  timeoutMs: number;
  deadlineMs: number;
}

/** What a thread of burst-worker.ts is asked to do. */
export type BurstJob = { kind: 'load'; opts: LoadOptions } | { kind: 'probe'; port: number; spec: RequestSpec; opts: ProbeOptions };

/** What a thread posts back: the outcomes, and how late its own event loop ran (its CPU share). */
export interface ThreadResult {
  outcomes: Outcome[];
  /** The thread's event-loop delay while it ran (p99, max), in ms: large values mean the client was short of CPU. */
  clientDelayMs: { p99: number; max: number };
}

function inThread(job: BurstJob): { worker: Worker; result: Promise<ThreadResult> } {
  const worker = startTsWorker(new URL('./burst-worker.ts', import.meta.url), { workerData: job });
  const result = new Promise<ThreadResult>((resolve, reject) => {
    worker.once('message', (m: ThreadResult) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the load thread exited (${code}) before its answer`)));
  });
  return { worker, result };
}

/**
 * load() on a thread of its own, so that the client's event loop (a thousand sockets) neither
 * delays the probes nor is delayed by the test.
 */
export function loadInThread(opts: LoadOptions): Promise<ThreadResult> {
  return inThread({ kind: 'load', opts }).result;
}

/** probe() on a thread of its own, until `stop()` (or its deadline). */
export function probeInThread(port: number, spec: RequestSpec, opts: ProbeOptions): { stop(): void; result: Promise<ThreadResult> } {
  const { worker, result } = inThread({ kind: 'probe', port, spec, opts });
  return { stop: () => worker.postMessage('stop'), result };
}

/** Nearest-rank quantile of a list of numbers (NaN when empty). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export interface LoadSummary {
  requests: number;
  /** Answers by status (0: no answer). */
  byStatus: Record<string, number>;
  /** Share of answers that were 503. */
  shedRate: number;
  /** 503s without a Retry-After header. */
  shedWithoutRetryAfter: number;
  timeouts: number;
  /** Connection errors other than timeouts, by code. */
  failures: Record<string, number>;
  /** Latency of the answers that were not 503, in ms. */
  admittedMs: { p50: number; p99: number; max: number };
  /** Latency of the 503s, in ms. */
  shedMs: { p50: number; p99: number; max: number };
  /** Latency of every answer, in ms. */
  maxMs: number;
  /** How late the client sent its requests (p99), in ms: large values mean the client, not the server, was slow. */
  sentLateP99Ms: number;
}

export function summarise(outcomes: readonly Outcome[]): LoadSummary {
  const byStatus: Record<string, number> = {};
  const failures: Record<string, number> = {};
  for (const o of outcomes) {
    byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
    if (o.failure && o.failure !== 'timeout') failures[o.failure] = (failures[o.failure] ?? 0) + 1;
  }
  const admitted = outcomes.filter((o) => o.status !== 0 && o.status !== 503).map((o) => o.ms);
  const shed = outcomes.filter((o) => o.status === 503);
  const stats = (xs: number[]) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: xs.length ? Math.max(...xs) : NaN });
  const answered = outcomes.filter((o) => o.status !== 0).length;
  return {
    requests: outcomes.length,
    byStatus,
    shedRate: answered ? shed.length / answered : 0,
    shedWithoutRetryAfter: shed.filter((o) => !o.retryAfter).length,
    timeouts: outcomes.filter((o) => o.failure === 'timeout').length,
    failures,
    admittedMs: stats(admitted),
    shedMs: stats(shed.map((o) => o.ms)),
    maxMs: Math.max(0, ...outcomes.map((o) => o.ms)),
    sentLateP99Ms: quantile(
      outcomes.map((o) => o.sentLateMs),
      0.99,
    ),
  };
}

export interface ChildServer extends OverloadServerReady {
  child: ChildProcess;
  stderr(): string;
  /** SIGTERM, then SIGKILL after `ms`; resolves when it has exited. */
  stop(ms?: number): Promise<void>;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TSX_LOADER = pathToFileURL(path.join(HERE, '../../node_modules/tsx/dist/loader.mjs')).href;

/** Start overload-server.ts in a child process and wait until it listens (at most `startMs`). */
export async function startOverloadServer(opts: OverloadServerOptions, startMs = 60_000): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, path.join(HERE, 'overload-server.ts'), JSON.stringify(opts)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (ms = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    await exited;
    clearTimeout(timer);
  };
  try {
    const ready = await new Promise<OverloadServerReady>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start within ${startMs} ms\n${err}`)), startMs);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line && out.includes('\n')) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as OverloadServerReady);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the server exited before listening\n${err}`));
      });
    });
    return { ...ready, child, stderr: () => err, stop };
  } catch (e) {
    await stop(1000);
    throw e;
  }
}
