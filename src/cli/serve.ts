/**
 * `bulwark serve`: the API, the dashboard, the periodic checkpoint job, the experiment scheduler
 * and the periodic recovery of abandoned runs in one process, with graceful shutdown on
 * SIGTERM/SIGINT (stop taking requests, finish in-flight ones, abort running experiments and run
 * their rollbacks, close the database). With `--demo`, the demo shop and its experiments too
 * (serve-demo.ts).
 */
import type { AddressInfo } from 'node:net';
import { bootstrap } from '../app/bootstrap.ts';
import type { Publisher } from '../app/ledger/checkpoints.ts';
import { filePublisher, webhookPublisher } from '../adapters/checkpoint-publishers.ts';
import { CAPABILITIES } from '../capabilities/index.ts';
import { EXPERIMENT_DEFAULTS, type Config } from '../config.ts';
import { createServer, type ServerOptions } from '../server/create-server.ts';
import { LISTEN_BACKLOG } from '../server/overload.ts';
import { createLogger, resolveLogFormat } from '../server/logging.ts';
import { describeDb, sqliteFile } from '../store/open-store.ts';
import { startSqliteWriteThread } from '../adapters/sqlite-write-thread.ts';
import { openContext } from './context.ts';
import type { Job } from './jobs-part.ts';
import { startDemo, type Demo } from './serve-demo.ts';

