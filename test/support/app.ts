/** An in-process Bulwark over a real SQLite file, for tests that speak HTTP through inject(). */
import path from 'node:path';
import { Writable } from 'node:stream';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite.ts';
import { memoryKeyRing } from '../../src/app/ledger/key-ring.ts';
import { bootstrap, ensureOrigin } from '../../src/app/bootstrap.ts';
import { systemClock, type Clock, type AppDeps } from '../../src/app/deps.ts';
import type { Publisher } from '../../src/app/ledger/checkpoints.ts';
import { createServer, type BulwarkServer, type ServerOptions } from '../../src/server/create-server.ts';
import { createLogger, type LogFormat } from '../../src/server/logging.ts';
import { tmpDir } from './tmp.ts';

export interface TestApp extends BulwarkServer {
  deps: AppDeps;
  adminToken: string;
  /** Every log line the server wrote, as text. */
  logs: string[];
  dir: string;
  close(): Promise<void>;
}

/**
 * Load shedding in tests: the in-flight and heap bounds hold, the event-loop ones are lifted. The
 * test's own process runs the clients and the server on one loop (and shares a busy machine), so
 * its delay and utilisation say nothing about this server's load. Tests of shedding set their own.
 */
const TEST_OVERLOAD: NonNullable<ServerOptions['overload']> = {
  maxEventLoopDelayMs: 60_000,
  limits: { low: { utilization: Infinity }, normal: { utilization: Infinity } },
};

export async function makeTestApp(
  opts: {
    maxInFlight?: number;
    /**
     * Load shedding's other bounds (default TEST_OVERLOAD: the event-loop bounds lifted).
     */
    overload?: ServerOptions['overload'];
    bodyLimitBytes?: number;
    publishers?: Publisher[];
    webDir?: string;
    signals?: ServerOptions['signals'];
    experiments?: ServerOptions['experiments'];
    /** The log's level (default info) and format (default json), as `bulwark serve` takes them. */
    logLevel?: string;
    logFormat?: LogFormat;
    /** The server's clock (default: the real one); see test/support/clock.ts. */
    clock?: Clock;
  } = {},
): Promise<TestApp> {
  const dir = await tmpDir('bulwark-app-');
  const store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
  const origin = await ensureOrigin(store);
  const deps: AppDeps = { store, clock: opts.clock ?? systemClock, keys: memoryKeyRing(), origin };
  const { adminToken } = await bootstrap(deps);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const server = await createServer({
    deps,
    logger: createLogger(opts.logLevel ?? 'info', sink, opts.logFormat ?? 'json'),
    webDir: opts.webDir ?? path.join(dir.path, 'no-web'),
    maxInFlight: opts.maxInFlight,
    overload: opts.overload ?? TEST_OVERLOAD,
    bodyLimitBytes: opts.bodyLimitBytes,
    publishers: opts.publishers,
    signals: opts.signals,
    experiments: { stateDir: dir.path, ...opts.experiments },
  });
  await server.app.ready();
  return {
    ...server,
    deps,
    adminToken: adminToken!,
    logs,
    dir: dir.path,
    close: async () => {
      await server.app.close();
      await store.close();
      await dir.cleanup();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
