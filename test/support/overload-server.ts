/**
 * A Bulwark server in a child process of its own, for the overload test and benchmark: a SQLite
 * file with a ledger of `entries` rows, an admin token and a token bound to the webhook source
 * `load`, signal batches committed on the SQLite write thread as `bulwark serve` does. It prints
 * one JSON line `{"port", "admin", "ingest"}` on stdout once it listens on 127.0.0.1, and exits
 * on SIGTERM, SIGINT or when its stdin closes (so it never outlives the process that started it).
 *
 *   node --import tsx test/support/overload-server.ts '{"db":"/tmp/x.db","entries":3000}'
 */
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { bootstrap, ensureOrigin } from '../../src/app/bootstrap.ts';
import { createToken } from '../../src/app/access/tokens.ts';
import { systemClock, type AppDeps } from '../../src/app/deps.ts';
import { memoryKeyRing } from '../../src/app/ledger/key-ring.ts';
import { startSqliteWriteThread } from '../../src/adapters/sqlite-write-thread.ts';
import type { NewEntry } from '../../src/core/ledger/entry.ts';
import { parseWebhookMapping } from '../../src/core/signals/webhook-mapping.ts';
import { createServer } from '../../src/server/create-server.ts';
import { createLogger } from '../../src/server/logging.ts';
import { LISTEN_BACKLOG, type OverloadOptions } from '../../src/server/overload.ts';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite.ts';
import { systemActor } from '../../src/core/ledger/actor.ts';

export interface OverloadServerOptions {
  /** The SQLite file (created if missing). */
  db: string;
  /** Ledger entries to have before listening (appended when there are fewer). */
  entries: number;
  maxInFlight?: number;
  overload?: Omit<OverloadOptions, 'maxInFlight'>;
  /** Default warn; request lines are logged at info. */
  logLevel?: string;
  /** Where the log goes (default: /dev/null). */
  logFile?: string;
  /** The listen backlog (default: LISTEN_BACKLOG, as `bulwark serve`). */
  backlog?: number;
}

export interface OverloadServerReady {
  port: number;
  /** An admin token. */
  admin: string;
  /** A token that may post to /v1/signals/webhook/load only. */
  ingest: string;
}

const entry = (i: number): NewEntry => ({
  actor: systemActor(`token:load${String(i % 97).padStart(8, '0')}`),
  kind: `note.${['observation', 'decision', 'action', 'evidence', 'comment'][i % 5]}`,
  subject: `incident:${i % 500}`,
  data: { text: `entry ${i}: latency budget rollback canary checkout error rate`, labels: { service: `svc-${i % 50}` } },
});

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as OverloadServerOptions;
  const store = await openSqliteStore(opts.db);
  const origin = await ensureOrigin(store);
  const deps: AppDeps = { store, clock: systemClock, keys: memoryKeyRing(), origin };
  await bootstrap(deps);
  const admin = (await createToken(deps, systemActor('cli:load'), { name: `admin-${process.pid}`, admin: true })).token;
  const ingest = (await createToken(deps, systemActor('cli:load'), { name: `ingest-${process.pid}`, scopes: ['signals:ingest:load'] }))
    .token;
  for (let size = (await store.ledger.head()).size; size < opts.entries;) {
    const n = Math.min(1000, opts.entries - size);
    await store.ledger.append(
      Array.from({ length: n }, (_, k) => entry(size + k)),
      new Date().toISOString(),
    );
    size += n;
  }
  const writes = await startSqliteWriteThread(opts.db);
  const logger = createLogger(opts.logLevel ?? 'warn', createWriteStream(opts.logFile ?? '/dev/null'));
  const server = await createServer({
    deps,
    logger,
    webDir: path.join(path.dirname(opts.db), 'no-web'),
    ...(opts.maxInFlight !== undefined ? { maxInFlight: opts.maxInFlight } : {}),
    ...(opts.overload ? { overload: opts.overload } : {}),
    signals: {
      webhooks: { load: parseWebhookMapping({ source: 'load', id: '$.id', labels: { rule: '$.rule' } }) },
      commit: (subs) => writes.commitSignals(subs),
    },
    experiments: { stateDir: path.dirname(opts.db), runWriter: writes.runWriter },
  });
  await server.app.listen({ host: '127.0.0.1', port: 0, backlog: opts.backlog ?? LISTEN_BACKLOG });
  const { port } = server.app.server.address() as { port: number };
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    const hard = setTimeout(() => process.exit(1), 10_000);
    hard.unref();
    void (async () => {
      await server.app.close();
      await writes.close();
      await store.close();
      process.exit(0);
    })();
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
  process.stdin.on('end', close).on('error', close).resume();
  const ready: OverloadServerReady = { port, admin, ingest };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
