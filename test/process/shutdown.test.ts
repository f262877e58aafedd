/**
 * Graceful shutdown on SIGTERM: stop taking connections, finish the requests in flight (here a
 * POST whose body is still arriving), close the database cleanly, exit 0.
 */
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../support/cli.ts';
import { killAllChildren } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

let dir: TmpDir | undefined;
let server: RunningServer | undefined;

afterAll(async () => {
  await server?.stop('SIGKILL', 5000).catch(() => undefined);
  await killAllChildren();
  await dir?.cleanup();
});

async function open(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}

/** Whether a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/** Read one HTTP/1.1 response with a Content-Length from a raw socket. */
function readResponse(s: Socket, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(
      () => done(new Error(`no complete response within ${timeoutMs} ms; got:\n${buf.toString('utf8')}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      let end = buf.indexOf('\r\n\r\n');
      // Skip interim answers (100 Continue): the final response follows them.
      while (end >= 0 && /^HTTP\/1\.1 1\d\d /.test(buf.subarray(0, 13).toString('latin1'))) {
        buf = buf.subarray(end + 4);
        end = buf.indexOf('\r\n\r\n');
      }
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
      if (Number.isNaN(len) || buf.length < end + 4 + len) return;
      done(undefined, { status: Number(head.split(' ')[1]), headers: head, body: buf.subarray(end + 4, end + 4 + len).toString('utf8') });
    };
    const onClose = () => done(new Error(`the connection closed before a complete response; got:\n${buf.toString('utf8')}`));
    const done = (err?: Error, r?: RawResponse) => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
      if (err) reject(err);
      else resolve(r!);
    };
    s.on('data', onData);
    s.once('close', onClose);
  });
}

describe('SIGTERM drains in-flight requests, then exits cleanly', () => {
  it(
    'answers 201 to a POST whose body was still arriving at SIGTERM, exits 0, refuses new connections, leaves no WAL behind',
    { timeout: 60_000 },
    async () => {
      dir = await tmpDir('bulwark-shutdown-');
      server = await startServer({ dir: dir.path, expectToken: true, checkpointInterval: 0, logLevel: 'info' });
      const { port, token } = server;
      const text = 'sent in two halves around SIGTERM';
      const body = JSON.stringify({ type: 'observation', subject: 'shutdown', text });
      const cut = 20;

      const inFlight = await open(port);
      // Expect: 100-continue makes the server say when it has taken the request (headers parsed,
      // handed to the application), so SIGTERM is sent while the request is surely in flight.
      const continued = new Promise<void>((resolve) => {
        let seen = '';
        const onData = (d: Buffer) => {
          seen += d.toString('latin1');
          if (seen.startsWith('HTTP/1.1 100')) {
            inFlight.off('data', onData);
            resolve();
          }
        };
        inFlight.on('data', onData);
      });
      const response = readResponse(inFlight);
      inFlight.write(
        `POST /v1/ledger/notes HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
      );
      await Promise.race([continued, sleep(10_000).then(() => Promise.reject(new Error('no 100 Continue from the server')))]);
      inFlight.write(body.slice(0, cut));
      // A second connection whose request headers are not complete yet: it asks /readyz during the drain.
      const probe = await open(port);
      probe.write(`GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
      const probeClosed = once(probe, 'close').catch(() => undefined);
      probe.on('error', () => {});
      await sleep(200); // the server has read the partial body and the probe's partial headers

      process.kill(server.pid, 'SIGTERM');
      await sleep(300);

      // Draining: still running, no longer accepting connections.
      expect(server.child.exitCode, 'the server exited without waiting for the request in flight').toBeNull();
      expect(await refused(port)).toBe(true);

      // Optional observation: a request that arrives on an open connection while draining gets a
      // 503 (readiness says "do not send me work"), or its connection is closed.
      let readyzDuringDrain: number | 'closed' = 'closed';
      if (!probe.destroyed) {
        const probeResponse = readResponse(probe, 3000).catch(() => undefined);
        probe.write('\r\n');
        const r = await probeResponse;
        if (r) readyzDuringDrain = r.status;
      }
      expect([503, 'closed']).toContain(readyzDuringDrain);

      inFlight.write(body.slice(cut));
      const r = await response;
      expect(r.status, r.headers + '\n' + r.body).toBe(201);
      const entry = JSON.parse(r.body) as { seq: number; data: { text: string } };
      expect(entry.data.text).toBe(text);
      inFlight.destroy();
      probe.destroy();
      await probeClosed;

      const exit = await Promise.race([server.exited, sleep(15_000).then(() => 'still running' as const)]);
      expect(exit, server.stderr()).toEqual({ code: 0, signal: null });
      expect(await refused(port)).toBe(true);
      expect(server.stdout()).toMatch(/"msg":"stopped"/);

      // Closed cleanly: the WAL was checkpointed and removed by the last connection's close.
      const db = path.join(dir.path, 'bulwark.db');
      const wal = `${db}-wal`;
      expect(!existsSync(wal) || statSync(wal).size === 0, 'the -wal file is left with content: the database was not closed').toBe(true);
      // And the note answered during the drain is durable.
      const sqlite = new Database(db);
      try {
        const row = sqlite.prepare('select kind, subject, data from ledger_entries where seq = ?').get(entry.seq) as
          { kind: string; subject: string; data: string } | undefined;
        expect(row).toEqual({ kind: 'note.observation', subject: 'shutdown', data: JSON.stringify({ text }) });
      } finally {
        sqlite.close();
      }
    },
  );
});
