/**
 * `bulwark serve`: the API, the dashboard and the periodic checkpoint job in one process, with
 * graceful shutdown on SIGTERM/SIGINT (stop taking requests, finish in-flight ones, close the
 * database).
 */
import { bootstrap } from '../app/bootstrap.ts';
import type { Publisher } from '../app/ledger/checkpoints.ts';
import { startCheckpointJob } from '../app/ledger/checkpoint-job.ts';
import { filePublisher, webhookPublisher } from '../adapters/checkpoint-publishers.ts';
import { startLogTailer } from '../adapters/log-tailer.ts';
import type { Config } from '../config.ts';
import { createServer } from '../server/create-server.ts';
import { createLogger } from '../server/logging.ts';
import { describeDb } from '../store/open-store.ts';
import { openContext } from './context.ts';

export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const { deps, close } = await openContext(config);
  const publishers: Publisher[] = [];
  if (config.checkpoint.publishFile) publishers.push(filePublisher(config.checkpoint.publishFile));
  if (config.checkpoint.webhookUrl) publishers.push(webhookPublisher(config.checkpoint.webhookUrl));
  const { app, signals } = await createServer({
    deps,
    logger,
    webDir: config.webDir,
    bodyLimitBytes: config.bodyLimitBytes,
    maxInFlight: config.maxInFlight,
    publishers,
    signals: { webhooks: config.signals.webhooks },
  });
  const address = await app.listen({ host: config.host, port: config.port });
  // After listen: a start that fails (port in use) must not mint a token nobody sees.
  const { adminToken } = await bootstrap(deps);
  logger.info({ address, db: describeDb(config.db), dataDir: config.dataDir }, 'bulwark listening');

  // The first admin token goes to the terminal only (stderr, outside the JSON log stream).
  if (adminToken) {
    process.stderr.write(
      `\n  Bulwark is running at ${address}/\n\n  An admin token was created. It is shown this once and stored only as a hash:\n\n      ${adminToken}\n\n` +
        `  Sign in to the dashboard with it. Lost it? Mint another: bulwark tokens create --admin --name NAME --db ${describeDb(config.db)}\n\n`,
    );
  }

  const job = startCheckpointJob(deps, {
    intervalMs: config.checkpoint.intervalSeconds * 1000,
    publishers,
    onCreated: (c) => logger.info({ size: c.size, keyId: c.keyId }, 'checkpoint signed'),
    onError: (e, during) => logger.warn({ err: e, during }, 'checkpoint job failed'),
  });
  await job.tick();
  // Log files feed the same ingest (and its group commit) as the HTTP routes.
  const tailer = startLogTailer({
    files: config.signals.files,
    ingest: signals,
    offsets: deps.store.signals,
    clock: deps.clock,
    onError: (err, file) => logger.warn({ err, file }, 'log tailer'),
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    job.stop();
    try {
      await tailer.stop();
      await app.close();
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
}
