/**
 * The process provider. argv runs without a shell; a string `arguments` (Chaos Toolkit's way of
 * asking for one) runs `PATH ARGUMENTS` through /bin/sh. The child gets a small environment
 * (PATH, HOME, locale) plus the file's `env` and BULWARK_RUN, never the runner's whole
 * environment, which may hold Bulwark's own database password. On a server the file's `env`
 * holds only what the process allow-list lets it set (checked before the run, never here). A
 * variable name that is empty or holds `=` or a NUL is refused before anything starts: it would
 * set another variable than the one named. It runs in its own process group so that a timeout
 * or an abort kills what a shell started too. Output is bounded.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { commandOf } from '../../core/experiments/process-policy.ts';
import type { ProcessProvider } from '../../core/experiments/types.ts';
import { ActivityFailed, type ProcessResult, type ProviderContext } from '../../app/experiments/runner/providers.ts';

export interface ProcessProviderOptions {
  /** stdout and stderr are each kept up to this many bytes (default 1 MiB). */
  maxOutputBytes?: number;
  /** After SIGTERM, how long before SIGKILL (default 2 s). */
  killGraceMs?: number;
  /** The environment the child starts from (default: PATH, HOME, LANG, LC_ALL, TZ, TMPDIR, USER of this process). */
  baseEnv?: Record<string, string>;
}

const INHERITED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER'];

export function processProvider(opts: ProcessProviderOptions = {}): (p: ProcessProvider, ctx: ProviderContext) => Promise<ProcessResult> {
  const maxOutput = opts.maxOutputBytes ?? 1024 * 1024;
  const grace = opts.killGraceMs ?? 2000;
  const base = opts.baseEnv ?? Object.fromEntries(INHERITED.flatMap((k) => (process.env[k] !== undefined ? [[k, process.env[k]]] : [])));
  return (p, ctx) =>
    new Promise<ProcessResult>((resolve, reject) => {
      if (ctx.signal.aborted) return reject(ctx.signal.reason as Error);
      const badName = Object.keys(p.env).find((k) => k === '' || k.includes('=') || k.includes('\0'));
      if (badName !== undefined) {
        return reject(new ActivityFailed(`cannot run ${p.path}: ${JSON.stringify(badName)} is not an environment variable name`));
      }
      const env = { ...base, ...p.env, BULWARK_RUN: ctx.runId };
      const { file, argv } = commandOf(p);
      const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, shell: false });
      const out = bounded(maxOutput);
      const err = bounded(maxOutput);
      child.stdout.on('data', out.push);
      child.stderr.on('data', err.push);
      let settled = false;
      let killedFor: Error | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      const killGroup = (why: Error) => {
        if (killedFor) return;
        killedFor = why;
        signalGroup(child.pid, 'SIGTERM');
        killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), grace);
        killTimer.unref();
      };
      const onAbort = () => killGroup(ctx.signal.reason as Error);
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const timer =
        p.timeoutMs !== undefined
          ? setTimeout(() => killGroup(new ActivityFailed(`${p.path} did not finish within ${p.timeoutMs} ms and was killed`)), p.timeoutMs)
          : undefined;
      const done = (e: Error | undefined, result?: ProcessResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        if (e) reject(e);
        else resolve(result!);
      };
      child.once('spawn', () => ctx.sent());
      child.once('error', (e: NodeJS.ErrnoException) =>
        done(new ActivityFailed(e.code === 'ENOENT' ? `cannot run ${p.path}: no such executable` : `cannot run ${p.path}: ${e.message}`)),
      );
      // 'close' waits for the pipes, which a background grandchild may hold open for ever; after
      // the exit of the process itself, give the output a moment to drain and no more.
      let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      child.once('exit', (code, signal) => {
        exited = { code, signal };
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          finish(code, signal);
        }, 250).unref();
      });
      child.once('close', (code, signal) => finish(exited?.code ?? code, exited?.signal ?? signal));
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        if (killedFor) {
          // Killed: whatever else the group still holds (a shell's children) goes too.
          clearTimeout(killTimer);
          signalGroup(child.pid, 'SIGKILL');
          return done(killedFor);
        }
        const status = code ?? -(signal ? (constants.signals[signal] ?? 0) : 0);
        done(undefined, { status, stdout: out.text(), stderr: err.text() });
      };
    });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function bounded(max: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push: (c: Buffer) => {
      if (size >= max) return;
      const part = c.length > max - size ? c.subarray(0, max - size) : c;
      chunks.push(part);
      size += part.length;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}
