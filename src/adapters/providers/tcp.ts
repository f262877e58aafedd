/**
 * The tcp provider. `connect` opens a connection (optionally sends bytes, then reads what comes
 * back until the peer closes or stays quiet); a refused or timed-out connection is a result
 * (`connected: false`), not a failure, because "the port is closed" is what a firewall probe
 * hopes to see. `listen` holds a port open for the activity's timeout and counts who connects,
 * e.g. to check that an IDS notices an unexpected listener.
 */
import net from 'node:net';
import type { TcpProvider } from '../../core/experiments/types.ts';
import { ActivityFailed, type ProviderContext, type TcpResult } from '../../app/experiments/runner/providers.ts';

export interface TcpProviderOptions {
  /** connect: how long without data before the reply is taken as complete (default 250 ms). */
  idleMs?: number;
  /** The timeout when the activity gives none: connect 5 s, listen 5 s. */
  defaultTimeoutMs?: number;
  /** Bytes kept of what is received (default 64 KiB). */
  maxReceiveBytes?: number;
}

export function tcpProvider(opts: TcpProviderOptions = {}): (p: TcpProvider, ctx: ProviderContext) => Promise<TcpResult> {
  const idleMs = opts.idleMs ?? 250;
  const max = opts.maxReceiveBytes ?? 64 * 1024;
  const timeoutOf = (p: TcpProvider) => p.timeoutMs ?? opts.defaultTimeoutMs ?? 5000;
  return (p, ctx) => (p.operation === 'connect' ? connect(p, ctx, timeoutOf(p), idleMs, max) : listen(p, ctx, timeoutOf(p), max));
}

function connect(p: TcpProvider, ctx: ProviderContext, timeoutMs: number, idleMs: number, max: number): Promise<TcpResult> {
  return new Promise((resolve, reject) => {
    if (ctx.signal.aborted) return reject(ctx.signal.reason as Error);
    const started = Date.now();
    const received: Buffer[] = [];
    let size = 0;
    let connected = false;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const socket = net.connect({ host: p.host, port: p.port });
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      clearTimeout(idle);
      ctx.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({
        operation: 'connect',
        host: p.host,
        port: p.port,
        connected,
        ...(error !== undefined ? { error } : {}),
        received: Buffer.concat(received).toString('utf8'),
        elapsedMs: Date.now() - started,
      });
    };
    const onAbort = () => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      clearTimeout(idle);
      socket.destroy();
      reject(ctx.signal.reason as Error);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const overall = setTimeout(() => finish(connected ? undefined : 'ETIMEDOUT'), timeoutMs);
    const quiet = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(), idleMs);
    };
    socket.once('connect', () => {
      connected = true;
      ctx.sent();
      if (p.send !== undefined) socket.write(p.send);
      quiet();
    });
    socket.on('data', (c: Buffer) => {
      if (size < max) {
        const part = c.subarray(0, max - size);
        received.push(part);
        size += part.length;
      }
      quiet();
    });
    socket.once('end', () => finish());
    socket.once('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
  });
}

function listen(p: TcpProvider, ctx: ProviderContext, timeoutMs: number, max: number): Promise<TcpResult> {
  return new Promise((resolve, reject) => {
    if (ctx.signal.aborted) return reject(ctx.signal.reason as Error);
    const started = Date.now();
    const received: Buffer[] = [];
    let size = 0;
    let connections = 0;
    let port = p.port;
    let settled = false;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      connections += 1;
      sockets.add(s);
      s.on('data', (c: Buffer) => {
        if (size >= max) return;
        const part = c.subarray(0, max - size);
        received.push(part);
        size += part.length;
      });
      s.on('error', () => {});
      s.once('close', () => sockets.delete(s));
    });
    const close = () => {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      for (const s of sockets) s.destroy();
      server.close();
    };
    const onAbort = () => {
      if (settled) return;
      settled = true;
      close();
      reject(ctx.signal.reason as Error);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      close();
      reject(new ActivityFailed(`cannot listen on ${p.host}:${p.port}: ${e.code ?? e.message}`));
    });
    server.listen(p.port, p.host, () => {
      const a = server.address();
      if (a && typeof a === 'object') port = a.port;
      ctx.sent();
      timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        close();
        resolve({
          operation: 'listen',
          host: p.host,
          port,
          connections,
          received: Buffer.concat(received).toString('utf8'),
          elapsedMs: Date.now() - started,
        });
      }, timeoutMs);
    });
  });
}