export async function serve(config: Config, opts: { demo?: boolean } = {}): Promise<void> {
  // Logs go to stdout: short readable lines when that is a terminal (logFormat auto), else JSON.
  const logger = createLogger(config.logLevel, undefined, resolveLogFormat(config.logFormat, process.stdout.isTTY === true));
  const { deps, close } = await openContext(config);
  // On SQLite, run writes and signal batches commit on a thread of their own, so that their
  // fsyncs do not stop this event loop (run starts, receipt stamps, requests).
  const file = sqliteFile(config.db);
  const writes =
    file !== undefined && file !== ':memory:'
      ? await startSqliteWriteThread(file).catch((e: unknown) => {
          logger.warn({ err: e }, 'the SQLite write thread did not start; commits run on the main thread');
          return undefined;
        })
      : undefined;
  const { pollSignalsMs = EXPERIMENT_DEFAULTS.pollSignalsMs, recoverIntervalSeconds = EXPERIMENT_DEFAULTS.recoverIntervalSeconds } =
    config.experiments;
  const publishers: Publisher[] = [];
  if (config.checkpoint.publishFile) publishers.push(filePublisher(config.checkpoint.publishFile));
  if (config.checkpoint.webhookUrl) publishers.push(webhookPublisher(config.checkpoint.webhookUrl));
  const options: ServerOptions = {
    deps,
    logger,
    webDir: config.webDir,
    bodyLimitBytes: config.bodyLimitBytes,
    maxInFlight: config.maxInFlight,
    overload: { maxEventLoopDelayMs: config.maxEventLoopDelayMs, maxHeapFraction: config.maxHeapFraction },
    publishers,
    // Sealed secrets' key file: <dataDir>/secret-keys.json unless given (--secrets-key-file,
    // secrets.keyFile, BULWARK_SECRETS_KEY_FILE; docs/access.md).
    ...(config.secrets.keyFile ? { secrets: { keyFile: config.secrets.keyFile } } : {}),
    // Security keys: access.webauthn, or on a loopback host the dashboard at http://localhost:PORT.
    ...webauthnOption(config),
    ...(config.access.oidc ? { oidc: config.access.oidc } : {}),
    signals: { webhooks: config.signals.webhooks, ...(writes ? { commit: (subs) => writes.commitSignals(subs) } : {}) },
    experiments: {
      stateDir: config.dataDir,
      policy: { allowExecutables: config.experiments.allowExecutables, allowPaths: config.experiments.allowPaths },
      runner: {
        perTargetLimit: config.experiments.perTargetLimit,
        perTargetLimitScope: config.experiments.perTargetLimitScope ?? 'process',
        // Replicas (or a second process) on the same database ingest signals this one never sees
        // on its bus: runs read them from the store too, and the tracker counts each signal once.
        ...(pollSignalsMs > 0 ? { pollSignalsMs } : {}),
        // A run another process left behind is rolled back by a live one, not at the next start.
        recoverEveryMs: recoverIntervalSeconds * 1000,
      },
      ...(writes ? { runWriter: writes.runWriter } : {}),
    },
  };
  const server = await createServer(options);
  const { app } = server;
  // A longer accept queue than Node's 511: a flood of connections waits for the next turn of
  // the loop (and is refused there at once when overloaded) instead of retrying its SYN in 1 s.
  const address = await app.listen({ host: config.host, port: config.port, backlog: LISTEN_BACKLOG });
  // After listen: a start that fails (port in use) must not mint a token nobody sees.
  const { adminToken } = await bootstrap(deps);
  logger.info({ address, db: describeDb(config.db), dataDir: config.dataDir }, 'bulwark listening');

  // What a person at the terminal needs (the first admin token, the demo) goes to stderr, outside
  // the log, as one block written at once when the start is done, so that no log line splits it.
  // It is written even when a later step of the start fails: the token is shown only this once.
  const banner: string[] = [];
  if (adminToken) {
    banner.push(
      `  Bulwark is running at ${address}/\n\n  An admin token was created. It is shown this once and stored only as a hash:\n\n      ${adminToken}\n\n` +
        `  Sign in to the dashboard with it. Lost it? Mint another: bulwark tokens create --admin --name NAME --db ${describeDb(config.db)}\n`,
    );
  }

  // Every capability's background jobs (checkpoints, log files, recovery and the scheduler),
  // started in registry order; stopped in reverse before the server closes.
  const jobs: Job[] = [];
  let demo: Demo | undefined;
  // The stop is armed as soon as the server listens: a SIGTERM while the jobs start is a graceful
  // stop (running experiments aborted and rolled back), not the default death of the process.
  let startDone!: () => void;
  const started = new Promise<void>((resolve) => (startDone = resolve));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    // A signal during the start waits for it: every job started is then stopped in order.
    await started;
    try {
      for (const job of jobs.reverse()) await job.stop();
      // Closing the server aborts running experiments and waits for their rollbacks.
      await app.close();
      await demo?.stop();
      // After the server: the ingest and the runs have flushed what they submitted.
      await writes?.close();
      await close();
      logger.info('stopped');
      process.exit(0);
    } catch (e) {
      logger.error({ err: e }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  try {
    for (const capability of CAPABILITIES) {
      const part = await capability.jobs?.();
      if (part) jobs.push(await part({ config, deps, server, options, logger, demo: !!opts.demo }));
    }
    if (opts.demo) {
      const { port } = app.server.address() as AddressInfo;
      const host = ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
      demo = await startDemo({
        deps,
        runs: server.experiments,
        dataDir: config.dataDir,
        bulwarkUrl: `http://${host}:${port}`,
        log: logger,
      });
      logger.info({ demo: demo.url, experiments: demo.experiments }, 'demo shop running; its experiments run now and every minute');
      banner.push(
        `  Demo: a shop with switchable controls is running at ${demo.url}/ and the experiments ${demo.experiments.join(', ')}\n` +
          `  run against it now and every minute. Their runs are on the dashboard's Experiments page.\n` +
          `  SLOs over them (${demo.slos.join(', ')}) spend their error budgets as detections fail: BULWARK_TOKEN=<the token> bulwark slo status\n` +
          `  Their ATT&CK coverage, from the runs' evidence, is on the dashboard's ATT&CK page (bulwark coverage show).\n` +
          `  A demo incident with its timeline, the SLO budget it spent and the experiments covering its technique,\n` +
          `  and the case triage opens for the missed runs, are on the Incidents page\n` +
          `  (bulwark incidents show 1, bulwark cases list); KPIs and KRIs: bulwark slo kpis, bulwark slo kris.\n` +
          `  The shop's report of a suspicious client started a playbook: its automatic step is done, its manual\n` +
          `  checklist waits for you on the Playbooks page (bulwark playbooks runs).\n` +
          // Like the admin token: on the terminal, never in the log.
          `  Switch its controls (inputFilter, loginThrottling, adminAuth, accountAuthz, auditLog) with\n` +
          `      curl -X PUT ${demo.url}/__controls -H 'Authorization: Bearer ${demo.controlToken}' -H 'content-type: application/json' -d '{"adminAuth":true}'\n`,
      );
    }
  } finally {
    if (banner.length > 0) process.stderr.write(`\n${banner.join('\n')}\n`);
    startDone();
  }
}

/** Security keys' relying party: the configured one, else localhost when the server listens on a loopback address. */
function webauthnOption(config: Config): Pick<ServerOptions, 'webauthn'> {
  if (config.access.webauthn) return { webauthn: config.access.webauthn };
  if (!['127.0.0.1', 'localhost', '::1'].includes(config.host)) return {};
  return { webauthn: { rpId: 'localhost', rpName: 'Bulwark', origins: [`http://localhost:${config.port}`] } };
}
